/**
 * The API's input rules for path names, image references and the write bodies (replicas, image, undo). Every
 * rejection is an HttpError 400 whose detail says exactly what is wrong, so a caller can fix it without reading
 * our source.
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

/** Container names are DNS-1123 labels. */
export function validateContainerName(value: string): string {
  if (!isDns1123Label(value)) {
    throw new HttpError(
      400,
      `container name "${
        truncate(value)
      }" is not a valid Kubernetes container name: at most 63 lower-case alphanumeric characters or '-', starting and ending with an alphanumeric character`,
    );
  }
  return value;
}

/**
 * A body that is a JSON object whose only possible field is `field`: every write body has that shape, so each says
 * "not an object" and "unknown field" in the same words. `like` is the example the detail shows.
 */
function oneFieldObject(body: unknown, field: string, like: string): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, `the body must be a JSON object like ${like}`);
  }
  const unknown = Object.keys(body).filter((k) => k !== field);
  if (unknown.length > 0) {
    throw new HttpError(400, `unknown field(s) in body: ${unknown.map((k) => `"${truncate(k)}"`).join(", ")}; only "${field}" is accepted`);
  }
  return body as Record<string, unknown>;
}

/** The set image body: exactly `{"image": "<reference>"}` (the reference is checked by validateImageReference). */
export function validateImageBody(body: unknown): string {
  const image = oneFieldObject(body, "image", `{"image": "registry.internal/app:1.3"}`).image;
  if (image === undefined) throw new HttpError(400, `the body is missing the "image" field`);
  if (typeof image !== "string") throw new HttpError(400, `"image" must be a JSON string, got ${image === null ? "null" : typeof image}`);
  return image;
}

/** The undo body: none or `{}` (the previous revision), or `{"toRevision": N}` with N a revision number (≥ 1). */
export function validateUndoBody(body: unknown): number | undefined {
  if (body === undefined) return undefined;
  const to = oneFieldObject(body, "toRevision", `{"toRevision": 2}, or none for the previous revision`).toRevision;
  if (to === undefined) return undefined;
  if (typeof to !== "number" || !Number.isSafeInteger(to) || to < 1) {
    throw new HttpError(
      400,
      `"toRevision" must be a revision number (a whole number ≥ 1, see GET …/revisions), got ${
        JSON.stringify(to)?.slice(0, 40)
      }; leave it out to undo to the previous revision`,
    );
  }
  return to;
}

/** The PUT replicas body: exactly `{"replicas": <integer 0..max>}`. */
export function validateReplicasBody(body: unknown, maxReplicas: number): number {
  const fields = oneFieldObject(body, "replicas", `{"replicas": 3}`);
  if (!Object.hasOwn(fields, "replicas")) throw new HttpError(400, `the body is missing the "replicas" field`);
  const replicas = fields.replicas;
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

/** The distribution spec's limit on an image name (registry and path, without tag or digest). */
const MAX_IMAGE_NAME = 255;
/** Longest reference looked at: a name, a 128-character tag and a sha512 digest fit well within it. */
const MAX_IMAGE_REFERENCE = 512;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const IPV6_HOST = /^\[[0-9A-Fa-f:.]+\]$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-fA-F0-9]{32,}$/;

/**
 * An image reference as the container runtime will parse it (the distribution spec's grammar):
 * `[registry[:port]/]path[:tag][@digest]`, with a tag or a digest required. An untagged image means `:latest`,
 * which moves under you, so setting one would not say what will run. Returns the reference unchanged.
 */
export function validateImageReference(value: string): string {
  const bad = (why: string): never => {
    throw new HttpError(400, `image "${truncate(value)}" is not a valid image reference: ${why}`);
  };
  if (value.length === 0) bad("it is empty");
  if (value.length > MAX_IMAGE_REFERENCE) bad(`it is longer than ${MAX_IMAGE_REFERENCE} characters`);
  if (value !== value.trim() || /\s/.test(value)) bad("it contains whitespace");
  const at = value.indexOf("@");
  const digest = at === -1 ? undefined : value.slice(at + 1);
  const beforeDigest = at === -1 ? value : value.slice(0, at);
  if (digest !== undefined && !DIGEST.test(digest)) {
    bad(`the digest "${truncate(digest)}" must be <algorithm>:<hex>, e.g. sha256: followed by 64 hex digits`);
  }
  if (digest?.startsWith("sha256:") && digest.length !== "sha256:".length + 64) bad("a sha256 digest has exactly 64 hex digits");
  // A tag follows the last ':' after the last '/'; a ':' before a '/' is the registry's port.
  const colon = beforeDigest.lastIndexOf(":");
  const hasTag = colon > beforeDigest.lastIndexOf("/");
  const name = hasTag ? beforeDigest.slice(0, colon) : beforeDigest;
  const tag = hasTag ? beforeDigest.slice(colon + 1) : undefined;
  if (tag !== undefined && !TAG.test(tag)) {
    bad(`the tag "${truncate(tag)}" must be 1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'`);
  }
  if (tag === undefined && digest === undefined) {
    bad(
      `give a tag or a digest (e.g. "${truncate(name)}:1.2.3" or "${
        truncate(name)
      }@sha256:…"): without one it means :latest, which changes under you`,
    );
  }
  if (name.length === 0) bad("the name before the tag or digest is empty");
  if (name.length > MAX_IMAGE_NAME) bad(`the name is longer than ${MAX_IMAGE_NAME} characters`);
  const parts = name.split("/");
  const first = parts[0];
  // As the runtime decides: the first part is a registry when it has a '.' or a ':', is localhost, or has capitals.
  const isRegistry = parts.length > 1 && (/[.:]/.test(first) || first === "localhost" || first !== first.toLowerCase());
  if (isRegistry) {
    const portAt = first.startsWith("[") ? first.indexOf("]:") + 1 : first.lastIndexOf(":");
    const host = portAt > 0 ? first.slice(0, portAt) : first;
    const port = portAt > 0 ? first.slice(portAt + 1) : undefined;
    if (port !== undefined && !/^[0-9]{1,5}$/.test(port)) bad(`the registry port "${truncate(port)}" must be a number`);
    if (!IPV6_HOST.test(host) && !host.split(".").every((c) => DOMAIN_COMPONENT.test(c))) {
      bad(`the registry "${truncate(host)}" is not a valid host name`);
    }
  }
  for (const part of isRegistry ? parts.slice(1) : parts) {
    if (!PATH_COMPONENT.test(part)) {
      bad(
        `the path component "${
          truncate(part)
        }" must be lower-case letters and digits, separated by '.', '_', '__' or '-' (and not start or end with one)`,
      );
    }
  }
  return value;
}
