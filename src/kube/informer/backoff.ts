/**
 * Capped exponential backoff with jitter, so many replicas restarting their
 * watches after an API server outage do not reconnect in lockstep.
 *
 * The default cap is 8 s, not client-go's 30 s: the wait after the API server
 * is back is at most the cap, and readiness must recover within 10 s of that
 * whatever the length of the outage. A failed attempt against a server that is
 * down is one refused connection, so retrying every 4–8 s costs it nothing.
 */
export interface Backoff {
  /** Delay before the next attempt, growing with each call. */
  next(): number;
  /** Called after a success: the next failure starts from the base delay again. */
  reset(): void;
}

export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
  /** Injectable for deterministic tests. */
  random?: () => number;
}

export function createBackoff(options: BackoffOptions = {}): Backoff {
  const base = options.baseMs ?? 500;
  const cap = options.capMs ?? 8_000;
  const random = options.random ?? Math.random;
  let attempt = 0;
  return {
    next() {
      const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 30));
      attempt++;
      // "Equal jitter": never less than half the ceiling, so retries still slow down.
      return Math.round(ceiling / 2 + random() * (ceiling / 2));
    },
    reset() {
      attempt = 0;
    },
  };
}
