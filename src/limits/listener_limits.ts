/**
 * Connection-level limits for the node:https listener: how long a client may
 * take to finish the TLS handshake, to send its headers, to send the whole
 * request, how long an idle keep-alive connection is kept, and how many
 * connections are open at once. Without them one client can hold sockets
 * (and their memory) open for free, before it is even authenticated.
 *
 * Each was tried in Deno 2.9.6's node:https (tests/unit/limits/listener_limits_test.ts
 * keeps checking it): the handshake timeout closes connections that stall
 * anywhere before the handshake completes; the headers timeout answers 408
 * and also catches a connection that never sends a request; the request
 * timeout answers 408 to a body that trickles in; keep-alive connections are
 * closed about 1 s after the idle timeout (Deno adds that margin, like Node's
 * keepAliveTimeoutBuffer); connections over `maxConnections` are closed
 * right after accept, counting ones still in their handshake.
 *
 * The per-source limits (connections held, and new connections per second,
 * by one source address) are enforced by source_gate.ts at the same point,
 * right after accept and before the TLS handshake.
 *
 * Deliberately not used: `server.setTimeout()` (socket inactivity). It also
 * fires while a handler is still working (a PUT waiting for read-your-writes),
 * cutting off requests that are merely slow on our side.
 */
import type { Server as NetServer } from "node:net";
import type { RateSpec } from "./rate_spec.ts";

export interface ListenerLimits {
  /** TLS handshake must complete within this (HANDSHAKE_TIMEOUT). */
  readonly handshakeTimeoutMs: number;
  /** Request line and headers must arrive within this from the start of the request, or of the connection (HEADERS_TIMEOUT). */
  readonly headersTimeoutMs: number;
  /** The whole request, body included, must arrive within this (REQUEST_TIMEOUT); at least headersTimeoutMs. */
  readonly requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this (IDLE_TIMEOUT); Deno adds about 1 s. */
  readonly idleTimeoutMs: number;
  /** Open connections at most, counting those still in their handshake (MAX_CONNECTIONS). */
  readonly maxConnections: number;
  /** Open connections per source address at most (MAX_CONNECTIONS_PER_SOURCE); null = no limit. */
  readonly maxConnectionsPerSource: number | null;
  /** New connections per source address, as a token bucket (HANDSHAKE_RATE_PER_SOURCE); null = no limit. */
  readonly handshakeRatePerSource: RateSpec | null;
}

export const DEFAULT_LISTENER_LIMITS: ListenerLimits = Object.freeze({
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  maxConnections: 1_000,
  maxConnectionsPerSource: 100,
  handshakeRatePerSource: Object.freeze({ ratePerSecond: 50, burst: 50 }),
});

/** The node:https createServer options that carry the limits; spread them into the options object. */
export interface ListenerServerOptions {
  handshakeTimeout: number;
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
  connectionsCheckingInterval: number;
}

/** Throws RangeError naming the limit that is out of range. */
export function checkListenerLimits(limits: ListenerLimits): void {
  for (const name of ["handshakeTimeoutMs", "headersTimeoutMs", "requestTimeoutMs", "idleTimeoutMs", "maxConnections"] as const) {
    const value = limits[name];
    if (!(Number.isSafeInteger(value) && value >= 1)) throw new RangeError(`${name} must be a whole number ≥ 1, got ${value}`);
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new RangeError(`headersTimeoutMs (${limits.headersTimeoutMs}) must not exceed requestTimeoutMs (${limits.requestTimeoutMs})`);
  }
  const perSource = limits.maxConnectionsPerSource;
  if (perSource !== null && !(Number.isSafeInteger(perSource) && perSource >= 1)) {
    throw new RangeError(`maxConnectionsPerSource must be a whole number ≥ 1 or null, got ${perSource}`);
  }
  const rate = limits.handshakeRatePerSource;
  if (
    rate !== null && !(Number.isFinite(rate.ratePerSecond) && rate.ratePerSecond > 0 && Number.isSafeInteger(rate.burst) && rate.burst >= 1)
  ) {
    throw new RangeError(`handshakeRatePerSource must have a rate > 0 and a whole burst ≥ 1, got ${JSON.stringify(rate)}`);
  }
}

/** Options for `https.createServer`; the header and request timeouts are checked every quarter of the headers timeout, at most every second. */
export function listenerServerOptions(limits: ListenerLimits): ListenerServerOptions {
  checkListenerLimits(limits);
  return {
    handshakeTimeout: limits.handshakeTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
    // Node's default of 30 s would let a stalled client stay up to 30 s past its deadline.
    connectionsCheckingInterval: Math.min(1000, Math.max(10, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

/** The limits that are properties of the server rather than creation options. Call before `listen()`. */
export function applyListenerLimits(server: NetServer, limits: ListenerLimits): void {
  checkListenerLimits(limits);
  server.maxConnections = limits.maxConnections;
}
