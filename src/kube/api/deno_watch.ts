/**
 * A Kubernetes watch on Deno's own fetch, used instead of client-node's Watch.
 *
 * Why: client-node's Watch reads the stream through undici's fetch, and in
 * Deno 2.9.6 that response body neither ends nor errors when kube-apiserver is
 * SIGKILLed (or OOM-killed), and aborting it does not release it either; the
 * informer then trusts a dead watch until the reflector's stall watchdog gives
 * up on it, a minute and a half later. Deno's fetch fails the body read as soon
 * as the connection closes, so the reflector marks itself disconnected (and
 * readiness turns 503) at once, and abort() really closes the connection.
 *
 * It behaves like client-node's Watch towards ListWatch: the same URL and query,
 * callback(type, object, rawEvent) per event, done(err) exactly once (null when
 * the server ended the stream, an error carrying `statusCode` for a non-2xx
 * answer, a "TimeoutError" after idleTimeoutMs without data, the abort reason
 * after abort()), and for a failed request done() is called before watch()
 * resolves. Unlike it, a corrupt line ends the watch with an error instead of
 * being skipped, and an exception thrown by the callback ends it too.
 *
 * Each watch gets its own Deno.HttpClient, closed when the watch ends: a watch
 * holds its HTTP/1.1 connection for its whole life anyway, and credentials are
 * resolved per watch, so a rotated token or client certificate applies to the
 * next watch without any client to invalidate. HTTP/2 is disabled, as for
 * client-node (see http1_only.ts): one watch per connection, and no GOAWAY.
 *
 * Two differences from client-node's requests remain, as Deno.createHttpClient
 * has no option for them: the kubeconfig's CA is trusted in addition to Deno's
 * built-in roots rather than instead of them, and HTTPS_PROXY / NO_PROXY from
 * the environment apply (the README tells operators).
 */
import { KubeApiError } from "./kube_api_error.ts";
import type { WatchLike } from "./watch.ts";
import { watchEvents } from "./watch_event_stream.ts";

/** What one watch request needs from the kubeconfig; see fetch_credentials.ts. */
export interface FetchCredentials {
  /** The API server's base URL as the kubeconfig gives it (it may carry a path prefix). */
  readonly server: string;
  /** Authorization and impersonation headers. */
  readonly headers: Readonly<Record<string, string>>;
  /** PEM CA certificates to verify the API server with (Deno trusts them in addition to its default roots). */
  readonly caCerts?: readonly string[];
  /** PEM client certificate chain and key, for client-certificate authentication. */
  readonly cert?: string;
  readonly key?: string;
}

/**
 * A Deno HTTP client for these credentials, HTTP/1.1 only (see above and kube_requests.ts). Every request to the
 * API server (watches, lists, writes, heartbeats) is made on one, so the TLS and protocol settings live here once.
 */
export function http1Client(credentials: FetchCredentials): Deno.HttpClient {
  return Deno.createHttpClient({
    caCerts: credentials.caCerts ? [...credentials.caCerts] : undefined,
    ...(credentials.cert && credentials.key ? { cert: credentials.cert, key: credentials.key } : {}),
    http1: true,
    http2: false,
  });
}

export interface DenoWatchOptions {
  /** Called for every watch request, so rotated credentials are picked up (it may run exec plugins). */
  credentials: () => Promise<FetchCredentials>;
  /**
   * A watch that receives nothing for this long (response headers included) is aborted and ends with a
   * "TimeoutError", as with client-node's Watch.requestTimeoutMs; it must outlast the server-side timeout.
   */
  idleTimeoutMs: number;
}

/** The API server answered the watch request with a non-2xx status. */
export class WatchHttpError extends KubeApiError {
  constructor(status: number, message: string, reason?: string, retryAfterSeconds?: number) {
    super(status, message, reason, retryAfterSeconds);
    this.name = "WatchHttpError";
  }

  /** Named as on client-node's Watch errors: ListWatch relists on statusCode 410, and the reflector reads it. */
  get statusCode(): number {
    return this.status;
  }
}

type Callback = Parameters<WatchLike["watch"]>[2];
type Done = Parameters<WatchLike["watch"]>[3];

/** Most Status bodies are a few hundred bytes; more is not worth keeping for an error message. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
/** How much of an error body that is not a Status goes into the error message. */
const MAX_ERROR_TEXT = 300;

export function createDenoWatch(options: DenoWatchOptions): WatchLike {
  return {
    watch: (path, queryParams, callback, done) => openWatch(options, path, queryParams, callback, done),
  };
}

async function openWatch(
  options: DenoWatchOptions,
  path: string,
  queryParams: Record<string, string | number | boolean | undefined>,
  callback: Callback,
  done: Done,
): Promise<AbortController> {
  // Failures here reject, as client-node's Watch does when authentication fails: there is no request to report on.
  const credentials = await options.credentials();
  const url = new URL(credentials.server + path);
  url.searchParams.set("watch", "true");
  for (const [key, value] of Object.entries(queryParams)) {
    if (value !== undefined) url.searchParams.set(key, String(value));
  }
  const client = http1Client(credentials);

  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  const restartIdleTimer = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort(timeoutError());
    }, options.idleTimeoutMs);
  };
  let finished = false;
  const finish = (error: unknown) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    // Releases the connection if it is still open (a non-2xx answer, or a failed request) before the client goes.
    controller.abort();
    client.close();
    done(error);
  };
  // Our own timeout aborts the request; report it as the timeout it is, not as the abort it causes.
  const orTimeout = (error: unknown) => error && timedOut ? timeoutError() : error;

  restartIdleTimer();
  let response: Response;
  try {
    // A watch is never redirected; following one would carry the credentials to wherever it points.
    response = await fetch(url, { headers: { ...credentials.headers }, client, signal: controller.signal, redirect: "manual" });
  } catch (error) {
    finish(orTimeout(error));
    return controller;
  }
  if (!response.ok) {
    finish(await statusError(response));
    return controller;
  }
  restartIdleTimer();
  pump(response.body, restartIdleTimer, callback).then((error) => finish(orTimeout(error)));
  return controller;
}

/** Delivers every event; resolves with null when the server ended the stream, or with the error that ended it. */
async function pump(body: ReadableStream<Uint8Array> | null, onData: () => void, callback: Callback): Promise<unknown> {
  if (!body) return null;
  async function* chunks() {
    for await (const chunk of body!) {
      onData();
      yield chunk;
    }
  }
  try {
    for await (const event of watchEvents(chunks())) callback(event.type, event.object, event.raw);
    return null;
  } catch (error) {
    return error;
  }
}

/** The error for a non-2xx answer, with the message and reason of the Status object the API server sends. */
async function statusError(response: Response): Promise<WatchHttpError> {
  const status = await readApiStatus(response);
  return new WatchHttpError(
    response.status,
    (status.message ?? (status.text || response.statusText)) || `HTTP ${response.status}`,
    status.reason,
    status.retryAfterSeconds,
  );
}

/** What a non-2xx answer from the API server says, for its error (see {@link readApiStatus}). */
export interface ApiStatus {
  /** The Status object's message, when the body is one. */
  readonly message?: string;
  /** The start of the body as text (trimmed, at most 300 characters), for answers that are not a Status. */
  readonly text: string;
  readonly reason?: string;
  /** Retry-After in seconds, when the answer has a positive one. */
  readonly retryAfterSeconds?: number;
}

/**
 * Reads a non-2xx answer: at most 64 KiB of its body (an error body is never worth more memory), parsed as the
 * Status object the API server sends, and its Retry-After. One reading for the watch and for every other request.
 */
export async function readApiStatus(response: Response): Promise<ApiStatus> {
  let status: { message?: unknown; reason?: unknown } = {};
  let text = "";
  try {
    text = await readText(response.body, MAX_ERROR_BODY_BYTES);
    status = JSON.parse(text);
  } catch {
    // The status code is the error; a body that cannot be read or parsed only costs the detail.
  }
  const retryAfter = Number(response.headers.get("retry-after"));
  return {
    message: typeof status?.message === "string" ? status.message : undefined,
    text: text.trim().slice(0, MAX_ERROR_TEXT),
    reason: typeof status?.reason === "string" ? status.reason : undefined,
    retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
  };
}

async function readText(body: ReadableStream<Uint8Array> | null, limit: number): Promise<string> {
  if (!body) return "";
  const reader = body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel();
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const part of parts) {
    bytes.set(part, offset);
    offset += part.length;
  }
  return new TextDecoder().decode(bytes.subarray(0, limit));
}

/** The error client-node's Watch reports after its inactivity timeout; the reflector reconnects on it at once. */
function timeoutError(): DOMException {
  return new DOMException("The operation was aborted due to timeout", "TimeoutError");
}
