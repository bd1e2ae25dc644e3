/**
 * What the request pipeline asks of the guard that admits API requests (rate limits, authorization, the
 * concurrency cap, the audit trail). The pipeline owns the interface; `authz/` implements it.
 */
import type { ClientIdentity } from "./types.ts";

/** What the guard needs to know about a request (the app has all of it after routing). */
export interface GuardedRequest {
  readonly method: string;
  /**
   * The matched route's name (`resume_deployment`, `put_replicas_wait_rollout`…). The audit trail needs it where
   * one permission covers several actions (`pause` covers pause and resume).
   */
  readonly route?: string;
  /** What the route needs; undefined = any authenticated client (health, the OpenAPI document). */
  readonly permission?: string;
  /**
   * The namespace the request is about (the path parameter, or `?namespace=`).
   * Undefined for a list across all namespaces: a read is then admitted and
   * the handler must filter with `readableNamespaces`; a scale needs "*".
   */
  readonly namespace?: string;
  /** The Deployment, for the audit record. */
  readonly name?: string;
  /** Undefined only off the mTLS listener, where nothing is checked. */
  readonly client?: ClientIdentity;
  readonly requestId: string;
  /** The request URL: a write's audit record notes ?dryRun=true (and a scale's ?force=true) from it, whatever the outcome. */
  readonly url?: string;
}

export interface RequestGuard {
  /**
   * Throws an HttpError (429, 403, 503) to refuse. Otherwise returns the admission's end, which the pipeline calls
   * exactly once with the response made: it gives back what admission took and records what must be recorded of
   * the outcome (the audit record of a write). The response waits for a returned promise.
   */
  admit(request: GuardedRequest): AdmissionEnd;
}

export type AdmissionEnd = (response: Response) => void | Promise<void>;
