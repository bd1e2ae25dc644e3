/** GET handlers for Deployment lists and single Deployments, answered from the cache only (watches: watch.ts). */
import type { Handler } from "../http/mod.ts";
import { emptyResponse, jsonResponse, textResponse } from "../http/mod.ts";
import type { DeploymentRecord } from "../kube/mod.ts";
import { HttpError, noneMatch } from "../http/mod.ts";
import { validateBooleanQuery, validateQuery } from "../http/mod.ts";
import { validateDeploymentName, validateNamespace } from "./validation.ts";
import type { CacheView } from "./cache_view.ts";
import type { Authorizer } from "../authz/mod.ts";
import type { RequestContext } from "../http/mod.ts";
import { awaitResourceVersion, CONSISTENT_READ_PARAMS, minResourceVersion } from "./consistent_read.ts";
import { defaultStreamingDeps, type StreamingDeps } from "./streaming.ts";
import { DETAIL_PARAM, detailBody, wantsDetail } from "./deployment_detail.ts";

const encoder = new TextEncoder();

/** The header naming the change-feed position (resourceVersion) a list shows: a watch resumes after it. */
export const POSITION_HEADER = "x-resource-version";

/** watch is known only as false here (watch=true is the watch route's, see watch.ts). */
const LIST_ALL_PARAMS = Object.freeze(["namespace", "watch", DETAIL_PARAM, ...CONSISTENT_READ_PARAMS]);
const LIST_NAMESPACE_PARAMS = Object.freeze(["watch", DETAIL_PARAM, ...CONSISTENT_READ_PARAMS]);
const GET_PARAMS = Object.freeze([DETAIL_PARAM, ...CONSISTENT_READ_PARAMS]);

/** The query of a plain list: known parameters, each once, watch (if given) false, and no Last-Event-ID. */
function listQuery(request: Request, allowed: readonly string[]): URLSearchParams {
  const query = validateQuery(request.url, allowed);
  if (validateBooleanQuery(query, "watch")) throw new Error(`a list route got a request with watch=true: ${request.url}`);
  // Last-Event-ID resumes a watch; on a list it would be silently ignored.
  if (request.headers.get("last-event-id")?.trim()) {
    throw new HttpError(400, "the Last-Event-ID header has no effect without watch=true (it resumes a watch); drop it");
  }
  return query;
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

  /** Answers with `answer()` once the cache has reached the NotOlderThan resourceVersion `min`, if the request set one. */
  const consistent = (min: string | undefined, context: RequestContext, namespace: string | undefined, answer: () => Response) => {
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
  /**
   * The same for detailed lists. A Deployment's rollout progress changes only together with its record (one
   * upsert replaces both), and a changed record gives a new list array, so the array still identifies the body.
   */
  const detailBodies = new WeakMap<readonly DeploymentRecord[], { text: string; bytes: Uint8Array }>();
  const listResponse = (items: readonly DeploymentRecord[], headers: Readonly<Record<string, string>>, detail = false): Response => {
    const bodies = detail ? detailBodies : listBodies;
    let body = bodies.get(items);
    if (body === undefined) {
      const text = JSON.stringify({ items: detail ? detailed(items) : items });
      bodies.set(items, body = { text, bytes: encoder.encode(text) });
    }
    return textResponse(body.text, "application/json", { headers: withPosition(headers), bytes: body.bytes });
  };
  /**
   * A list says which change-feed position it shows (X-Resource-Version), so a client can list and then watch from
   * exactly there (Last-Event-ID), missing nothing and replaying nothing. Read in the same turn as the list: no change
   * can fall between the two. It is a header, not a body field, because the cached body stays the same while other
   * namespaces (or bookmarks) move the position on.
   */
  const withPosition = (headers: Readonly<Record<string, string>>): Readonly<Record<string, string>> => {
    const head = cache.changes.head;
    return head === undefined ? headers : { ...headers, [POSITION_HEADER]: head };
  };
  const detailed = (items: readonly DeploymentRecord[]) => items.map((d) => detailBody(d, cache.rollout(d.namespace, d.name)));

  return {
    listAll(request, context) {
      const query = listQuery(request, LIST_ALL_PARAMS);
      const min = minResourceVersion(query);
      const detail = wantsDetail(query);
      const namespace = query.get("namespace");
      if (namespace !== null) validateNamespace(namespace);
      // A namespace that does not exist or is not served is 404, so a typo is not an empty list.
      const headers = namespace === null ? view.readHeaders() : view.namespace(namespace);
      // The guard has checked ?namespace= already; a list across namespaces shows only the readable ones.
      const client = context.client;
      const readable = client && authorizer ? authorizer.readableNamespaces(client) : "*";
      const answer = (headers: Readonly<Record<string, string>>) => {
        const items = cache.list(namespace ?? undefined);
        if (readable !== "*") {
          const visible = items.filter((d) => readable.has(d.namespace));
          return jsonResponse({ items: detail ? detailed(visible) : visible }, { headers: withPosition(headers) });
        }
        return listResponse(items, headers, detail);
      };
      if (query.size === 0) return answer(headers);
      return consistent(min, context, namespace ?? undefined, () => answer(view.readHeaders()));
    },
    listNamespace(request, context) {
      const { params } = context;
      const query = listQuery(request, LIST_NAMESPACE_PARAMS);
      validateNamespace(params.namespace);
      // The plain list, the hot path: no closure, no parameters to look at.
      if (query.size === 0) return listResponse(cache.list(params.namespace), view.namespace(params.namespace));
      const min = minResourceVersion(query);
      const detail = wantsDetail(query);
      const headers = view.namespace(params.namespace);
      if (min === undefined) return listResponse(cache.list(params.namespace), headers, detail);
      return consistent(min, context, params.namespace, () => {
        return listResponse(cache.list(params.namespace), view.readHeaders(), detail);
      });
    },
    get(request, context) {
      const { params } = context;
      const query = validateQuery(request.url, GET_PARAMS);
      const min = minResourceVersion(query);
      const detail = wantsDetail(query);
      validateNamespace(params.namespace);
      validateDeploymentName(params.name);
      const headers = view.namespace(params.namespace);
      const answer = (headers: Readonly<Record<string, string>>) => {
        const record = cache.get(params.namespace, params.name);
        if (!record) throw new HttpError(404, `deployment "${params.namespace}/${params.name}" not found`);
        const etag = `"${record.resourceVersion}"`;
        if (noneMatch(request, record.resourceVersion)) return emptyResponse(304, { ...headers, etag });
        const body = detail ? detailBody(record, cache.rollout(params.namespace, params.name)) : record;
        return jsonResponse(body, { headers: { ...headers, etag } });
      };
      if (min === undefined) return answer(headers);
      return consistent(min, context, params.namespace, () => answer(view.readHeaders()));
    },
  };
}
