/**
 * The request pipeline around the router: request id, error-to-problem mapping,
 * and the access log. Handlers are awaited inside `try`, so a thrown or
 * rejected handler becomes a problem response and never escapes.
 */
import type { Handler, RequestContext } from "./types.ts";
import type { Router } from "./router.ts";
import type { Logger } from "../observability/logger.ts";
import { problemResponse, toHttpError } from "./problem.ts";
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
  return async (request: Request, context: RequestContext): Promise<Response> => {
    const started = now();
    options.metrics?.started(listener);
    // Honour a caller's id (so a trace spans systems) only when it is harmless to log and echo.
    const incoming = request.headers.get("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : newRequestId();
    let routeName = "unmatched";
    let response: Response;
    const pathname = pathOf(request.url);
    /** Set once the guard let the request through: its scale outcome is audited below. */
    let admitted: GuardedRequest | undefined;
    try {
      const found = router.match(request.method, pathname);
      routeName = found.route.name;
      let release = noop;
      if (options.guard) {
        const guarded: GuardedRequest = {
          method: request.method,
          permission: found.route.permission,
          // The path parameter, else ?namespace= (list_deployments); validated by the handler, checked by the guard first.
          namespace: found.params.namespace ?? new URL(request.url).searchParams.get("namespace") ?? undefined,
          name: found.params.name,
          client: context.client,
          requestId,
        };
        release = options.guard.admit(guarded); // throws 429, 403 or 503
        admitted = guarded;
      }
      try {
        response = await router.handle(request, context, found);
      } finally {
        release();
      }
    } catch (error) {
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
      response = problemResponse(httpError, pathname);
      // The request body may be unread (e.g. 404 on a PUT); release it so the connection is reusable.
      await request.body?.cancel().catch(() => {});
    }
    // Refusals were audited by the guard; this records how an admitted scale ended.
    if (admitted?.permission === "scale") await options.guard!.auditScale(admitted, response);
    response.headers.set("x-request-id", requestId);
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
    options.metrics?.finished(listener, routeName, request.method, response.status, durationMs / 1000);
    return response;
  };
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
