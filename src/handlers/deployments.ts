/** GET handlers for Deployment lists and single Deployments, answered from the cache only. */
import type { Handler } from "../http/mod.ts";
import { emptyResponse, jsonResponse, textResponse } from "../http/mod.ts";
import type { DeploymentRecord } from "../kube/mod.ts";
import { HttpError, noneMatch } from "../http/mod.ts";
import { ineffectiveParameter, validateBooleanQuery, validateQuery } from "../http/mod.ts";
import { validateDeploymentName, validateNamespace } from "./validation.ts";
import type { CacheView } from "./cache_view.ts";
import type { Authorizer } from "../authz/mod.ts";
import type { RequestContext } from "../http/mod.ts";
import { isComparableVersion } from "../kube/mod.ts";
import { awaitResourceVersion, CONSISTENT_READ_PARAMS, minResourceVersion } from "./consistent_read.ts";
import { defaultStreamingDeps, type StreamingDeps } from "./streaming.ts";
import { admitLongRequest } from "./long_requests.ts";
import { openWatchStream } from "./watch_stream.ts";

const encoder = new TextEncoder();

const LIST_ALL_PARAMS = Object.freeze(["namespace", "watch", ...CONSISTENT_READ_PARAMS]);
const LIST_NAMESPACE_PARAMS = Object.freeze(["watch", ...CONSISTENT_READ_PARAMS]);

/** The Last-Event-ID header of a watch (undefined when absent or empty, as EventSource may send it). */
function validLastEventId(request: Request): string | undefined {
  const value = request.headers.get("last-event-id")?.trim();
  if (!value) return undefined;
  if (!isComparableVersion(value)) {
    throw new HttpError(400, `Last-Event-ID must be an event id this API sent (a resourceVersion), got "${value.slice(0, 40)}"`);
  }
  return value;
}

/** Whether the list request asks for a watch; what has no effect on the one it asks for is refused. */
function watchRequested(request: Request, query: URLSearchParams): boolean {
  if (!validateBooleanQuery(query, "watch")) {
    refuseLastEventId(request);
    return false;
  }
  for (const name of CONSISTENT_READ_PARAMS) {
    if (query.has(name)) throw ineffectiveParameter(name, "on a watch, which resumes with the Last-Event-ID header");
  }
  return true;
}

/** A plain list refuses Last-Event-ID: it resumes a watch, and here it would be silently ignored. */
function refuseLastEventId(request: Request): void {
  if (request.headers.get("last-event-id")?.trim()) {
    throw new HttpError(400, "the Last-Event-ID header has no effect without watch=true (it resumes a watch); drop it");
  }
}

export interface DeploymentHandlers {
  listAll: Handler;
  listNamespace: Handler;
  get: Handler;
}

export function createDeploymentHandlers(
  { view, authorizer, streaming = defaultStreamingDeps() }: { view: CacheView; authorizer?: Authorizer; streaming?: StreamingDeps },
): DeploymentHandlers {
  const { cache } = view;

  /** A watch stream over the events of the namespaces `visible` accepts (see watch_stream.ts). */
  const watch = (request: Request, context: RequestContext, visible: (namespace: string) => boolean) => {
    const headers = view.readHeaders();
    const lastEventId = validLastEventId(request);
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
      resume,
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

  /** Answers with `answer()` once the cache has reached the request's NotOlderThan resourceVersion, if it set one. */
  const consistent = (query: URLSearchParams, context: RequestContext, namespace: string | undefined, answer: () => Response) => {
    const min = minResourceVersion(query);
    if (min === undefined) return answer();
    return awaitResourceVersion(cache, min, streaming.writeSyncTimeoutMs, { namespace, signal: context.closed?.() }).then(answer);
  };

  /**
   * The serialised list, kept per list view: the cache hands out the same frozen array until
   * something in it changes, so repeated LISTs skip JSON.stringify (most of a LIST's CPU time,
   * 4 ms for 10,000 Deployments), and its UTF-8 bytes, so they skip encoding 12 KB (100 items) per
   * answer too. Held weakly: a replaced view's body goes with it.
   */
  const listBodies = new WeakMap<readonly DeploymentRecord[], { text: string; bytes: Uint8Array }>();
  const listResponse = (items: readonly DeploymentRecord[], headers: Readonly<Record<string, string>>): Response => {
    let body = listBodies.get(items);
    if (body === undefined) {
      const text = JSON.stringify({ items });
      listBodies.set(items, body = { text, bytes: encoder.encode(text) });
    }
    return textResponse(body.text, "application/json", { headers, bytes: body.bytes });
  };

  return {
    listAll(request, context) {
      const query = validateQuery(request.url, LIST_ALL_PARAMS);
      const isWatch = watchRequested(request, query);
      const namespace = query.get("namespace");
      if (namespace !== null) validateNamespace(namespace);
      // A namespace that does not exist or is not served is 404, so a typo is not an empty list.
      const headers = namespace === null ? view.readHeaders() : view.namespace(namespace);
      // The guard has checked ?namespace= already; a list across namespaces shows only the readable ones.
      const client = context.client;
      const readable = client && authorizer ? authorizer.readableNamespaces(client) : "*";
      if (isWatch) {
        return watch(request, context, (ns) => (namespace === null || ns === namespace) && (readable === "*" || readable.has(ns)));
      }
      const answer = (headers: Readonly<Record<string, string>>) => {
        const items = cache.list(namespace ?? undefined);
        if (readable !== "*") return jsonResponse({ items: items.filter((d) => readable.has(d.namespace)) }, { headers });
        return listResponse(items, headers);
      };
      if (query.size === 0) return answer(headers);
      return consistent(query, context, namespace ?? undefined, () => answer(view.readHeaders()));
    },
    listNamespace(request, context) {
      const { params } = context;
      const query = validateQuery(request.url, LIST_NAMESPACE_PARAMS);
      const isWatch = watchRequested(request, query);
      validateNamespace(params.namespace);
      const headers = view.namespace(params.namespace);
      // The plain list, the hot path: no closure, no parameters to look at.
      if (query.size === 0) return listResponse(cache.list(params.namespace), headers);
      if (isWatch) return watch(request, context, (ns) => ns === params.namespace);
      return consistent(query, context, params.namespace, () => {
        return listResponse(cache.list(params.namespace), view.readHeaders());
      });
    },
    get(request, context) {
      const { params } = context;
      const query = validateQuery(request.url, CONSISTENT_READ_PARAMS);
      validateNamespace(params.namespace);
      validateDeploymentName(params.name);
      const headers = view.namespace(params.namespace);
      const answer = (headers: Readonly<Record<string, string>>) => {
        const record = cache.get(params.namespace, params.name);
        if (!record) throw new HttpError(404, `deployment "${params.namespace}/${params.name}" not found`);
        const etag = `"${record.resourceVersion}"`;
        if (noneMatch(request, record.resourceVersion)) return emptyResponse(304, { ...headers, etag });
        return jsonResponse(record, { headers: { ...headers, etag } });
      };
      if (query.size === 0) return answer(headers);
      return consistent(query, context, params.namespace, () => answer(view.readHeaders()));
    },
  };
}
