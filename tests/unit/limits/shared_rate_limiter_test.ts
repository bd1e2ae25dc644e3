/**
 * Token buckets in shared memory: one budget per key however many isolates take from it (real Workers), the same
 * answers as the per-isolate limiter for one isolate (trips, refills, Retry-After, keys apart), and fixed memory.
 */
import assert from "node:assert/strict";
import { attachSharedRateLimiter, createSharedRateBuffer } from "../../../src/limits/mod.ts";
import { inWorkers } from "./_in_workers.ts";

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

Deno.test("three isolates taking from one key's bucket at once get exactly its burst in total", async () => {
  const buffer = createSharedRateBuffer(1024);
  // A rate this low refills nothing during the test: the total allowed is exactly the burst.
  const results = await inWorkers<Record<string, number>>(3, (gate) => ({
    kind: "rate",
    gate,
    buffer,
    ratePerSecond: 1e-6,
    burst: 500,
    takes: { "CN=alice": 400, "CN=bob": 200 },
  }));
  const total = (key: string) => results.reduce((n, r) => n + (r[key] ?? 0), 0);
  // 3 × 400 takes against a burst of 500: 500 in total, not 500 per isolate.
  assert.equal(total("CN=alice"), 500, JSON.stringify(results));
  // 3 × 200 = 600 takes: 500 as well; alice's use did not touch bob's bucket.
  assert.equal(total("CN=bob"), 500, JSON.stringify(results));
  // This isolate sees the same buckets, now empty.
  assert.equal(attachSharedRateLimiter(buffer, { ratePerSecond: 1e-6, burst: 500 }).take("CN=alice").allowed, false);
});

Deno.test("in one isolate it trips after the burst, says when to retry, refills at the rate and keeps keys apart", () => {
  const c = clock();
  const limiter = attachSharedRateLimiter(createSharedRateBuffer(64), { ratePerSecond: 2, burst: 3, now: c.now });
  assert.deepEqual([1, 2, 3].map(() => limiter.take("alice").allowed), [true, true, true]);
  assert.deepEqual(limiter.take("alice"), { allowed: false, retryAfterSeconds: 1 });
  assert.equal(limiter.take("bob").allowed, true, "another key has its own bucket");
  c.advance(499);
  assert.equal(limiter.take("alice").allowed, false, "not yet one token back at 2/s");
  c.advance(1);
  assert.equal(limiter.take("alice").allowed, true);
  assert.equal(limiter.take("alice").allowed, false);
  const slow = attachSharedRateLimiter(createSharedRateBuffer(64), { ratePerSecond: 0.1, burst: 1, now: c.now });
  slow.take("k");
  assert.deepEqual(slow.take("k"), { allowed: false, retryAfterSeconds: 10 });
});

Deno.test("memory is fixed: many more keys than slots reuse refilled slots and each new key starts full", () => {
  const c = clock();
  const limiter = attachSharedRateLimiter(createSharedRateBuffer(32), { ratePerSecond: 1, burst: 2, now: c.now });
  for (let i = 0; i < 1000; i++) {
    assert.equal(limiter.take(`CN=user-${i}`).allowed, true, `user-${i}'s first request`);
    c.advance(2000); // every bucket refills completely before the next key arrives
  }
  assert.ok(limiter.size <= 32, `slots in use: ${limiter.size}`);
  // A key that is still draining is not forgotten while refilled slots can be reused.
  limiter.take("CN=busy");
  limiter.take("CN=busy");
  for (let i = 0; i < 50; i++) limiter.take(`CN=other-${i}`);
  assert.equal(limiter.take("CN=busy").allowed, false);
});

Deno.test("settings and buffers are checked", () => {
  assert.throws(() => createSharedRateBuffer(4), /slots must be/);
  const buffer = createSharedRateBuffer(64);
  assert.throws(() => attachSharedRateLimiter(buffer, { ratePerSecond: 0, burst: 1 }), /ratePerSecond/);
  assert.throws(() => attachSharedRateLimiter(buffer, { ratePerSecond: 1, burst: 0.5 }), /burst/);
  assert.throws(() => attachSharedRateLimiter(new SharedArrayBuffer(20), { ratePerSecond: 1, burst: 1 }), /createSharedRateBuffer/);
});
