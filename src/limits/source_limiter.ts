/**
 * Per-source connection limits, decided when a TCP connection is accepted and
 * before its TLS handshake starts: how many connections one source may hold
 * open at once, and how fast it may open new ones (a token bucket). Without
 * them the global connection cap is one pool that a single source can drain,
 * and a source that reconnects hundreds of connections at once makes the
 * process run hundreds of handshakes back to back, while everyone else waits.
 *
 * A source is what `sourceOf` makes of the remote address (an IPv4 address
 * or an IPv6 /64).
 *
 * Memory stays bounded without timers: a source's open-connection count is
 * forgotten when its last connection closes, so that table never holds more
 * entries than there are open connections (which MAX_CONNECTIONS caps); the
 * rate buckets are the rate limiter's, which forgets refilled buckets and
 * holds at most `maxSources`.
 */
import { createRateLimiter, DEFAULT_MAX_KEYS } from "./rate_limiter.ts";
import type { RateSpec } from "./rate_spec.ts";

/** Why a connection was refused; also the metrics label. */
export type SourceRefusalReason =
  /** The source already holds MAX_CONNECTIONS_PER_SOURCE open connections. */
  | "per_source_connections"
  /** The source opened connections faster than HANDSHAKE_RATE_PER_SOURCE allows. */
  | "per_source_rate";

export interface SourceLimiterOptions {
  /** Open connections per source at most; null = no limit. */
  maxConnectionsPerSource: number | null;
  /** New connections per source (token bucket); null = no limit. */
  connectRate: RateSpec | null;
  /** Sources with a rate bucket at most (default 10,000); the least recently seen is forgotten first. */
  maxSources?: number;
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number;
}

export type SourceAdmission =
  | {
    readonly admitted: true;
    /** Call when the connection has closed; later calls do nothing. */
    readonly release: () => void;
  }
  | { readonly admitted: false; readonly reason: SourceRefusalReason };

export interface SourceLimiter {
  /** Counts a new connection from `source`, or says why it must be refused. A refused connection counts for nothing. */
  admit(source: string): SourceAdmission;
  /** Entries held: sources with open connections plus rate buckets not yet forgotten (for tests and metrics). */
  readonly size: number;
  readonly maxConnectionsPerSource: number | null;
  readonly connectRate: RateSpec | null;
}

const UNCOUNTED: SourceAdmission = Object.freeze({ admitted: true, release: () => {} });

export function createSourceLimiter(options: SourceLimiterOptions): SourceLimiter {
  const { maxConnectionsPerSource, connectRate } = options;
  if (maxConnectionsPerSource !== null && !(Number.isSafeInteger(maxConnectionsPerSource) && maxConnectionsPerSource >= 1)) {
    throw new RangeError(`maxConnectionsPerSource must be a whole number ≥ 1 or null, got ${maxConnectionsPerSource}`);
  }
  const rate = connectRate
    ? createRateLimiter({ ...connectRate, now: options.now, maxKeys: options.maxSources ?? DEFAULT_MAX_KEYS })
    : undefined;
  /** Open connections per source; a source leaves when its count drops to zero. */
  const open = new Map<string, number>();

  const refused = (reason: SourceRefusalReason): SourceAdmission => ({ admitted: false, reason });

  return {
    maxConnectionsPerSource,
    connectRate,
    get size() {
      return open.size + (rate?.size ?? 0);
    },
    admit(source) {
      const count = open.get(source) ?? 0;
      // The count is checked first: a source at its cap is refused without spending a token.
      if (maxConnectionsPerSource !== null && count >= maxConnectionsPerSource) return refused("per_source_connections");
      if (rate && !rate.take(source).allowed) return refused("per_source_rate");
      if (maxConnectionsPerSource === null) return UNCOUNTED;
      open.set(source, count + 1);
      let released = false;
      return {
        admitted: true,
        release: () => {
          if (released) return;
          released = true;
          const left = (open.get(source) ?? 1) - 1;
          if (left > 0) open.set(source, left);
          else open.delete(source);
        },
      };
    },
  };
}
