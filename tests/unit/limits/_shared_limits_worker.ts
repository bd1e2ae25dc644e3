/**
 * A Worker for the shared-limits tests: attaches the shared memory it is given, waits at a gate so every Worker
 * starts at once, takes from the limiter, and says how much it got.
 */
import { attachSharedRateLimiter, createConcurrencyLimiter } from "../../../src/limits/mod.ts";

export type Job =
  & {
    /** Int32 0: Workers ready; Int32 1: set to 1 to start them all at once. */
    gate: SharedArrayBuffer;
  }
  & (
    | { kind: "rate"; buffer: SharedArrayBuffer; ratePerSecond: number; burst: number; takes: Record<string, number> }
    | { kind: "concurrency"; counter: SharedArrayBuffer; max: number; attempts: number; releaseHalf: boolean }
  );

// deno-lint-ignore no-explicit-any
const worker = self as any;
worker.onmessage = (event: MessageEvent<Job>) => {
  const job = event.data;
  const flags = new Int32Array(job.gate);
  Atomics.add(flags, 0, 1);
  Atomics.wait(flags, 1, 0); // a Worker may block
  if (job.kind === "rate") {
    const limiter = attachSharedRateLimiter(job.buffer, { ratePerSecond: job.ratePerSecond, burst: job.burst });
    const allowed: Record<string, number> = {};
    // Interleaved, so the isolates contend on the same buckets at the same time.
    const left = { ...job.takes };
    while (Object.values(left).some((n) => n > 0)) {
      for (const key of Object.keys(left)) {
        if (left[key]-- > 0 && limiter.take(key).allowed) allowed[key] = (allowed[key] ?? 0) + 1;
      }
    }
    worker.postMessage(allowed);
  } else {
    const limiter = createConcurrencyLimiter({ max: job.max, shared: job.counter });
    let held = 0;
    for (let i = 0; i < job.attempts; i++) {
      const release = limiter.tryAcquire();
      if (!release) continue;
      // Every other slot is given back at once: acquires and releases race with the other isolates'.
      if (job.releaseHalf && i % 2 === 0) release();
      else held++;
    }
    worker.postMessage({ held });
  }
};
