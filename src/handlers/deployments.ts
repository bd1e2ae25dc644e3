/** GET handlers for Deployment lists and single Deployments, answered from the cache only. */
import type { Handler } from "../http/types.ts";
import { emptyResponse, jsonResponse, textResponse } from "../http/response.ts";
import type { DeploymentRecord } from "../kube/deployment_record.ts";
import { HttpError } from "../http/http_error.ts";
import { validateDeploymentName, validateNamespace, validateQuery } from "../http/validation.ts";
import type { CacheView } from "./cache_view.ts";
import { noneMatch } from "./replicas.ts";
import type { Authorizer } from "../authz/authorizer.ts";

export interface DeploymentHandlers {
  listAll: Handler;
  listNamespace: Handler;
  get: Handler;
}

export function createDeploymentHandlers({ view, authorizer }: { view: CacheView; authorizer?: Authorizer }): DeploymentHandlers {
  const { cache } = view;

  /**
   * The serialised list, kept per list view: the cache hands out the same frozen array until
   * something in it changes, so repeated LISTs skip JSON.stringify (most of a LIST's CPU time,
   * 4 ms for 10,000 Deployments). Held weakly: a replaced view's text goes with it.
   */
  const listTexts = new WeakMap<readonly DeploymentRecord[], string>();
  const listText = (items: readonly DeploymentRecord[]): string => {
    let text = listTexts.get(items);
    if (text === undefined) listTexts.set(items, text = JSON.stringify({ items }));
    return text;
  };

  /** 404 for a namespace that does not exist or is not served, so a typo is not an empty list. */
  const requireNamespace = (namespace: string) => {
    validateNamespace(namespace);
    if (!cache.hasNamespace(namespace)) {
      throw new HttpError(404, `namespace "${namespace}" does not exist or is not watched by this service`);
    }
  };

  return {
    listAll(request, { client }) {
      const namespace = validateQuery(request.url, ["namespace"]).get("namespace");
      const headers = view.readHeaders();
      if (namespace !== null) requireNamespace(namespace);
      const items = cache.list(namespace ?? undefined);
      // The guard has checked ?namespace= already; a list across namespaces shows only the readable ones.
      const readable = client && authorizer ? authorizer.readableNamespaces(client) : "*";
      if (readable !== "*") return jsonResponse({ items: items.filter((d) => readable.has(d.namespace)) }, { headers });
      return textResponse(listText(items), "application/json", { headers });
    },
    listNamespace(request, { params }) {
      validateQuery(request.url, []);
      const headers = view.readHeaders();
      requireNamespace(params.namespace);
      return textResponse(listText(cache.list(params.namespace)), "application/json", { headers });
    },
    get(request, { params }) {
      validateQuery(request.url, []);
      validateDeploymentName(params.name);
      const headers = view.readHeaders();
      requireNamespace(params.namespace);
      const record = cache.get(params.namespace, params.name);
      if (!record) throw new HttpError(404, `deployment "${params.namespace}/${params.name}" not found`);
      const etag = `"${record.resourceVersion}"`;
      if (noneMatch(request, record.resourceVersion)) return emptyResponse(304, { ...headers, etag });
      return jsonResponse(record, { headers: { ...headers, etag } });
    },
  };
}
