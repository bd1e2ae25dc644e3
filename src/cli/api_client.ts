/**
 * The replica-api HTTP API as the CLI uses it: typed calls over an injected
 * fetch (in production bound to a Deno.HttpClient carrying the client
 * certificate). Error statuses become ApiError with the problem+json body;
 * transport failures become ConnectionError with a one-line explanation.
 */
import { apiError } from "./api_error.ts";
import type { Deployment, ImageBody, PauseBody, ReplicasBody, RestartBody, RevisionsBody, UndoBody, Whoami } from "./api_types.ts";
import { CliFailure } from "./errors.ts";
import { connectionError } from "./connection.ts";

export interface ApiAnswer<T> {
  readonly status: number;
  readonly body: T;
  readonly etag?: string;
}

/** What every write takes: If-Match and `?dryRun=true`. */
export interface WriteOptions {
  /** Sent as If-Match, as given (a quoted ETag or *). */
  readonly ifMatch?: string;
  readonly dryRun?: boolean;
}

export interface ScaleOptions extends WriteOptions {
  readonly force?: boolean;
}

export interface ReplicasReadOptions {
  /** Wait up to this long for the rollout (`?wait=rollout&timeout=`). */
  readonly waitRolloutMs?: number;
  /** A resourceVersion the answer must not be older than (`?resourceVersion=&resourceVersionMatch=NotOlderThan`). */
  readonly notOlderThan?: string;
}

export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

export interface ApiClientOptions {
  /** Base URL without trailing slash, e.g. https://localhost:8443. */
  readonly baseUrl: string;
  readonly fetch: Fetch;
  /** How long an ordinary request may take before it is abandoned. */
  readonly requestTimeoutMs?: number;
}

/** Extra time a `?wait=` request gets over its own timeout before the client gives up on it. */
const WAIT_GRACE_MS = 15_000;

export class ApiClient {
  readonly #base: string;
  readonly #fetch: Fetch;
  readonly #timeoutMs: number;

  constructor(options: ApiClientOptions) {
    this.#base = options.baseUrl;
    this.#fetch = options.fetch;
    this.#timeoutMs = options.requestTimeoutMs ?? 30_000;
  }

  async list(namespace?: string): Promise<readonly Deployment[]> {
    const path = namespace === undefined ? "/api/v1/deployments" : `/api/v1/namespaces/${segment(namespace)}/deployments`;
    const answer = await this.#json<{ items?: Deployment[] }>("GET", path);
    if (!Array.isArray(answer.body.items)) throw new CliFailure(`the API answered ${path} without an "items" list`);
    return answer.body.items;
  }

  async get(namespace: string, name: string): Promise<ApiAnswer<Deployment>> {
    return await this.#json<Deployment>("GET", deploymentPath(namespace, name));
  }

  /**
   * GET .../replicas; with `waitRolloutMs` it waits up to that long for the rollout to complete (200) or not (202);
   * with `notOlderThan` (a resourceVersion) the answering replica first catches up with it (504 if it cannot).
   */
  async replicas(namespace: string, name: string, options: ReplicasReadOptions = {}): Promise<ApiAnswer<ReplicasBody>> {
    const { waitRolloutMs, notOlderThan } = options;
    const query: string[] = [];
    if (waitRolloutMs !== undefined) query.push(`wait=rollout&timeout=${Math.max(1, Math.ceil(waitRolloutMs))}ms`);
    if (notOlderThan !== undefined) {
      query.push(`resourceVersion=${encodeURIComponent(notOlderThan)}&resourceVersionMatch=NotOlderThan`);
    }
    const path = `${deploymentPath(namespace, name)}/replicas${query.length ? `?${query.join("&")}` : ""}`;
    return await this.#json<ReplicasBody>("GET", path, {}, waitRolloutMs === undefined ? undefined : waitRolloutMs + WAIT_GRACE_MS);
  }

  async scale(namespace: string, name: string, replicas: number, options: ScaleOptions = {}): Promise<ApiAnswer<ReplicasBody>> {
    return await this.#write<ReplicasBody>("PUT", `${deploymentPath(namespace, name)}/replicas`, options, { replicas });
  }

  /** POST .../restart: kubectl rollout restart (a new restartedAt annotation on the pod template). */
  async restart(namespace: string, name: string, options: WriteOptions = {}): Promise<ApiAnswer<RestartBody>> {
    return await this.#write<RestartBody>("POST", `${deploymentPath(namespace, name)}/restart`, options);
  }

  /** POST .../pause (`paused` true) or .../resume (false): spec.paused. */
  async setPaused(namespace: string, name: string, paused: boolean, options: WriteOptions = {}): Promise<ApiAnswer<PauseBody>> {
    return await this.#write<PauseBody>("POST", `${deploymentPath(namespace, name)}/${paused ? "pause" : "resume"}`, options);
  }

  /** PUT .../containers/{container}/image: kubectl set image for one container. */
  async setImage(
    namespace: string,
    name: string,
    container: string,
    image: string,
    options: WriteOptions = {},
  ): Promise<ApiAnswer<ImageBody>> {
    const path = `${deploymentPath(namespace, name)}/containers/${segment(container)}/image`;
    return await this.#write<ImageBody>("PUT", path, options, { image });
  }

  /** POST .../undo: kubectl rollout undo, to `toRevision` or (undefined) the previous revision. */
  async undo(namespace: string, name: string, toRevision: number | undefined, options: WriteOptions = {}): Promise<ApiAnswer<UndoBody>> {
    const body = toRevision === undefined ? undefined : { toRevision };
    return await this.#write<UndoBody>("POST", `${deploymentPath(namespace, name)}/undo`, options, body);
  }

  /** GET .../revisions: the Deployment's revisions, ascending, from the service's cache. */
  async revisions(namespace: string, name: string): Promise<RevisionsBody> {
    const path = `${deploymentPath(namespace, name)}/revisions`;
    const { body } = await this.#json<RevisionsBody>("GET", path);
    // The printed table reads every entry; -o json shows whatever else the server sent.
    if (!isObject(body) || !Array.isArray(body.revisions) || !body.revisions.every(isObject)) {
      throw new CliFailure(`the API answered GET ${path} without a "revisions" list`);
    }
    return body;
  }

  /** Who the service takes this client certificate for, and what it may do where. */
  async whoami(): Promise<Whoami> {
    const path = "/api/v1/whoami";
    const { body } = await this.#json<Whoami>("GET", path);
    // The printed report reads these; anything else is shown as the server sent it (-o json).
    const missing = !isObject(body)
      ? "a JSON object"
      : !isObject(body.identity) || typeof body.identity.cn !== "string"
      ? "an identity"
      : !isObject(body.namespaces) || !Object.values(body.namespaces).every((p) => Array.isArray(p))
      ? "the namespaces and their permissions"
      : undefined;
    if (missing) throw new CliFailure(`the API answered GET ${path} without ${missing} (is --url a replica-api with whoami?)`);
    return body;
  }

  /**
   * Opens the Deployment event stream. Resolves with the streaming response once the server accepted it
   * (the caller reads and cancels the body); rejects with ApiError (e.g. 410 for an expired Last-Event-ID).
   */
  async watch(namespace: string | undefined, lastEventId: string | undefined, signal: AbortSignal): Promise<Response> {
    const path = namespace === undefined ? "/api/v1/deployments" : `/api/v1/namespaces/${segment(namespace)}/deployments`;
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (lastEventId) headers["last-event-id"] = lastEventId;
    const response = await this.#send("GET", `${path}?watch=true`, { headers, signal });
    if (!response.ok) throw await apiError(response);
    const type = response.headers.get("content-type") ?? "";
    if (!type.startsWith("text/event-stream")) {
      await response.body?.cancel();
      throw new CliFailure(
        `the API answered the watch with ${type || "no content type"}, not an event stream (does it support ?watch=true?)`,
      );
    }
    return response;
  }

  /** A write: `?dryRun=true` (and scale's `force=true`) in the query, If-Match as given, the body as JSON if any. */
  async #write<T>(method: string, path: string, options: ScaleOptions, body?: unknown): Promise<ApiAnswer<T>> {
    const query = new URLSearchParams();
    if (options.dryRun) query.set("dryRun", "true");
    if (options.force) query.set("force", "true");
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (options.ifMatch !== undefined) headers["if-match"] = options.ifMatch;
    const init = { headers, body: body === undefined ? undefined : JSON.stringify(body) };
    return await this.#json<T>(method, `${path}${query.size ? `?${query}` : ""}`, init);
  }

  async #json<T>(method: string, path: string, init: RequestInit = {}, timeoutMs = this.#timeoutMs): Promise<ApiAnswer<T>> {
    const signal = AbortSignal.timeout(timeoutMs);
    const response = await this.#send(method, path, { ...init, signal }, timeoutMs);
    if (!response.ok) throw await apiError(response);
    let text: string;
    try {
      text = await response.text();
    } catch (error) {
      throw connectionError(error, this.#base, timeoutMs);
    }
    let body: T;
    try {
      body = JSON.parse(text);
    } catch {
      throw new CliFailure(`the API answered ${method} ${path} with ${response.status} but a body that is not JSON`);
    }
    return { status: response.status, body, etag: response.headers.get("etag") ?? undefined };
  }

  async #send(method: string, path: string, init: RequestInit, timeoutMs?: number): Promise<Response> {
    try {
      return await this.#fetch(`${this.#base}${path}`, { ...init, method, headers: { accept: "application/json", ...init.headers } });
    } catch (error) {
      throw connectionError(error, this.#base, timeoutMs);
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function segment(value: string): string {
  return encodeURIComponent(value);
}

function deploymentPath(namespace: string, name: string): string {
  return `/api/v1/namespaces/${segment(namespace)}/deployments/${segment(name)}`;
}
