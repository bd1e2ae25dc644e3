/** The cap on requests in progress. */
import assert from "node:assert/strict";
import { createConcurrencyLimiter, createSharedCounter } from "../../../src/limits/mod.ts";
import { inWorkers } from "./_in_workers.ts";

Deno.test("tryAcquire hands out max slots, then refuses until one is released", () => {
  const limiter = createConcurrencyLimiter({ max: 2 });
  const a = limiter.tryAcquire();
  const b = limiter.tryAcquire();
  assert.ok(a && b);
  assert.equal(limiter.active, 2);
  assert.equal(limiter.tryAcquire(), undefined);
  a();
  assert.equal(limiter.active, 1);
  const c = limiter.tryAcquire();
  assert.ok(c);
  assert.equal(limiter.tryAcquire(), undefined);
});

Deno.test("releasing twice frees one slot only", () => {
  const limiter = createConcurrencyLimiter({ max: 1 });
  const release = limiter.tryAcquire()!;
  release();
  release();
  assert.equal(limiter.active, 0);
  assert.ok(limiter.tryAcquire());
  assert.equal(limiter.tryAcquire(), undefined, "the second release must not have made room for two");
});

Deno.test("slots held by slow requests are given back when they finish", async () => {
  const limiter = createConcurrencyLimiter({ max: 3 });
  const results: string[] = [];
  const request = async (ms: number) => {
    const release = limiter.tryAcquire();
    if (!release) return results.push("refused");
    try {
      await new Promise((resolve) => setTimeout(resolve, ms));
      results.push("served");
    } finally {
      release();
    }
  };
  await Promise.all([request(20), request(20), request(20), request(20), request(20)]);
  assert.deepEqual(results.sort(), ["refused", "refused", "served", "served", "served"]);
  assert.equal(limiter.active, 0);
  await request(0);
  assert.equal(results.filter((r) => r === "served").length, 4);
});

Deno.test("createConcurrencyLimiter refuses a max below 1", () => {
  assert.throws(() => createConcurrencyLimiter({ max: 0 }), RangeError);
  assert.throws(() => createConcurrencyLimiter({ max: 2.5 }), RangeError);
});

Deno.test("isolates given one shared counter hold max slots between them, with acquires and releases racing", async () => {
  const counter = createSharedCounter();
  // Three Workers try 1,000 times each; every other slot they get is released at once, the rest kept.
  const results = await inWorkers<{ held: number }>(
    3,
    (gate) => ({ kind: "concurrency", gate, counter, max: 40, attempts: 1000, releaseHalf: true }),
  );
  const held = results.reduce((n, r) => n + r.held, 0);
  assert.equal(held, 40, `slots kept by the Workers: ${JSON.stringify(results)}`);
  const here = createConcurrencyLimiter({ max: 40, shared: counter });
  assert.equal(here.active, 40, "this isolate sees the same count");
  assert.equal(here.tryAcquire(), undefined);
  assert.throws(() => createConcurrencyLimiter({ max: 1, shared: new SharedArrayBuffer(8) }), /createSharedCounter/);
});
