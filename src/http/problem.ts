/**
 * Maps every error to an HTTP answer and renders it as RFC 9457
 * application/problem+json. This is the only place that decides how a failure
 * looks on the wire, including Kubernetes failures, so the mapping is
 * reviewable in one screen.
 */
import { HttpError } from "./http_error.ts";
import { KubeApiError } from "../kube/kube_api_error.ts";
import { textResponse } from "./response.ts";

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** Turns anything thrown into an HttpError. Unknown errors become a 500 that leaks nothing. */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof KubeApiError) return fromKubeError(error);
  return new HttpError(500, "An unexpected error occurred; it has been logged.", { cause: error });
}

/**
 * A Kubernetes API failure. Client-caused outcomes (not found, conflict, invalid)
 * pass the API server's message through; failures of the service's own access
 * (auth, outage) are 5xx naming the cause, since the caller can do nothing about them.
 */
function fromKubeError(error: KubeApiError): HttpError {
  const cause = error;
  const k8s = error.message;
  switch (error.status) {
    case 404:
      return new HttpError(404, `Kubernetes API: ${k8s}`, { cause });
    case 409:
      return new HttpError(409, `Kubernetes API conflict: ${k8s}`, { cause });
    case 422:
      return new HttpError(422, `Kubernetes API rejected the change: ${k8s}`, { cause });
    case 401:
    case 403:
      return new HttpError(502, `the Kubernetes API refused the service's own credentials (${error.status}): ${k8s}`, { cause });
    case 429:
      return new HttpError(503, `the Kubernetes API is throttling requests: ${k8s}`, {
        cause,
        headers: { "retry-after": String(error.retryAfterSeconds ?? 1) },
      });
    case 0:
      return new HttpError(503, `the Kubernetes API is unreachable: ${k8s}`, { cause, headers: { "retry-after": "5" } });
    case 504:
    case 408:
      return new HttpError(504, `the Kubernetes API did not answer in time: ${k8s}`, { cause });
    default:
      if (error.status === 503) {
        return new HttpError(503, `the Kubernetes API is unavailable: ${k8s}`, { cause, headers: { "retry-after": "5" } });
      }
      return new HttpError(502, `the Kubernetes API failed (${error.status}): ${k8s}`, { cause });
  }
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
