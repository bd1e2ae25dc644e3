/** A Worker for shared_rate_limiter_test.ts: attaches the shared table it is given and takes tokens, then says how many it got. */
import { attachSharedRateLimiter } from "../../../src/limits/shared_rate_limiter.ts";

interface Job {
  buffer: SharedArrayBuffer;
  ratePerSecond: number;
  burst: number;
  /** key → how many takes. */
  takes: Record<string, number>;
  /** Int32 0: workers ready; Int32 1: set to 1 to start them all at once. */
  gate: SharedArrayBuffer;
}

// deno-lint-ignore no-explicit-any
const worker = self as any;
worker.onmessage = (event: MessageEvent<Job>) => {
  const { buffer, ratePerSecond, burst, takes, gate } = event.data;
  const limiter = attachSharedRateLimiter(buffer, { ratePerSecond, burst });
  const flags = new Int32Array(gate);
  Atomics.add(flags, 0, 1);
  Atomics.wait(flags, 1, 0); // a Worker may block: all of them start taking together

  const allowed: Record<string, number> = {};
  // Interleaved, so the isolates contend on the same buckets at the same time.
  const left = { ...takes };
  while (Object.values(left).some((n) => n > 0)) {
    for (const key of Object.keys(left)) {
      if (left[key]-- > 0 && limiter.take(key).allowed) allowed[key] = (allowed[key] ?? 0) + 1;
    }
  }
  worker.postMessage(allowed);
};
