/**
 * The request pipeline around the router: request id, error-to-problem mapping,
 * and the access log. A thrown error and a rejected handler promise both become
 * a problem response and never escape. A handler that answers synchronously
 * (every cached read) is not awaited at all: the pipeline then returns a
 * `Response`, not a promise, which the listener writes at once.
 */
import type { Handler, RequestContext } from "./types.ts";
import type { Router } from "./router.ts";
import type { Logger } from "../observability/mod.ts";
import { problemResponse, toHttpError } from "./problem.ts";
import { setResponseHeader } from "./response.ts";
import type { HttpMetrics } from "../observability/mod.ts";
import type { AdmissionEnd, GuardedRequest, RequestGuard } from "./guard.ts";
import { crossOriginRefusal } from "./cross_origin.ts";
import { HttpError } from "./http_error.ts";

export interface AppOptions {
  router: Router;
  log: Logger;
  /** One info line per request. */
  accessLog: boolean;
  /** Listener name for metrics ("api" or "probe"). */
  listener?: string;
  /** Request metrics (in flight, count and duration by route). */
  metrics?: HttpMetrics;
  /** Rate limits, authorization, concurrency cap and audit (mTLS listener only). */
  guard?: RequestGuard;
  /** Header fields set on every response (the mTLS listener's security headers, http/security_headers.ts). */
  responseHeaders?: Readonly<Record<string, string>>;
  /**
   * Refuse state-changing requests a browser sends on another site's behalf (http/cross_origin.ts), before routing
   * and authorization; `refused` counts and logs each. Off when undefined (the probe listener has no writes).
   */
  crossOrigin?: { refused(reason: string, request: Request): void };
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number;
  /** Request id source; injectable for tests. */
  newRequestId?: () => string;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const noop = () => {};

export function createApp(options: AppOptions): Handler {
  const { router, log } = options;
  const now = options.now ?? (() => performance.now());
  const newRequestId = options.newRequestId ?? (() => crypto.randomUUID());

  const listener = options.listener ?? "api";
  const guard = options.guard;
  const metrics = options.metrics;
  const crossOrigin = options.crossOrigin;
  const extraHeaders = Object.entries(options.responseHeaders ?? {});

  /** Turns a failure into its problem response; logs server-side failures with their cause. */
  const problemFor = (x: Exchange, error: unknown): Response | Promise<Response> => {
    const httpError = toHttpError(error);
    if (httpError.status >= 500) {
      log.error("request failed", {
        requestId: x.requestId,
        method: x.request.method,
        path: x.pathname,
        status: httpError.status,
        error: httpError.cause ?? httpError,
      });
    }
    const response = problemResponse(httpError, x.pathname);
    // The request body may be unread (e.g. 404 on a PUT); release it so the connection is reusable.
    const body = x.request.body;
    if (body === null) return response;
    return body.cancel().then(() => response, () => response);
  };

  /** Everything after the handler: audit, request id, access log, metrics. */
  const finish = (x: Exchange, response: Response): Response | Promise<Response> => {
    const ended = x.end(response);
    return ended instanceof Promise ? ended.then(() => complete(x, response)) : complete(x, response);
  };

  const complete = (x: Exchange, response: Response): Response => {
    setResponseHeader(response, "x-request-id", x.requestId);
    for (const [name, value] of extraHeaders) setResponseHeader(response, name, value);
    const durationMs = now() - x.started;
    const method = x.request.method;
    if (options.accessLog) {
      log.info("request", {
        requestId: x.requestId,
        method,
        route: x.routeName,
        path: x.pathname,
        status: response.status,
        durationMs: Math.round(durationMs * 1000) / 1000,
        clientCN: x.context.client?.cn,
        remoteAddr: x.context.remoteAddr,
      });
    }
    metrics?.finished(listener, x.routeName, method, response.status, durationMs / 1000);
    return response;
  };

  const fail = (x: Exchange, error: unknown): Response | Promise<Response> => {
    const problem = problemFor(x, error);
    return problem instanceof Promise ? problem.then((response) => finish(x, response)) : finish(x, problem);
  };

  // One state object per request and functions defined once: closures per request measurably cost on the read path.
  return (request: Request, context: RequestContext): Response | Promise<Response> => {
    const started = now();
    metrics?.started(listener);
    // Honour a caller's id (so a trace spans systems) only when it is harmless to log and echo.
    const incoming = request.headers.get("x-request-id");
    const x: Exchange = {
      request,
      context,
      started,
      requestId: incoming && REQUEST_ID.test(incoming) ? incoming : newRequestId(),
      pathname: pathOf(request.url),
      routeName: "unmatched",
      end: noop,
    };
    let result: Response | Promise<Response>;
    try {
      if (crossOrigin) {
        const refusal = crossOriginRefusal(request);
        if (refusal) {
          crossOrigin.refused(refusal.reason, request);
          throw new HttpError(403, refusal.detail);
        }
      }
      // With the URL, so a mode chosen by the query (a watch, a rollout wait) is counted and logged under its own route.
      const found = router.match(request.method, x.pathname, request.url);
      x.routeName = found.route.name;
      if (guard) {
        const guarded: GuardedRequest = {
          method: request.method,
          route: found.route.name,
          permission: found.route.permission,
          // The path parameter, else ?namespace= (list_deployments, watch_deployments); validated by the handler, checked by the guard first.
          namespace: found.params.namespace ?? queryNamespace(request.url),
          name: found.params.name,
          client: context.client,
          requestId: x.requestId,
          url: request.url,
        };
        x.end = guard.admit(guarded); // throws 429, 403 or 503
      }
      result = router.handle(request, context, found);
    } catch (error) {
      return fail(x, error);
    }
    // A cached read stays synchronous all the way: every await costs microtasks and async-context bookkeeping.
    if (!(result instanceof Promise)) return finish(x, result);
    return result.then((response) => finish(x, response), (error) => fail(x, error));
  };
}

/** What the pipeline knows about one request while it is being handled. */
interface Exchange {
  readonly request: Request;
  readonly context: RequestContext;
  readonly started: number;
  readonly requestId: string;
  readonly pathname: string;
  routeName: string;
  /** The guard's admission end (gives back its slot, audits a write's outcome); called exactly once, in finish(). */
  end: AdmissionEnd;
}

/** `?namespace=` of a request URL, without parsing URLs that have no query. */
function queryNamespace(url: string): string | undefined {
  if (!url.includes("?")) return undefined;
  return new URL(url).searchParams.get("namespace") ?? undefined;
}

function pathOf(url: string): string {
  // Cheaper than new URL() on the hot path; the listener already built a well-formed URL.
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const q = url.indexOf("?", start);
  const h = url.indexOf("#", start);
  const end = q === -1 ? (h === -1 ? url.length : h) : q;
  return url.slice(start, end);
}
