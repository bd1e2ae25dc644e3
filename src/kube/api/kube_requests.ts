/**
 * Plain (non-watch) requests to the API server on Deno's fetch: the lists, the scale subresource and the Event
 * create, with a deadline, one metric per request, and every failure as a KubeApiError carrying the status and
 * the message of the API server's Status body.
 *
 * Why not client-node's API classes: they live in its generated API, which cost ~35 MB of RSS (kubeconfig.ts).
 * The requests are four small JSON calls.
 *
 * HTTP/1.1 only, as the watch (deno_watch.ts): kube-apiserver's graceful shutdown sends HTTP/2 GOAWAY, which
 * aborted Deno 2.9.6 through its nghttp2 binding (exit 134) when client-node's undici negotiated HTTP/2. One
 * Deno.HttpClient is kept while the kubeconfig's CA, client certificate and key stay the same (its keep-alive
 * connections are reused); when they change (rotated files, exec plugins) the next request gets a new client and
 * the old one is closed once requests on it had their time.
 */
import { type FetchCredentials, http1Client, readApiStatus } from "./deno_watch.ts";
import { KubeApiError } from "./kube_api_error.ts";

export interface KubeRequestOptions {
  /** Resolved before every request, so rotated tokens and certificates apply (see fetch_credentials.ts). */
  credentials: () => Promise<FetchCredentials>;
  /** Records each request: verb, status ("200", "404", "error"…) and seconds. */
  observe: (verb: string, status: string, seconds: number) => void;
}

export interface KubeRequest {
  /** For metrics: "list", "get", "patch", "create". */
  verb: string;
  method: "GET" | "PATCH" | "POST";
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  contentType?: string;
  timeoutMs: number;
}

// deno-lint-ignore no-explicit-any
export type KubeRequester = <T = any>(request: KubeRequest) => Promise<T>;

export function createKubeRequester(options: KubeRequestOptions): KubeRequester {
  let current: { key: string; client: Deno.HttpClient } | undefined;
  const clientFor = (credentials: FetchCredentials, timeoutMs: number): Deno.HttpClient => {
    const key = JSON.stringify([credentials.caCerts, credentials.cert, credentials.key]);
    if (current?.key === key) return current.client;
    const previous = current;
    current = {
      key,
      client: http1Client(credentials),
    };
    // Requests still running on the old client end within their deadline.
    if (previous) setTimeout(() => previous.client.close(), timeoutMs + 1000);
    return current.client;
  };

  return async <T>(request: KubeRequest): Promise<T> => {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    const signal = AbortSignal.timeout(request.timeoutMs);
    try {
      const credentials = await options.credentials();
      const url = new URL(credentials.server + request.path);
      for (const [name, value] of Object.entries(request.query ?? {})) {
        if (value !== undefined) url.searchParams.set(name, String(value));
      }
      const headers: Record<string, string> = { ...credentials.headers, Accept: "application/json" };
      if (request.body !== undefined) headers["Content-Type"] = request.contentType ?? "application/json";
      const response = await fetch(url, {
        method: request.method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        client: clientFor(credentials, request.timeoutMs),
        signal,
        // Never follow a redirect with the credentials.
        redirect: "manual",
      });
      if (!response.ok) throw await statusError(response);
      const result = await response.json() as T;
      options.observe(request.verb, "200", seconds());
      return result;
    } catch (error) {
      const kubeError = toKubeApiError(error, signal, request.timeoutMs);
      options.observe(request.verb, kubeError.status ? String(kubeError.status) : "error", seconds());
      throw kubeError;
    }
  };
}

/** A non-2xx answer: the status, and the message and reason of the Status object the API server sends. */
async function statusError(response: Response): Promise<KubeApiError> {
  const status = await readApiStatus(response);
  return new KubeApiError(
    response.status,
    (status.message ?? status.text) || `HTTP ${response.status}`,
    status.reason,
    status.retryAfterSeconds,
  );
}

/** Every failure as a KubeApiError: 504 when our deadline passed, 0 when the API server could not be reached. */
function toKubeApiError(error: unknown, signal: AbortSignal, timeoutMs: number): KubeApiError {
  if (error instanceof KubeApiError) return error;
  if (signal.aborted) return new KubeApiError(504, `no answer within ${timeoutMs} ms`, undefined, undefined, { cause: error });
  // fetch failures: connection refused, DNS, TLS verification, reset; the cause names the system error.
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  const detail = [e?.message, e?.cause?.code ?? e?.cause?.message].filter(Boolean).join(": ");
  return new KubeApiError(0, detail || String(error), undefined, undefined, { cause: error });
}
