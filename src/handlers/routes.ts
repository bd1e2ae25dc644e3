/** The two route tables: the mTLS API and the plain-HTTP probe port. */
import type { Route } from "../http/mod.ts";
import type { Scaler } from "../kube/mod.ts";
import type { ScaleEventRecorder } from "../kube/mod.ts";
import type { CacheView } from "./cache_view.ts";
import { createDeploymentHandlers } from "./deployments.ts";
import { createReplicasHandlers } from "./replicas.ts";
import { createWatchHandlers } from "./watch.ts";
import { createHealthHandler, createProbeHandlers, type ProbeDeps } from "./health.ts";
import { createMetricsHandler } from "./metrics.ts";
import { createOpenApiHandler } from "./openapi.ts";
import { createWhoamiHandler } from "./whoami.ts";
import type { Registry } from "../observability/mod.ts";
import type { Authorizer } from "../authz/mod.ts";
import { defaultStreamingDeps, type StreamingDeps } from "./streaming.ts";

export interface ApiRouteDeps {
  view: CacheView;
  /** Filters cross-namespace lists; default: every namespace is readable. */
  authorizer?: Authorizer;
  scaler: Scaler;
  maxReplicas: number;
  /** Records who scaled as Kubernetes Events; none when undefined. */
  events?: ScaleEventRecorder;
  /** Watch streams, rollout waits, NotOlderThan reads; default: generous limits that never shut down (tests). */
  streaming?: StreamingDeps;
  /** Epoch milliseconds, for certificate expiry in whoami; injectable for tests. */
  now?: () => number;
}

/**
 * The API, one route per thing a client can ask for. A watch and a rollout wait are routes of their own under the
 * URL of the list or of the replicas they belong to (`query`, tried first), so they have their own handler and
 * their own name in metrics and the access log.
 */
export function createApiRoutes(deps: ApiRouteDeps): Route[] {
  // One set of stream limits for every handler family (a wait and a watch count against the same caps).
  const streaming = deps.streaming ?? defaultStreamingDeps();
  const deployments = createDeploymentHandlers({ ...deps, streaming });
  const watches = createWatchHandlers({ ...deps, streaming });
  const replicas = createReplicasHandlers({ ...deps, streaming });
  const base = "/api/v1";
  const all = `${base}/deployments`;
  const namespace = `${base}/namespaces/:namespace/deployments`;
  const one = `${namespace}/:name`;
  return [
    { method: "GET", path: all, name: "list_deployments", handler: deployments.listAll, permission: "read" },
    { method: "GET", path: all, query: "watch=true", name: "watch_deployments", handler: watches.all, permission: "read" },
    { method: "GET", path: namespace, name: "list_namespace_deployments", handler: deployments.listNamespace, permission: "read" },
    {
      method: "GET",
      path: namespace,
      query: "watch=true",
      name: "watch_namespace_deployments",
      handler: watches.namespace,
      permission: "read",
    },
    { method: "GET", path: one, name: "get_deployment", handler: deployments.get, permission: "read" },
    { method: "GET", path: `${one}/replicas`, name: "get_replicas", handler: replicas.get, permission: "read" },
    {
      method: "GET",
      path: `${one}/replicas`,
      query: "wait=rollout",
      name: "get_replicas_wait_rollout",
      handler: replicas.getWaitRollout,
      permission: "read",
    },
    { method: "PUT", path: `${one}/replicas`, name: "put_replicas", handler: replicas.put, permission: "scale" },
    {
      method: "PUT",
      path: `${one}/replicas`,
      query: "wait=rollout",
      name: "put_replicas_wait_rollout",
      handler: replicas.putWaitRollout,
      permission: "scale",
    },
    { method: "GET", path: `${base}/whoami`, name: "whoami", handler: createWhoamiHandler(deps) },
    { method: "GET", path: `${base}/health`, name: "health", handler: createHealthHandler(deps) },
    { method: "GET", path: `${base}/openapi.json`, name: "openapi", handler: createOpenApiHandler() },
  ];
}

export function createProbeRoutes(deps: ProbeDeps & { registry: Registry }): Route[] {
  const probes = createProbeHandlers(deps);
  return [
    { method: "GET", path: "/livez", name: "livez", handler: probes.livez },
    { method: "GET", path: "/readyz", name: "readyz", handler: probes.readyz },
    { method: "GET", path: "/metrics", name: "metrics", handler: createMetricsHandler(deps) },
  ];
}
