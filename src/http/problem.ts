/**
 * Maps every error to an HTTP answer and renders it as RFC 9457
 * application/problem+json. This is the only place that decides how a failure
 * looks on the wire, including the Kubernetes layer's domain errors (kube/
 * knows nothing of HTTP), so the mapping is reviewable in one screen.
 */
import { HttpError } from "./http_error.ts";
import { KubeError, PreconditionFailedError, StateRefusedError, UnknownPartError } from "../kube/mod.ts";
import { KubeApiError } from "../kube/mod.ts";
import { textResponse } from "./response.ts";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** Turns anything thrown into an HttpError. Unknown errors become a 500 that leaks nothing. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof KubeError) return fromKubeError(error);
  return unexpected(error);
}

function unexpected(cause: unknown): HttpError {
  return new HttpError(500, "An unexpected error occurred; it has been logged.", { cause });
}

/** How long to wait after an outage before retrying, when the API server did not say (it only does when throttling). */
const OUTAGE_RETRY_AFTER = "5";

/**
 * A failure from the Kubernetes layer, by kind. Client-caused outcomes (not found, conflict, invalid, a failed
 * precondition) pass the API server's message through; failures of the service's own access (auth, outage) are
 * 5xx naming the cause, since the caller can do nothing about them. The switch is exhaustive: a new kind does not
 * compile until it is mapped here.
 */
function fromKubeError(error: KubeError): HttpError {
  const cause = error;
  const k8s = error.message;
  // The API server's status, when it answered; named in the detail of the failures only the operator can act on.
  const code = error instanceof KubeApiError ? ` (${error.status})` : "";
  const kind = error.kind;
  switch (kind) {
    case "NotFound":
      return new HttpError(404, `Kubernetes API: ${k8s}`, { cause });
    case "Conflict":
      return new HttpError(409, `Kubernetes API conflict: ${k8s}`, { cause });
    case "Invalid":
      return new HttpError(422, `Kubernetes API rejected the change: ${k8s}`, { cause });
    case "PreconditionFailed": {
      // The client's If-Match named the Deployment's resourceVersion as an ETag; answer in the same terms.
      const current = error instanceof PreconditionFailedError ? error.currentResourceVersion : undefined;
      if (current === undefined) return new HttpError(412, "If-Match does not match: the Deployment changed", { cause });
      return new HttpError(412, `If-Match does not match: the current ETag is "${current}"`, { cause, headers: { etag: `"${current}"` } });
    }
    case "Forbidden":
      return new HttpError(502, `the Kubernetes API refused the service's own credentials${code}: ${k8s}`, { cause });
    case "TooManyRequests": {
      const seconds = error instanceof KubeApiError ? error.retryAfterSeconds : undefined;
      return new HttpError(503, `the Kubernetes API is throttling requests: ${k8s}`, {
        cause,
        headers: { "retry-after": String(seconds ?? 1) },
      });
    }
    case "Unreachable":
      return new HttpError(503, `the Kubernetes API is unreachable: ${k8s}`, { cause, headers: { "retry-after": OUTAGE_RETRY_AFTER } });
    case "Unavailable":
      return new HttpError(503, `the Kubernetes API is unavailable: ${k8s}`, { cause, headers: { "retry-after": OUTAGE_RETRY_AFTER } });
    case "Timeout":
      return new HttpError(504, `the Kubernetes API did not answer in time: ${k8s}`, { cause });
    case "Unknown":
      return new HttpError(502, `the Kubernetes API failed${code}: ${k8s}`, { cause });
    case "StateRefused": {
      // kube/ says what is wrong and what to do in Kubernetes terms; the request that does it is ours to name.
      if (!(error instanceof StateRefusedError)) return new HttpError(409, k8s, { cause });
      const base = deploymentPath(error.namespace, error.deployment);
      const remedy = error.refusal === "paused" ? `: POST ${base}/resume` : `; GET ${base}/revisions lists its revisions`;
      return new HttpError(409, `${k8s}${remedy}`, { cause });
    }
    case "UnknownPart": {
      const revisions = error instanceof UnknownPartError && error.part === "revision"
        ? ` (GET ${deploymentPath(error.namespace, error.deployment)}/revisions)`
        : "";
      return new HttpError(404, `${k8s}${revisions}`, { cause });
    }
    default:
      // Never taken while every kind is mapped above (the compiler checks); should it be, a 500 rather than a crash.
      kind satisfies never;
      return unexpected(error);
  }
}

/** The service's own path of a Deployment, for the remedies a detail names. */
function deploymentPath(namespace: string, name: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(namespace)}/deployments/${encodeURIComponent(name)}`;
}

/** The problem+json document; also used by the TLS listener for the few errors it answers before routing. */
export function problemBody(status: number, title: string, detail: string, instance?: string): string {
  const body: Record<string, unknown> = { type: "about:blank", title, status, detail };
  if (instance) body.instance = instance;
  return JSON.stringify(body);
}

/** Renders an HttpError as problem+json (the listener drops the body for HEAD requests). */
export function problemResponse(error: HttpError, instance?: string): Response {
  return textResponse(problemBody(error.status, error.title, error.detail, instance), PROBLEM_CONTENT_TYPE, {
    status: error.status,
    // Last, so an error cannot override how a problem is cached.
    headers: { ...withoutContentType(error.headers), "cache-control": "no-store" },
  });
}

/** The problem's own content type wins over one an error may carry. */
function withoutContentType(headers: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) {
    const lower = name.toLowerCase();
    if (lower !== "content-type" && lower !== "cache-control") out[lower] = headers[name];
  }
  return out;
}
