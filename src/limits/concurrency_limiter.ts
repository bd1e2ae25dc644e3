/**
 * A cap on requests in progress at once, across all clients. Requests over
 * the cap are refused at once (503 + Retry-After) rather than queued: a queue
 * would hold their memory and sockets while adding latency nobody asked for.
 */

export interface ConcurrencyLimiter {
  /**
   * A release function when a slot is free, undefined when all `max` are
   * taken. Call the release exactly when the request is done (in a
   * `finally`); later calls of the same release do nothing.
   */
  tryAcquire(): (() => void) | undefined;
  /** Slots in use. */
  readonly active: number;
  readonly max: number;
}

/** The memory for a count shared by several isolates: pass it as `shared` to each one's {@link createConcurrencyLimiter}. */
export function createSharedCounter(): SharedArrayBuffer {
  return new SharedArrayBuffer(4);
}

/**
 * `shared` (from {@link createSharedCounter}) makes the count one for every isolate given the same buffer, so `max`
 * holds for all of them together; without it the count is this isolate's own. Either way it is kept with Atomics,
 * so both take the same path.
 */
export function createConcurrencyLimiter({ max, shared }: { max: number; shared?: SharedArrayBuffer }): ConcurrencyLimiter {
  if (!(Number.isSafeInteger(max) && max >= 1)) throw new RangeError(`max must be a whole number ≥ 1, got ${max}`);
  if (shared && shared.byteLength !== 4) throw new RangeError("shared must come from createSharedCounter");
  const count = new Int32Array(shared ?? new ArrayBuffer(4));
  return {
    max,
    get active() {
      return Atomics.load(count, 0);
    },
    tryAcquire() {
      for (;;) {
        const n = Atomics.load(count, 0);
        if (n >= max) return undefined;
        // Another isolate may have taken the slot between the load and here: then look again.
        if (Atomics.compareExchange(count, 0, n, n + 1) === n) break;
      }
      let released = false;
      return () => {
        if (released) return;
        released = true;
        Atomics.sub(count, 0, 1);
      };
    },
  };
}
