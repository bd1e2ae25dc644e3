// @ts-check
/**
 * The API client: the only module that calls fetch. Every answer is `{ status, body, etag }`; a problem+json body
 * stays the body, so callers decide what each status means.
 * @module
 */

/** @typedef {import("./types.js").Op} Op */
/** @typedef {{ status: number, body: any, etag: string | null }} Answer */

export const API = "/api/v1";

/** The path of a Deployment. @param {string} namespace @param {string} name */
export function deploymentPath(namespace, name) {
  return `${API}/namespaces/${encodeURIComponent(namespace)}/deployments/${encodeURIComponent(name)}`;
}

/**
 * @param {string} url
 * @param {RequestInit} [init]
 * @returns {Promise<Answer>}
 */
export async function call(url, init = {}) {
  /** @type {Response} */
  let response;
  try {
    response = await fetch(url, { ...init, credentials: "same-origin", cache: "no-store" });
  } catch (cause) {
    return { status: 0, body: { status: 0, title: "Network error", detail: String(cause) }, etag: null };
  }
  const type = response.headers.get("content-type") ?? "";
  const text = await response.text();
  /** @type {any} */
  let body = text;
  if (type.includes("json") && text !== "") {
    try {
      body = JSON.parse(text);
    } catch {
      body = { status: response.status, title: "Unreadable answer", detail: text.slice(0, 200) };
    }
  }
  return { status: response.status, body, etag: response.headers.get("etag") };
}

/**
 * What one write sends: method, path, query and body. `commands.js` renders the same value as CLI and curl lines.
 * @typedef {{ op: Op, namespace: string, name: string, replicas?: number, force?: boolean, container?: string,
 *   image?: string, toRevision?: number, ifMatch?: string, dryRun?: boolean, wait?: boolean }} WriteSpec
 */

/**
 * @param {WriteSpec} spec
 * @returns {{ method: "PUT" | "POST", path: string, query: URLSearchParams, body: object | undefined }}
 */
export function writeRequest(spec) {
  const base = deploymentPath(spec.namespace, spec.name);
  const query = new URLSearchParams();
  if (spec.op === "scale" && spec.force) query.set("force", "true");
  if (spec.dryRun) query.set("dryRun", "true");
  else if (spec.wait && spec.op !== "pause") query.set("wait", "rollout");
  switch (spec.op) {
    case "scale":
      return { method: "PUT", path: `${base}/replicas`, query, body: { replicas: spec.replicas ?? 0 } };
    case "image":
      return {
        method: "PUT",
        path: `${base}/containers/${encodeURIComponent(spec.container ?? "")}/image`,
        query,
        body: { image: spec.image ?? "" },
      };
    case "undo":
      return { method: "POST", path: `${base}/undo`, query, body: spec.toRevision ? { toRevision: spec.toRevision } : undefined };
    default:
      return { method: "POST", path: `${base}/${spec.op}`, query, body: undefined };
  }
}

/** Sends a write; `signal` stops waiting for its answer. @param {WriteSpec} spec @param {AbortSignal} [signal] */
export function write(spec, signal) {
  const r = writeRequest(spec);
  /** @type {Record<string, string>} */
  const headers = { accept: "application/json" };
  if (r.body !== undefined) headers["content-type"] = "application/json";
  if (spec.ifMatch) headers["if-match"] = spec.ifMatch;
  const qs = r.query.toString();
  return call(qs ? `${r.path}?${qs}` : r.path, {
    method: r.method,
    headers,
    body: r.body === undefined ? undefined : JSON.stringify(r.body),
    signal,
  });
}

/** index.html preloads it: the same URL, mode and credentials take the preloaded answer (cache mode does not matter). */
export const whoami = () => call(`${API}/whoami`);
export const health = () => call(`${API}/health`);

/** The Deployment as it is now, with its ETag; the detailed view when the server offers it. */
export async function deployment(/** @type {string} */ namespace, /** @type {string} */ name) {
  const detailed = await call(`${deploymentPath(namespace, name)}?detail=true`);
  return detailed.status === 400 ? call(deploymentPath(namespace, name)) : detailed;
}

export const replicas = (/** @type {string} */ ns, /** @type {string} */ name) => call(`${deploymentPath(ns, name)}/replicas`);
export const revisions = (/** @type {string} */ ns, /** @type {string} */ name) => call(`${deploymentPath(ns, name)}/revisions`);
export const history = (/** @type {string} */ ns, /** @type {string} */ name) => call(`${deploymentPath(ns, name)}/history`);

/** A problem's one-line text. @param {any} body @param {number} status */
export function problemText(body, status) {
  if (body && typeof body === "object") {
    const title = body.title ?? `HTTP ${status}`;
    return body.detail ? `${title}: ${body.detail}` : title;
  }
  return status === 0 ? "The service cannot be reached" : `HTTP ${status}${body ? `: ${String(body).slice(0, 200)}` : ""}`;
}
