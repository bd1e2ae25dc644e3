/**
 * Per-identity token buckets: the limit trips, refills at the configured
 * rate, says when to retry, leaves other identities alone, and keeps its
 * memory bounded however many identities show up.
 */
import assert from "node:assert/strict";
import { createRateLimiter, DEFAULT_MAX_KEYS, type RateDecision } from "../../../src/limits/mod.ts";

/** A settable millisecond clock. */
function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

function takeN(take: () => RateDecision, n: number): RateDecision[] {
  return Array.from({ length: n }, take);
}

Deno.test("the limit trips after the burst and the refused request gets Retry-After", () => {
  const c = clock();
  const limiter = createRateLimiter({ ratePerSecond: 1, burst: 3, now: c.now });
  assert.deepEqual(takeN(() => limiter.take("alice"), 3), Array(3).fill({ allowed: true }));
  assert.deepEqual(limiter.take("alice"), { allowed: false, retryAfterSeconds: 1 });
});

Deno.test("tokens come back at the configured rate", () => {
  const c = clock();
  const limiter = createRateLimiter({ ratePerSecond: 2, burst: 2, now: c.now });
  takeN(() => limiter.take("k"), 2);
  assert.equal(limiter.take("k").allowed, false);
  c.advance(499);
  assert.equal(limiter.take("k").allowed, false, "half a second brings one token, not before");
  c.advance(1);
  assert.equal(limiter.take("k").allowed, true);
  assert.equal(limiter.take("k").allowed, false);
  c.advance(60_000);
  assert.equal(takeN(() => limiter.take("k"), 3).filter((d) => d.allowed).length, 2, "an idle bucket holds at most the burst");
});

Deno.test("Retry-After is the whole seconds until the next token, at least 1", async (t) => {
  await t.step("slow rate: 1 every 10 s", () => {
    const c = clock();
    const limiter = createRateLimiter({ ratePerSecond: 0.1, burst: 1, now: c.now });
    limiter.take("k");
    assert.deepEqual(limiter.take("k"), { allowed: false, retryAfterSeconds: 10 });
    c.advance(2_500);
    assert.deepEqual(limiter.take("k"), { allowed: false, retryAfterSeconds: 8 }, "7.5 s left, rounded up");
    c.advance(7_500);
    assert.equal(limiter.take("k").allowed, true, "retrying after the advertised time succeeds");
  });
  await t.step("fast rate: the next token is less than a second away", () => {
    const limiter = createRateLimiter({ ratePerSecond: 100, burst: 1, now: clock().now });
    limiter.take("k");
    assert.deepEqual(limiter.take("k"), { allowed: false, retryAfterSeconds: 1 });
  });
});

Deno.test("a refused request takes no token", () => {
  const c = clock();
  const limiter = createRateLimiter({ ratePerSecond: 1, burst: 1, now: c.now });
  limiter.take("k");
  takeN(() => limiter.take("k"), 50); // hammering while limited must not push the next token further away
  c.advance(1_000);
  assert.equal(limiter.take("k").allowed, true);
});

Deno.test("one identity at its limit does not affect another", () => {
  const c = clock();
  const limiter = createRateLimiter({ ratePerSecond: 1, burst: 2, now: c.now });
  takeN(() => limiter.take("mallory"), 100);
  assert.equal(limiter.take("mallory").allowed, false);
  assert.deepEqual(takeN(() => limiter.take("alice"), 2), [{ allowed: true }, { allowed: true }]);
  assert.equal(limiter.take("bob").allowed, true);
});

Deno.test("separate limiters for reads and writes keep separate budgets", () => {
  const c = clock();
  const reads = createRateLimiter({ ratePerSecond: 10, burst: 10, now: c.now });
  const writes = createRateLimiter({ ratePerSecond: 1, burst: 1, now: c.now });
  takeN(() => reads.take("alice"), 10);
  assert.equal(reads.take("alice").allowed, false);
  assert.equal(writes.take("alice").allowed, true, "reads used up, writes untouched");
  assert.equal(writes.take("alice").allowed, false);
});

Deno.test("memory stays bounded with 100,000 distinct identities", () => {
  const c = clock();
  const limiter = createRateLimiter({ ratePerSecond: 1, burst: 5, now: c.now });
  for (let i = 0; i < 100_000; i++) {
    limiter.take(`client-${i}`);
    if (i % 1000 === 0) c.advance(1); // arrive within 100 ms: no bucket has refilled, only the cap holds
  }
  assert.ok(limiter.size <= DEFAULT_MAX_KEYS, `tracking ${limiter.size} keys`);
  const small = createRateLimiter({ ratePerSecond: 1, burst: 5, now: c.now, maxKeys: 100 });
  for (let i = 0; i < 100_000; i++) small.take(`client-${i}`);
  assert.equal(small.size, 100);
});

Deno.test("idle identities are forgotten once their bucket has refilled", () => {
  const c = clock();
  const limiter = createRateLimiter({ ratePerSecond: 10, burst: 10, now: c.now });
  for (let i = 0; i < 1000; i++) limiter.take(`client-${i}`);
  assert.equal(limiter.size, 1000);
  c.advance(200); // 1 token used, 0.1 s to refill: all buckets are full again
  for (let i = 0; i < 300; i++) limiter.take("steady");
  assert.equal(limiter.size, 1, "only the active identity is still tracked");
});

Deno.test("an identity that keeps hitting its limit stays limited while many others come and go", () => {
  const c = clock();
  const limiter = createRateLimiter({ ratePerSecond: 1, burst: 1, now: c.now, maxKeys: 50 });
  limiter.take("mallory");
  for (let i = 0; i < 10_000; i++) {
    limiter.take(`visitor-${i}`);
    if (i % 10 === 0) assert.equal(limiter.take("mallory").allowed, false, `mallory got through after ${i} visitors`);
  }
});

Deno.test("createRateLimiter refuses nonsensical settings", () => {
  assert.throws(() => createRateLimiter({ ratePerSecond: 0, burst: 1 }), RangeError);
  assert.throws(() => createRateLimiter({ ratePerSecond: NaN, burst: 1 }), RangeError);
  assert.throws(() => createRateLimiter({ ratePerSecond: 1, burst: 0 }), RangeError);
  assert.throws(() => createRateLimiter({ ratePerSecond: 1, burst: 1.5 }), RangeError);
  assert.throws(() => createRateLimiter({ ratePerSecond: 1, burst: 1, maxKeys: 0 }), RangeError);
});
