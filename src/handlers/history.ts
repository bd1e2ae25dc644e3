/**
 * `GET …/deployments/{name}/history`: who did what to a Deployment through this service, newest first, from the
 * Events it recorded for its own writes (kept by the Events informer, never read from the API server per request).
 *
 * The Events informer runs only when writes are enabled (a read-only server records none, so there would be nothing
 * to show: 501), and it does not hold up readiness, so until its first list this read alone answers 503.
 */
import type { Handler } from "../http/mod.ts";
import { HttpError, jsonResponse, validateQuery } from "../http/mod.ts";
import type { HistorySource } from "../kube/mod.ts";
import type { Operation } from "../authz/mod.ts";
import type { CacheView } from "./cache_view.ts";
import { validateDeploymentName, validateNamespace } from "./validation.ts";

export interface HistoryHandlerDeps {
  view: CacheView;
  /** The Events informer; undefined when it does not run (no write operation enabled, or no Event recorder). */
  history?: HistorySource;
  /** The enabled writes (OPERATIONS), to say why there is no history. */
  operations: ReadonlySet<Operation>;
}

export function createHistoryHandler(deps: HistoryHandlerDeps): Handler {
  const { view, history } = deps;
  return (request, context) => {
    validateQuery(request.url, []);
    const namespace = validateNamespace(context.params.namespace);
    const name = validateDeploymentName(context.params.name);
    if (!history) {
      throw new HttpError(
        501,
        deps.operations.size === 0
          ? "the history shows the writes made through this replica-api, and this one makes none (OPERATIONS=none); enable an operation with the chart value operations: [scale, ...]"
          : "the history is not available on this replica-api: it records no Events",
      );
    }
    const headers = view.namespace(namespace);
    const record = view.cache.get(namespace, name);
    if (!record) throw new HttpError(404, `deployment "${namespace}/${name}" not found`);
    if (!history.synced) {
      // An empty history before the first list would read as "nobody did anything".
      throw new HttpError(503, "the history (Events) is not loaded yet; retry shortly", { headers: { "retry-after": "2" } });
    }
    return jsonResponse({
      namespace,
      name,
      events: history.history(namespace, name, record.uid).map((e) => ({
        time: e.time,
        reason: e.reason,
        note: e.note,
        action: e.action,
        count: e.count,
      })),
    }, { headers });
  };
}
