/**
 * Input validation for names and request bodies. Every rejection is an
 * HttpError 400 whose detail says exactly what is wrong, so a caller can fix it
 * without reading our source.
 */
import { HttpError } from "./http_error.ts";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isDns1123Label(value: string): boolean {
  return value.length <= 63 && DNS1123_LABEL.test(value);
}

export function isDns1123Subdomain(value: string): boolean {
  return value.length <= 253 && DNS1123_SUBDOMAIN.test(value);
}

/** Namespaces are DNS-1123 labels. */
export function validateNamespace(value: string): string {
  if (!isDns1123Label(value)) {
    throw new HttpError(
      400,
      `namespace "${
        truncate(value)
      }" is not a valid Kubernetes namespace name: at most 63 lower-case alphanumeric characters or '-', starting and ending with an alphanumeric character`,
    );
  }
  return value;
}

/** Deployment names are DNS-1123 subdomains. */
export function validateDeploymentName(value: string): string {
  if (!isDns1123Subdomain(value)) {
    throw new HttpError(
      400,
      `deployment name "${
        truncate(value)
      }" is not a valid Kubernetes name: at most 253 lower-case alphanumeric characters, '-' or '.', starting and ending with an alphanumeric character`,
    );
  }
  return value;
}

/**
 * Rejects query parameters a route does not know, so a typo like ?namepsace= is not silently ignored.
 * Takes the URL (string or parsed) and returns its parameters; a URL without "?" is not parsed at all,
 * which keeps the common read path cheap.
 */
export function validateQuery(url: string | URL, allowed: readonly string[]): URLSearchParams {
  if (typeof url === "string" && !url.includes("?")) return new URLSearchParams();
  const params = (typeof url === "string" ? new URL(url) : url).searchParams;
  for (const key of params.keys()) {
    if (!allowed.includes(key)) {
      const known = allowed.length ? `; supported: ${allowed.join(", ")}` : "; this endpoint takes none";
      throw new HttpError(400, `unknown query parameter "${truncate(key)}"${known}`);
    }
  }
  return params;
}

/**
 * A switch in the query string: absent means false; otherwise exactly "true" or "false", given once. Anything
 * else is 400, so `?force=yes` or `?dryRun=1` never silently means "no".
 */
export function validateBooleanQuery(params: URLSearchParams, name: string): boolean {
  const values = params.getAll(name);
  if (values.length === 0) return false;
  if (values.length > 1) throw new HttpError(400, `query parameter "${name}" is given ${values.length} times; give it once`);
  if (values[0] === "true") return true;
  if (values[0] === "false") return false;
  throw new HttpError(400, `query parameter "${name}" must be "true" or "false", got "${truncate(values[0])}"`);
}

/** The PUT replicas body: exactly `{"replicas": <integer 0..max>}`. */
export function validateReplicasBody(body: unknown, maxReplicas: number): number {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, `the body must be a JSON object like {"replicas": 3}`);
  }
  const unknown = Object.keys(body).filter((k) => k !== "replicas");
  if (unknown.length > 0) {
    throw new HttpError(400, `unknown field(s) in body: ${unknown.map((k) => `"${truncate(k)}"`).join(", ")}; only "replicas" is accepted`);
  }
  if (!Object.hasOwn(body, "replicas")) throw new HttpError(400, `the body is missing the "replicas" field`);
  const replicas = (body as { replicas: unknown }).replicas;
  if (typeof replicas !== "number") {
    throw new HttpError(400, `"replicas" must be a JSON number, got ${replicas === null ? "null" : typeof replicas}`);
  }
  if (!Number.isInteger(replicas)) throw new HttpError(400, `"replicas" must be a whole number, got ${replicas}`);
  if (replicas < 0) throw new HttpError(400, `"replicas" must not be negative, got ${replicas}`);
  if (replicas > maxReplicas) {
    throw new HttpError(400, `"replicas" must be at most ${maxReplicas} (MAX_REPLICAS), got ${replicas}`);
  }
  return replicas === 0 ? 0 : replicas; // normalise -0
}

function truncate(value: string, max = 80): string {
  return value.length > max ? value.slice(0, max) + "…" : value;
}
