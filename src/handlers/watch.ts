/**
 * `GET .../deployments?watch=true`: the watch routes (`watch_deployments`, `watch_namespace_deployments`), routes of
 * their own under the URLs of the lists. They check the request, take the slots a stream holds, resume from
 * Last-Event-ID, and hand over to watch_stream.ts, which writes the Server-Sent Events.
 */
import type { Handler, RequestContext } from "../http/mod.ts";
import { HttpError, ineffectiveParameter, validateBooleanQuery, validateQuery } from "../http/mod.ts";
import { isComparableVersion } from "../kube/mod.ts";
import type { Authorizer } from "../authz/mod.ts";
import type { CacheView } from "./cache_view.ts";
import { CONSISTENT_READ_PARAMS } from "./consistent_read.ts";
import { admitLongRequest } from "./long_requests.ts";
import { defaultStreamingDeps, type StreamingDeps } from "./streaming.ts";
import { validateNamespace } from "./validation.ts";
import { openWatchStream } from "./watch_stream.ts";
import { DETAIL_PARAM, wantsDetail } from "./deployment_detail.ts";

/** resourceVersion and resourceVersionMatch are known here only to be refused with a reason (see refuseVersionParams). */
const WATCH_ALL_PARAMS = Object.freeze(["namespace", "watch", DETAIL_PARAM, ...CONSISTENT_READ_PARAMS]);
const WATCH_NAMESPACE_PARAMS = Object.freeze(["watch", DETAIL_PARAM, ...CONSISTENT_READ_PARAMS]);

export interface WatchHandlers {
  /** GET /api/v1/deployments?watch=true[&namespace=]: every namespace the client may read, or one. */
  all: Handler;
  /** GET /api/v1/namespaces/{namespace}/deployments?watch=true */
  namespace: Handler;
}

export function createWatchHandlers(
  { view, authorizer, streaming = defaultStreamingDeps() }: { view: CacheView; authorizer?: Authorizer; streaming?: StreamingDeps },
): WatchHandlers {
  const { cache } = view;

  /**
   * A stream of `scope` (a namespace, or null for every one), once the request has been checked. Events are filtered
   * by the policy in force as each goes out, and a reload that takes away `read` ends the stream (watch_stream.ts).
   */
  const open = (
    request: Request,
    context: RequestContext,
    lastEventId: string | undefined,
    headers: Readonly<Record<string, string>>,
    scope: string | null,
    detail: boolean,
  ) => {
    const client = context.client;
    const readable = () => (client && authorizer ? authorizer.readableNamespaces(client) : "*");
    const readableIn = (ns: string) => {
      const r = readable();
      return r === "*" || r.has(ns);
    };
    const visible = (ns: string) => (scope === null || ns === scope) && readableIn(ns);
    const policy = client && authorizer?.onChange
      ? {
        onChange: (listener: () => void) => authorizer.onChange!(listener),
        stillAllowed: () => {
          if (scope !== null) return readableIn(scope);
          const r = readable();
          return r === "*" || r.size > 0;
        },
        refusal: () =>
          `the policy in force no longer lets CN=${client.cn} read ${
            scope === null ? "in any namespace" : `in namespace "${scope}"`
          }; the stream is closed`,
      }
      : undefined;
    let resume;
    if (lastEventId) {
      const events = cache.changes.since(lastEventId);
      if (!events) {
        throw new HttpError(
          410,
          `Last-Event-ID ${lastEventId} is older than this replica can replay (it keeps the last ${cache.changes.capacity} changes, ` +
            `and none from before its last full list); list again (reconnect without Last-Event-ID)`,
        );
      }
      resume = { after: lastEventId, events };
    }
    const end = admitLongRequest(streaming, context.client, "watch");
    // The request's own slot is given back when the handler returns; the stream holds one of its own until it ends.
    const slot = streaming.concurrency ? streaming.concurrency.tryAcquire() : () => {};
    if (!slot) {
      end("error");
      throw new HttpError(503, `the server is handling its maximum of ${streaming.concurrency!.max} requests; retry shortly`, {
        headers: { "retry-after": "1" },
      });
    }
    return openWatchStream({
      cache,
      deps: streaming,
      visible,
      policy,
      resume,
      detail,
      closed: context.closed,
      release: (reason) => {
        slot();
        end(reason);
      },
      headers,
      heartbeatMs: streaming.heartbeatMs,
      bufferBytes: streaming.bufferBytes,
      budgetBytes: streaming.budgetBytes,
      drainGraceMs: streaming.drainGraceMs,
      instance: new URL(request.url).pathname,
    });
  };

  return {
    all(request, context) {
      const query = checkedQuery(request, WATCH_ALL_PARAMS);
      const lastEventId = validLastEventId(request);
      const namespace = query.get("namespace");
      if (namespace !== null) validateNamespace(namespace);
      const headers = namespace === null ? view.readHeaders() : view.namespace(namespace);
      // The guard has checked ?namespace= already; a stream across namespaces carries only the readable ones.
      return open(request, context, lastEventId, headers, namespace, wantsDetail(query));
    },
    namespace(request, context) {
      const { params } = context;
      const query = checkedQuery(request, WATCH_NAMESPACE_PARAMS);
      const lastEventId = validLastEventId(request);
      validateNamespace(params.namespace);
      return open(request, context, lastEventId, view.namespace(params.namespace), params.namespace, wantsDetail(query));
    },
  };
}

/** The query of a watch: known parameters, each once, watch=true, and no resourceVersion (it has no effect on a watch). */
function checkedQuery(request: Request, allowed: readonly string[]): URLSearchParams {
  const query = validateQuery(request.url, allowed);
  if (!validateBooleanQuery(query, "watch")) throw new Error(`a watch route got a request without watch=true: ${request.url}`);
  for (const name of CONSISTENT_READ_PARAMS) {
    if (query.has(name)) throw ineffectiveParameter(name, "on a watch, which resumes with the Last-Event-ID header");
  }
  return query;
}

/** The Last-Event-ID header of a watch (undefined when absent or empty, as EventSource may send it). */
function validLastEventId(request: Request): string | undefined {
  const value = request.headers.get("last-event-id")?.trim();
  if (!value) return undefined;
  if (!isComparableVersion(value)) {
    throw new HttpError(400, `Last-Event-ID must be an event id this API sent (a resourceVersion), got "${value.slice(0, 40)}"`);
  }
  return value;
}
