/**
 * The failures `src/kube/` reports, in Kubernetes' own terms. This layer knows
 * nothing of the service's HTTP API: it says *what* went wrong (the object is
 * missing, someone changed it first, the API server is down) and leaves *how
 * that looks to a client* to `src/http/problem.ts`, the one place that maps a
 * kind to a status, title, detail and headers.
 */

/**
 * What went wrong, named after Kubernetes' StatusReason where one fits:
 * - `NotFound`: the object (or its namespace) does not exist.
 * - `Conflict`: the object changed since the version a write was based on.
 * - `PreconditionFailed`: the caller required a resourceVersion the object no longer has.
 * - `Invalid`: the API server (validation or admission) rejected the change.
 * - `Forbidden`: the API server refused the service's own credentials (401) or RBAC (403).
 * - `TooManyRequests`: the API server is throttling the service (priority and fairness).
 * - `Unreachable`: no answer at all: connection refused, DNS, TLS, reset.
 * - `Unavailable`: the API server answered that it cannot serve now (503).
 * - `Timeout`: no answer in time, from the API server's own deadline or ours.
 * - `Unknown`: any other failure of the API server.
 * - `StateRefused`: the Deployment's state does not allow the operation (it is paused; it has no earlier revision).
 * - `UnknownPart`: the operation names a part the Deployment does not have (a container, a revision).
 */
export type KubeErrorKind =
  | "NotFound"
  | "Conflict"
  | "PreconditionFailed"
  | "Invalid"
  | "Forbidden"
  | "TooManyRequests"
  | "Unreachable"
  | "Unavailable"
  | "Timeout"
  | "Unknown"
  | "StateRefused"
  | "UnknownPart";

/** Base of every failure `src/kube/` throws on purpose; `kind` says which, `cause` keeps the original for the log. */
export abstract class KubeError extends Error {
  abstract readonly kind: KubeErrorKind;
}

/**
 * A write was conditional on the object being at one of the given
 * resourceVersions, and it is not. `currentResourceVersion` is the version the
 * object has now when it is known; undefined when the API server reported the
 * change as a conflict without saying what the object became.
 */
export class PreconditionFailedError extends KubeError {
  readonly kind = "PreconditionFailed" as const;
  constructor(message: string, readonly currentResourceVersion?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "PreconditionFailedError";
  }
}

/** Why a Deployment's state refuses an operation; each has its own remedy. */
export type StateRefusal = "paused" | "no-previous-revision";

/**
 * The Deployment is in a state in which the operation would be wrong, as kubectl refuses it too: a paused
 * Deployment is not restarted or rolled back (the change would wait unseen until someone resumes it), and there
 * is nothing to undo to without an earlier revision. Never retried: the caller has to change the state first.
 */
export class StateRefusedError extends KubeError {
  readonly kind = "StateRefused" as const;
  constructor(
    readonly namespace: string,
    readonly deployment: string,
    readonly refusal: StateRefusal,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StateRefusedError";
  }
}

/** The kind of part an operation may name that a Deployment may not have. */
export type DeploymentPart = "container" | "revision";

/**
 * The operation names a container or a revision the Deployment does not have. `known` lists the ones it has, in
 * the order they are shown (containers then init containers; revisions ascending), so the answer can say what to
 * ask for instead.
 */
export class UnknownPartError extends KubeError {
  readonly kind = "UnknownPart" as const;
  constructor(
    readonly namespace: string,
    readonly deployment: string,
    readonly part: DeploymentPart,
    readonly requested: string,
    readonly known: readonly string[],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "UnknownPartError";
  }
}
