/**
 * Per-key token buckets: each key (a client identity) may make `burst`
 * requests at once and `ratePerSecond` on average. One instance per class of
 * request (reads, writes), so a client hammering reads cannot use up its
 * writes, and one client's budget never affects another's.
 *
 * Memory is bounded without timers: buckets live in a Map kept in
 * least-recently-used order; each `take` drops buckets from the old end that
 * have refilled completely (forgetting a full bucket changes nothing), and
 * the least recently used bucket makes room when a new key would exceed `maxKeys`.
 */

export interface RateLimiterOptions {
  /** Average requests per second allowed per key (> 0). */
  ratePerSecond: number;
  /** Requests a key may make at once after being idle (a whole number ≥ 1). */
  burst: number;
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number;
  /**
   * Keys tracked at most (default 10,000). Beyond that the least recently
   * seen key is forgotten and starts again with a full bucket; identities
   * come from certificates of our own CA, so reaching the cap takes many
   * certificates, not just many requests.
   */
  maxKeys?: number;
}

export type RateDecision =
  | { readonly allowed: true }
  | {
    readonly allowed: false;
    /** Whole seconds until the key has a token again, for Retry-After (at least 1). */
    readonly retryAfterSeconds: number;
  };

export interface RateLimiter {
  /** Takes one token from `key`'s bucket if it has one. A refused request takes nothing. */
  take(key: string): RateDecision;
  /** Keys currently tracked (for metrics and tests). */
  readonly size: number;
  readonly ratePerSecond: number;
  readonly burst: number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, in `now()` milliseconds. */
  updated: number;
}

const ALLOWED: RateDecision = Object.freeze({ allowed: true });
/** Idle buckets checked per take: enough to keep up with arrivals, small enough to stay O(1). */
const SWEEP_PER_TAKE = 4;
export const DEFAULT_MAX_KEYS = 10_000;

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { ratePerSecond, burst } = options;
  if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be > 0, got ${ratePerSecond}`);
  if (!(Number.isSafeInteger(burst) && burst >= 1)) throw new RangeError(`burst must be a whole number ≥ 1, got ${burst}`);
  const maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
  if (!(Number.isSafeInteger(maxKeys) && maxKeys >= 1)) throw new RangeError(`maxKeys must be a whole number ≥ 1, got ${maxKeys}`);
  const now = options.now ?? (() => performance.now());
  const perMs = ratePerSecond / 1000;
  /** Insertion order = least recently used first. */
  const buckets = new Map<string, Bucket>();
  /** The key of the last take: it is at the most recently used end already. */
  let lastKey: string | undefined;

  const level = (bucket: Bucket, t: number) => Math.min(burst, bucket.tokens + Math.max(0, t - bucket.updated) * perMs);

  /** Forgets buckets at the least recently used end that have refilled completely: they hold no information. */
  const sweep = (t: number) => {
    let checked = 0;
    for (const [key, bucket] of buckets) {
      if (checked++ >= SWEEP_PER_TAKE || level(bucket, t) < burst) break;
      buckets.delete(key);
    }
  };

  return {
    ratePerSecond,
    burst,
    get size() {
      return buckets.size;
    },
    take(key) {
      const t = now();
      // Before the lookup: the sweep may forget this key's own bucket, which is then full, and so equal to a new one.
      // Skipped when this key is the only one tracked (one busy client): there is nothing else to forget.
      if (buckets.size > 1 || key !== lastKey) sweep(t);
      let bucket = buckets.get(key);
      if (bucket) {
        bucket.tokens = level(bucket, t);
        bucket.updated = t;
        if (key !== lastKey) {
          buckets.delete(key); // re-inserted at the most recently used end
          buckets.set(key, bucket);
        }
      } else {
        bucket = { tokens: burst, updated: t };
        if (buckets.size >= maxKeys) buckets.delete(buckets.keys().next().value!);
        buckets.set(key, bucket);
      }
      lastKey = key;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return ALLOWED;
      }
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerSecond)) };
    },
  };
}
