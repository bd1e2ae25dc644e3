/**
 * What the read handlers need for the requests that last: watch streams, rollout waits and NotOlderThan reads.
 * One object built by the service (or left to its defaults in tests), passed to every handler factory.
 */
import { createStreamLimiter } from "../limits/mod.ts";
import type { ConcurrencyLimiter } from "../limits/mod.ts";
import type { LongRequestDeps } from "./long_requests.ts";

export interface StreamingDeps extends LongRequestDeps {
  /** WRITE_SYNC_TIMEOUT: how long a NotOlderThan read waits for the cache. */
  readonly writeSyncTimeoutMs: number;
  /** The request concurrency cap: a watch stream holds one slot for as long as it is open. */
  readonly concurrency?: ConcurrencyLimiter;
  readonly heartbeatMs: number;
  /** Per stream: events waiting for a slow client, at most (bytes). */
  readonly bufferBytes: number;
  /** Live event bytes per stream before it is renewed (ended with a final event; the client resumes). See watch_stream.ts. */
  readonly budgetBytes: number;
  /** How long a stream's final event may take to be read before the connection is cut. */
  readonly drainGraceMs: number;
}

export const STREAM_DEFAULTS = Object.freeze({
  writeSyncTimeoutMs: 5_000,
  heartbeatMs: 15_000,
  bufferBytes: 256 * 1024,
  budgetBytes: 1024 * 1024,
  drainGraceMs: 10_000,
});

/** Defaults for tests and tools that build routes without a service: generous limits, never shutting down. */
export function defaultStreamingDeps(overrides: Partial<StreamingDeps> = {}): StreamingDeps {
  return {
    ...STREAM_DEFAULTS,
    streams: createStreamLimiter({ max: 100, maxPerClient: 10 }),
    shutdown: new AbortController().signal,
    ...overrides,
  };
}
