/**
 * Per-key token buckets in a SharedArrayBuffer, so several isolates of one process (serving Workers) draw from one
 * budget per client: the same contract as rate_limiter.ts (`RateLimiter`), with no message per request. Measured
 * before choosing it (BENCHMARKS.md, "Issue 21, before any change"): a postMessage round trip between isolates
 * costs more than a whole request, a lock in shared memory a few atomic operations.
 *
 * Layout: a 16-byte header, Int32 0 a lock for the whole table and Float64 1 when it was taken. A take holds it for a
 * probe of at most PROBE slots, well under a microsecond, so contention between 2–4 isolates is negligible, and one
 * lock cannot let two isolates give one new key two buckets. A Worker that is terminated can stop anywhere, even
 * holding the lock, so a lock held for over LOCK_STALE_MS is taken over (the worst a takeover of a live holder
 * descheduled that long can do is leave one bucket's count off by one). Then `slots` slots of 32 bytes: Int32 state
 * (0 free, 1 used), two Int32 halves of the key's 64-bit hash, a spare Int32, Float64 tokens, Float64 updated (ms on
 * a clock every isolate shares).
 *
 * A key is found by its 64-bit hash (FNV-1a, two seeds): two identities would share a bucket only on a full 64-bit
 * collision. Memory is fixed. A bucket that has refilled completely holds no information, so its slot is reused;
 * when every slot of a probe is busy, the fullest is forgotten (its key starts again with a full bucket: at most
 * burst − level extra requests, the same trade as rate_limiter.ts's least-recently-used eviction).
 *
 * The clock must be the same in every isolate: `performance.now()` is relative to each isolate's own start, so the
 * default is `performance.timeOrigin + performance.now()`.
 */
import type { RateDecision, RateLimiter } from "./rate_limiter.ts";

const LOCK = 0;
/** Float64 index of when the lock was taken. */
const LOCKED_AT = 1;
const HEADER_BYTES = 16;
const LOCK_STALE_MS = 100;
/** Spins between looks at how long the lock has been held. */
const SPINS_PER_CHECK = 4096;
const SLOT_BYTES = 32;
/** Slots probed per key, from its home slot. */
const PROBE = 16;
export const DEFAULT_SHARED_SLOTS = 16_384;

const ALLOWED: RateDecision = Object.freeze({ allowed: true });

/** The memory one limiter's table lives in; pass the same buffer to every isolate's {@link attachSharedRateLimiter}. */
export function createSharedRateBuffer(slots = DEFAULT_SHARED_SLOTS): SharedArrayBuffer {
  if (!(Number.isSafeInteger(slots) && slots >= PROBE)) throw new RangeError(`slots must be a whole number ≥ ${PROBE}, got ${slots}`);
  return new SharedArrayBuffer(HEADER_BYTES + slots * SLOT_BYTES);
}

export interface SharedRateLimiterOptions {
  /** Average requests per second allowed per key (> 0). */
  ratePerSecond: number;
  /** Requests a key may make at once after being idle (a whole number ≥ 1). */
  burst: number;
  /** Milliseconds on a clock shared by every isolate; injectable for tests. */
  now?: () => number;
}

/** A view of the shared table as a {@link RateLimiter}; every isolate attaching the same buffer shares every bucket. */
export function attachSharedRateLimiter(buffer: SharedArrayBuffer, options: SharedRateLimiterOptions): RateLimiter {
  const { ratePerSecond, burst } = options;
  if (!(Number.isFinite(ratePerSecond) && ratePerSecond > 0)) throw new RangeError(`ratePerSecond must be > 0, got ${ratePerSecond}`);
  if (!(Number.isSafeInteger(burst) && burst >= 1)) throw new RangeError(`burst must be a whole number ≥ 1, got ${burst}`);
  const slots = (buffer.byteLength - HEADER_BYTES) / SLOT_BYTES;
  if (!(Number.isSafeInteger(slots) && slots >= PROBE)) throw new RangeError("not a buffer from createSharedRateBuffer");
  const now = options.now ?? (() => performance.timeOrigin + performance.now());
  const perMs = ratePerSecond / 1000;
  const ints = new Int32Array(buffer);
  const floats = new Float64Array(buffer);
  // Slot s: ints[(16 + 32 s) / 4 + 0..3] = state, hash1, hash2, spare; floats[(16 + 32 s) / 8 + 2..3] = tokens, updated.
  const int = (s: number) => (HEADER_BYTES + s * SLOT_BYTES) >> 2;
  const float = (s: number) => ((HEADER_BYTES + s * SLOT_BYTES) >> 3) + 2;
  const level = (s: number, t: number) => Math.min(burst, floats[float(s)] + Math.max(0, t - floats[float(s) + 1]) * perMs);

  const lock = (t: number) => {
    for (let spins = 1; Atomics.compareExchange(ints, LOCK, 0, 1) !== 0; spins++) {
      // Held for a probe at most: spin, and now and then see whether its holder died holding it.
      if (spins % SPINS_PER_CHECK === 0 && now() - floats[LOCKED_AT] > LOCK_STALE_MS) break;
    }
    floats[LOCKED_AT] = t;
  };
  const unlock = () => void Atomics.store(ints, LOCK, 0);

  /** The slot of the key with hashes h1, h2, claimed (with a full bucket) when it has none. Under the lock. */
  const slotOf = (h1: number, h2: number, t: number): number => {
    const home = (h1 >>> 0) % slots;
    let reusable = -1;
    let fullest = home;
    let fullestLevel = -1;
    for (let i = 0; i < PROBE; i++) {
      const s = (home + i) % slots;
      const base = int(s);
      if (ints[base] === 0) {
        if (reusable < 0) reusable = s;
        // A free slot ends the chain: the key was never placed beyond it (slots are never freed, only reused).
        break;
      }
      if (ints[base + 1] === h1 && ints[base + 2] === h2) return s;
      const l = level(s, t);
      if (l >= burst && reusable < 0) reusable = s;
      if (l > fullestLevel) {
        fullestLevel = l;
        fullest = s;
      }
    }
    const s = reusable >= 0 ? reusable : fullest;
    const base = int(s);
    ints[base] = 1;
    ints[base + 1] = h1;
    ints[base + 2] = h2;
    floats[float(s)] = burst;
    floats[float(s) + 1] = t;
    return s;
  };

  return {
    ratePerSecond,
    burst,
    /** Slots in use in the whole table (every isolate's keys), counted on demand: for tests and metrics only. */
    get size() {
      let size = 0;
      for (let s = 0; s < slots; s++) if (Atomics.load(ints, int(s)) === 1) size++;
      return size;
    },
    take(key) {
      const h1 = fnv1a(key, 0x811c9dc5);
      const h2 = fnv1a(key, 0x01000193 ^ 0x5bd1e995);
      const t = now();
      lock(t);
      let tokens: number;
      try {
        const s = slotOf(h1, h2, t);
        tokens = level(s, t);
        floats[float(s) + 1] = t;
        if (tokens >= 1) {
          floats[float(s)] = tokens - 1;
          return ALLOWED;
        }
        floats[float(s)] = tokens;
      } finally {
        unlock();
      }
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / ratePerSecond)) };
    },
  };
}

/** 32-bit FNV-1a over the string's UTF-16 code units, from `seed`. */
function fnv1a(text: string, seed: number): number {
  let h = seed | 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}
