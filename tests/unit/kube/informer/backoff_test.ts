import assert from "node:assert/strict";
import { createBackoff } from "../../../../src/kube/informer/backoff.ts";

Deno.test("backoff doubles from the base up to the cap and resets after success", () => {
  const b = createBackoff({ baseMs: 100, capMs: 1000, random: () => 1 });
  assert.deepEqual([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000, 1000]);
  b.reset();
  assert.equal(b.next(), 100);
});

Deno.test("backoff jitter stays between half and all of the ceiling", () => {
  const low = createBackoff({ baseMs: 100, capMs: 1000, random: () => 0 });
  assert.deepEqual([low.next(), low.next(), low.next()], [50, 100, 200]);
  const real = createBackoff({ baseMs: 100, capMs: 1000 });
  for (let i = 0; i < 50; i++) {
    const d = real.next();
    assert.ok(d >= 50 && d <= 1000, `delay ${d} within bounds`);
  }
});

Deno.test("the default backoff never waits more than 8 s, so recovery after an outage of any length stays within 10 s", () => {
  const b = createBackoff({ random: () => 1 });
  const delays = Array.from({ length: 40 }, () => b.next());
  assert.equal(Math.max(...delays), 8_000);
  assert.deepEqual(delays.slice(0, 5), [500, 1000, 2000, 4000, 8000]);
});
