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

export function createConcurrencyLimiter({ max }: { max: number }): ConcurrencyLimiter {
  if (!(Number.isSafeInteger(max) && max >= 1)) throw new RangeError(`max must be a whole number ≥ 1, got ${max}`);
  let active = 0;
  return {
    max,
    get active() {
      return active;
    },
    tryAcquire() {
      if (active >= max) return undefined;
      active++;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        active--;
      };
    },
  };
}
