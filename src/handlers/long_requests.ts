/**
 * Admission for long-lived requests: watch streams and requests that wait
 * for a rollout. Each takes a slot from the stream limiter (per client
 * certificate and in total), so waiting clients cannot crowd out the short
 * requests, and every such request learns of shutdown through one signal.
 */
import type { ClientIdentity } from "../http/mod.ts";
import { HttpError } from "../http/mod.ts";
import type { StreamLimiter } from "../limits/mod.ts";
import type { LongRequestEnd, LongRequestKind, StreamMetrics } from "../observability/mod.ts";

export type { LongRequestEnd, LongRequestKind };

export interface LongRequestDeps {
  streams: StreamLimiter;
  /** Aborted when the service starts shutting down: streams send a final event and close, waits answer what they have. */
  shutdown: AbortSignal;
  metrics?: StreamMetrics;
}

/**
 * Takes a stream slot or throws 429 (this client has its maximum open) or 503 (the service has, or is shutting
 * down). Returns the function that ends it: call it exactly once, with why it ended (later calls do nothing).
 */
export function admitLongRequest(
  deps: LongRequestDeps,
  client: ClientIdentity | undefined,
  kind: LongRequestKind,
): (reason: LongRequestEnd) => void {
  if (deps.shutdown.aborted) {
    throw new HttpError(503, "the server is shutting down; retry on another replica", { headers: { "retry-after": "1" } });
  }
  // Off the mTLS listener (tests) there is no certificate; all such callers share one budget.
  const admission = deps.streams.tryAcquire(client?.fingerprint256 ?? "");
  if (!admission.admitted) {
    deps.metrics?.refused(admission.reason);
    if (admission.reason === "per_client") {
      throw new HttpError(
        429,
        `this client certificate already has ${deps.streams.maxPerClient} watch streams or rollout waits open (MAX_STREAMS_PER_CLIENT); close one first`,
        { headers: { "retry-after": "5" } },
      );
    }
    throw new HttpError(
      503,
      `the server has its maximum of ${deps.streams.max} watch streams and rollout waits open (MAX_STREAMS); retry shortly`,
      {
        headers: { "retry-after": "5" },
      },
    );
  }
  deps.metrics?.opened(kind);
  let ended = false;
  return (reason) => {
    if (ended) return;
    ended = true;
    admission.release();
    deps.metrics?.closed(kind, reason);
  };
}

/** One signal for "stop waiting": the client left, or the service is shutting down. */
export function stopSignal(deps: LongRequestDeps, closed: (() => AbortSignal) | undefined): AbortSignal {
  return closed ? AbortSignal.any([closed(), deps.shutdown]) : deps.shutdown;
}
