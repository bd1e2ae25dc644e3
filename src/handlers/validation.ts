/**
 * The API's input rules for path names and the PUT replicas body. Every rejection is an HttpError 400 whose detail
 * says exactly what is wrong, so a caller can fix it without reading our source.
 */
import { HttpError } from "../http/mod.ts";
import { truncate } from "../http/mod.ts";
import { isDns1123Label, isDns1123Subdomain } from "../kube/mod.ts";

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
