import assert from "node:assert/strict";
import { bufferedStdout, createLogger } from "../../../src/observability/logger.ts";

Deno.test("buffered stdout writes info lines together, whole, after a short delay", async () => {
  const writes: string[] = [];
  const decoder = new TextDecoder();
  // A writer that accepts at most 7 bytes per call, like a pipe under pressure.
  const out = bufferedStdout((bytes) => {
    const n = Math.min(7, bytes.byteLength);
    writes.push(decoder.decode(bytes.subarray(0, n)));
    return n;
  });
  out.sink('{"a":1}');
  out.sink('{"b":2}');
  assert.deepEqual(writes, [], "nothing written per line");
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(writes.join(""), '{"a":1}\n{"b":2}\n');
  out.flush();
});

Deno.test("the logger flushes at once for warn, error and audit lines, and buffers info", () => {
  const lines: string[] = [];
  let flushes = 0;
  const log = createLogger({ sink: (l) => lines.push(l), flush: () => flushes++ });
  log.info("request");
  log.debug("detail");
  assert.equal(flushes, 0);
  log.info("audit", { audit: true });
  log.warn("careful");
  log.child({ component: "x" }).error("broken");
  assert.equal(flushes, 3);
  assert.equal(lines.length, 4, "debug is below the default level");
});

Deno.test("log lines carry the current time as ISO 8601, also when many share a millisecond", () => {
  const lines: string[] = [];
  const log = createLogger({ sink: (l) => lines.push(l) });
  const before = Date.now();
  for (let i = 0; i < 1000; i++) log.info("tick");
  const after = Date.now();
  for (const line of lines) {
    const time = JSON.parse(line).time as string;
    assert.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const ms = Date.parse(time);
    assert.ok(ms >= before && ms <= after, `${time} is outside the logging interval`);
  }
});
