/**
 * Refused connections are logged, but a flood of them is not a flood of log
 * lines: the first refusal is logged at once, then one line per interval at
 * most, counting what was refused in between.
 */
import assert from "node:assert/strict";
import { createRefusalLog, type SourceRefusal } from "../../../src/limits/mod.ts";
import { createLogger } from "../../../src/observability/logger.ts";

function setup(intervalMs = 10_000) {
  let t = 0;
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: "debug", sink: (line) => lines.push(JSON.parse(line)) });
  const refusals = createRefusalLog({ log, intervalMs, now: () => t });
  return { lines, refusals, advance: (ms: number) => void (t += ms) };
}

const from = (source: string, reason: SourceRefusal["reason"] = "per_source_connections"): SourceRefusal => ({
  reason,
  source,
  remoteAddress: source,
});

Deno.test("the first refusal is logged at once as a warning naming the source and reason", () => {
  const { lines, refusals } = setup();
  refusals.refused(from("192.0.2.1"));
  assert.equal(lines.length, 1);
  assert.equal(lines[0].level, "warn");
  assert.equal(lines[0].msg, "connections refused by per-source limits");
  assert.equal(lines[0].source, "192.0.2.1");
  assert.equal(lines[0].reason, "per_source_connections");
  assert.deepEqual(lines[0].refused, { per_source_connections: 1 });
});

Deno.test("a flood of refusals writes one line per interval, counting everything refused since the previous line", () => {
  const { lines, refusals, advance } = setup(10_000);
  refusals.refused(from("192.0.2.1"));
  for (let i = 0; i < 10_000; i++) {
    refusals.refused(from(`192.0.2.${i % 50}`, i % 2 ? "per_source_rate" : "per_source_connections"));
    advance(0.5);
  }
  // 5 s of refusals: still only the first line.
  assert.equal(lines.length, 1);
  advance(5_000);
  refusals.refused(from("192.0.2.99", "per_source_rate"));
  assert.equal(lines.length, 2);
  assert.deepEqual(lines[1].refused, { per_source_connections: 5_000, per_source_rate: 5_001 });
  assert.equal((lines[1].sources as string[]).length, 5, "a bounded sample of the sources");
  assert.equal(lines[1].moreSources, true);
  advance(10_000);
  refusals.refused(from("192.0.2.1"));
  assert.deepEqual(lines[2].refused, { per_source_connections: 1 }, "counts start again after each line");
  assert.deepEqual(lines[2].sources, ["192.0.2.1"]);
  assert.equal(lines[2].moreSources, undefined);
});
