/** The text form of RATE_LIMIT_READS / RATE_LIMIT_WRITES. */
import assert from "node:assert/strict";
import { parseRateSpec } from "../../../src/limits/mod.ts";

Deno.test("parseRateSpec reads counts per second, minute or hour, with an optional burst", () => {
  assert.deepEqual(parseRateSpec("50/s"), { ratePerSecond: 50, burst: 50 });
  assert.deepEqual(parseRateSpec("120/m,burst=20"), { ratePerSecond: 2, burst: 20 });
  assert.deepEqual(parseRateSpec(" 3600 / h , burst = 5 "), { ratePerSecond: 1, burst: 5 });
  assert.deepEqual(parseRateSpec("1/m"), { ratePerSecond: 1 / 60, burst: 1 }, "burst is at least 1");
  assert.deepEqual(parseRateSpec("2.5/s"), { ratePerSecond: 2.5, burst: 3 });
  assert.equal(parseRateSpec("off"), null);
  assert.equal(parseRateSpec("OFF"), null);
});

Deno.test("parseRateSpec refuses what it cannot read, with the expected format in the message", () => {
  for (const bad of ["", "50", "50/d", "fast", "-1/s", "50/s,burst=", "50/s;burst=2", "0/s", "50/s,burst=0"]) {
    assert.throws(() => parseRateSpec(bad), RangeError, bad);
  }
  assert.throws(() => parseRateSpec("50"), /<count>\/s, \/m or \/h/);
});
