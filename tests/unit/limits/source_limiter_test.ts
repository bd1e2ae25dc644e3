/**
 * Per-source connection limits as decisions, without sockets: the cap on
 * open connections and the connect rate apply to one source and leave the
 * others alone, a refused connection counts for nothing, and the tables
 * forget sources, however many come and go.
 */
import assert from "node:assert/strict";
import { createSourceLimiter, type SourceAdmission } from "../../../src/limits/mod.ts";

/** A settable millisecond clock. */
function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

function release(admission: SourceAdmission): void {
  assert.ok(admission.admitted, "expected the connection to be admitted");
  admission.release();
}

Deno.test("a source at its connection cap is refused while other sources are admitted", () => {
  const limiter = createSourceLimiter({ maxConnectionsPerSource: 2, connectRate: null });
  const held = [limiter.admit("192.0.2.1"), limiter.admit("192.0.2.1")];
  assert.ok(held.every((a) => a.admitted));
  assert.deepEqual(limiter.admit("192.0.2.1"), { admitted: false, reason: "per_source_connections" });
  assert.ok(limiter.admit("192.0.2.2").admitted, "another source is not affected");
  release(held[0]);
  assert.ok(limiter.admit("192.0.2.1").admitted, "a closed connection gives its slot back");
});

Deno.test("releasing a connection twice gives back one slot", () => {
  const limiter = createSourceLimiter({ maxConnectionsPerSource: 2, connectRate: null });
  const first = limiter.admit("s");
  limiter.admit("s");
  release(first);
  release(first);
  assert.ok(limiter.admit("s").admitted);
  assert.equal(limiter.admit("s").admitted, false, "still two open: the second release did nothing");
});

Deno.test("the connect rate refuses a burst beyond its size and refills at the configured rate", () => {
  const c = clock();
  const limiter = createSourceLimiter({ maxConnectionsPerSource: null, connectRate: { ratePerSecond: 10, burst: 3 }, now: c.now });
  const burst = Array.from({ length: 5 }, () => limiter.admit("s"));
  assert.deepEqual(burst.map((a) => a.admitted), [true, true, true, false, false]);
  assert.deepEqual(burst[3], { admitted: false, reason: "per_source_rate" });
  assert.ok(limiter.admit("other").admitted, "another source has its own bucket");
  c.advance(99);
  assert.equal(limiter.admit("s").admitted, false, "a token takes 100 ms at 10/s");
  c.advance(1);
  assert.ok(limiter.admit("s").admitted);
  c.advance(60_000);
  assert.equal(
    Array.from({ length: 4 }, () => limiter.admit("s")).filter((a) => a.admitted).length,
    3,
    "an idle source gets its burst back",
  );
});

Deno.test("a source at its connection cap is refused without spending a rate token", () => {
  const c = clock();
  const limiter = createSourceLimiter({ maxConnectionsPerSource: 1, connectRate: { ratePerSecond: 1, burst: 2 }, now: c.now });
  const held = limiter.admit("s");
  for (let i = 0; i < 10; i++) assert.deepEqual(limiter.admit("s"), { admitted: false, reason: "per_source_connections" });
  release(held);
  assert.ok(limiter.admit("s").admitted, "the second token is still there");
});

Deno.test("with both limits off every connection is admitted and nothing is tracked", () => {
  const limiter = createSourceLimiter({ maxConnectionsPerSource: null, connectRate: null });
  for (let i = 0; i < 1000; i++) assert.ok(limiter.admit("s").admitted);
  assert.equal(limiter.size, 0);
});

Deno.test("the tables forget sources: closed connections at once, rate buckets once refilled, and never more than maxSources", () => {
  const c = clock();
  const limiter = createSourceLimiter({
    maxConnectionsPerSource: 100,
    connectRate: { ratePerSecond: 50, burst: 100 },
    maxSources: 1000,
    now: c.now,
  });
  const admissions = Array.from({ length: 10_000 }, (_, i) => limiter.admit(`198.51.${i >> 8}.${i & 255}`));
  assert.ok(admissions.every((a) => a.admitted));
  assert.equal(limiter.size, 10_000 + 1000, "every open connection's source, and maxSources rate buckets");
  admissions.forEach(release);
  assert.equal(limiter.size, 1000, "every connection closed: only the rate buckets are left");
  c.advance(2_000); // 100 tokens at 50/s: every bucket is full again
  for (let i = 0; i < 10; i++) release(limiter.admit("203.0.113.1"));
  assert.ok(limiter.size < 1000, `size ${limiter.size}: refilled buckets are forgotten as new connections arrive`);
  // Forgetting proceeds a few buckets per new connection; a steady trickle from one source empties the table.
  for (let i = 0; i < 300; i++) {
    release(limiter.admit("203.0.113.1"));
    c.advance(20);
  }
  assert.equal(limiter.size, 1, "only the source still connecting");
});
