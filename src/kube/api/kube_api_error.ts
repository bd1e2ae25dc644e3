/**
 * A failed call to the Kubernetes API, normalised from client-node's
 * ApiException and from network errors (see client.ts). It records what the
 * API server said; `kind` classifies it so callers never compare raw codes.
 */
import { KubeError, type KubeErrorKind } from "../kube_error.ts";

/**
 * The kinds an API server failure can have; a precondition, a refusal of the Deployment's state and an unknown
 * part are the writers' own judgements, never the server's.
 */
export type KubeApiErrorKind = Exclude<KubeErrorKind, "PreconditionFailed" | "StateRefused" | "UnknownPart">;

export class KubeApiError extends KubeError {
  readonly kind: KubeApiErrorKind;
  /**
   * @param status the HTTP status the API server answered, or 0 when it could not be reached at all
   * @param message the API server's own message (its Status object's), passed on to the client for client-caused failures
   * @param reason the Status object's reason, e.g. "NotFound"
   * @param retryAfterSeconds the API server's Retry-After, when it throttles
   */
  constructor(
    readonly status: number,
    message: string,
    readonly reason?: string,
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "KubeApiError";
    this.kind = kubeApiErrorKind(status);
  }
}

/**
 * Classifies by status rather than by reason: the status is always present
 * (the reason is not, e.g. for a network failure or an answer from a proxy in
 * front), and each reason the API server pairs with one of these statuses
 * (409 is Conflict or AlreadyExists, say) calls for the same handling.
 */
function kubeApiErrorKind(status: number): KubeApiErrorKind {
  switch (status) {
    case 0:
      return "Unreachable";
    case 401:
    case 403:
      return "Forbidden";
    case 404:
      return "NotFound";
    case 408:
    case 504:
      return "Timeout";
    case 409:
      return "Conflict";
    case 422:
      return "Invalid";
    case 429:
      return "TooManyRequests";
    case 503:
      return "Unavailable";
    default:
      return "Unknown";
  }
}
