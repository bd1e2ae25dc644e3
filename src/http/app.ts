/**
 * The request pipeline around the router: request id, error-to-problem mapping,
 * and the access log. A thrown error and a rejected handler promise both become
 * a problem response and never escape. A handler that answers synchronously
 * (every cached read) is not awaited at all: the pipeline then returns a
 * `Response`, not a promise, which the listener writes at once.
 */
import type { Handler, RequestContext } from "./types.ts";
import type { Router } from "./router.ts";
import type { Logger } from "../observability/logger.ts";
import { problemResponse, toHttpError } from "./problem.ts";
import { setResponseHeader } from "./response.ts";
import type { HttpMetrics } from "../observability/service_metrics.ts";
import type { GuardedRequest, RequestGuard } from "../authz/request_guard.ts";

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

  /** Turns a failure into its problem response; logs server-side failures with their cause. */
  const failed = (request: Request, requestId: string, pathname: string, error: unknown): Response | Promise<Response> => {
    const httpError = toHttpError(error);
    if (httpError.status >= 500) {
      log.error("request failed", {
        requestId,
        method: request.method,
        path: pathname,
        status: httpError.status,
        error: httpError.cause ?? httpError,
      });
    }
    const response = problemResponse(httpError, pathname);
    // The request body may be unread (e.g. 404 on a PUT); release it so the connection is reusable.
    if (request.body === null) return response;
    return request.body.cancel().then(() => response, () => response);
  };

  return (request: Request, context: RequestContext): Response | Promise<Response> => {
    const started = now();
    metrics?.started(listener);
    // Honour a caller's id (so a trace spans systems) only when it is harmless to log and echo.
    const incoming = request.headers.get("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : newRequestId();
    let routeName = "unmatched";
    const pathname = pathOf(request.url);
    /** Set once the guard let the request through: its scale outcome is audited below. */
    let admitted: GuardedRequest | undefined;
    let release = noop;

    /** Everything after the handler: audit, request id, access log, metrics. */
    const finish = (response: Response): Response | Promise<Response> => {
      // Refusals were audited by the guard; this records how an admitted scale ended.
      if (admitted?.permission === "scale") return guard!.auditScale(admitted, response).then(() => complete(response));
      return complete(response);
    };
    const complete = (response: Response): Response => {
      setResponseHeader(response, "x-request-id", requestId);
      const durationMs = now() - started;
      if (options.accessLog) {
        log.info("request", {
          requestId,
          method: request.method,
          route: routeName,
          path: pathname,
          status: response.status,
          durationMs: Math.round(durationMs * 1000) / 1000,
          clientCN: context.client?.cn,
          remoteAddr: context.remoteAddr,
        });
      }
      metrics?.finished(listener, routeName, request.method, response.status, durationMs / 1000);
      return response;
    };
    const settle = (result: Response | Promise<Response>): Response | Promise<Response> =>
      result instanceof Promise ? result.then(finish) : finish(result);

    let result: Response | Promise<Response>;
    try {
      const found = router.match(request.method, pathname);
      routeName = found.route.name;
      if (guard) {
        const guarded: GuardedRequest = {
          method: request.method,
          permission: found.route.permission,
          // The path parameter, else ?namespace= (list_deployments); validated by the handler, checked by the guard first.
          namespace: found.params.namespace ?? queryNamespace(request.url),
          name: found.params.name,
          client: context.client,
          requestId,
        };
        release = guard.admit(guarded); // throws 429, 403 or 503
        admitted = guarded;
      }
      result = router.handle(request, context, found);
    } catch (error) {
      release();
      return settle(failed(request, requestId, pathname, error));
    }
    // A cached read stays synchronous all the way: every await costs microtasks and async-context bookkeeping.
    if (!(result instanceof Promise)) {
      release();
      return finish(result);
    }
    return result.then(
      (response) => {
        release();
        return finish(response);
      },
      (error) => {
        release();
        return settle(failed(request, requestId, pathname, error));
      },
    );
  };
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
