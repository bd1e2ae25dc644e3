/** The two route tables: the mTLS API and the plain-HTTP probe port. */
import type { Route } from "../http/mod.ts";
import type { Scaler } from "../kube/mod.ts";
import type { HistorySource, ScaleEventRecorder } from "../kube/mod.ts";
import type { CacheView } from "./cache_view.ts";
import { createDeploymentHandlers } from "./deployments.ts";
import { createReplicasHandlers } from "./replicas.ts";
import { createWatchHandlers } from "./watch.ts";
import { createHealthHandler, createProbeHandlers, type ProbeDeps } from "./health.ts";
import { createMetricsHandler } from "./metrics.ts";
import { createOpenApiHandler } from "./openapi.ts";
import { createWhoamiHandler } from "./whoami.ts";
import { createOperationHandlers, type ImageVerdict } from "./operations.ts";
import type { ClientIdentity, Handler } from "../http/mod.ts";
import { HttpError } from "../http/mod.ts";
import type { Operation } from "../authz/mod.ts";
import type { DeploymentWriter } from "../kube/mod.ts";
import type { Registry } from "../observability/mod.ts";
import type { Authorizer } from "../authz/mod.ts";
import { defaultStreamingDeps, type StreamingDeps } from "./streaming.ts";
import { createConsoleHandlers } from "./console.ts";
import { createHistoryHandler } from "./history.ts";
import type { StaticAssets } from "../files/mod.ts";

export interface ApiRouteDeps {
  view: CacheView;
  /** Filters cross-namespace lists; default: every namespace is readable. */
  authorizer?: Authorizer;
  scaler: Scaler;
  /** Restart, pause/resume, set image, undo; required when any of them is enabled. */
  writer?: DeploymentWriter;
  /** The writes this server offers (OPERATIONS); the others answer 501. Default: scale only. */
  operations?: ReadonlySet<Operation>;
  /** The image patterns of the client's policy rules; default: every image is allowed. */
  imageAllowed?: (client: ClientIdentity, namespace: string, image: string) => ImageVerdict;
  maxReplicas: number;
  /** Records who scaled, restarted, … as Kubernetes Events; none when undefined. */
  events?: ScaleEventRecorder;
  /** Those Events, read back by the history read; it answers 501 when undefined. */
  history?: HistorySource;
  /** Watch streams, rollout waits, NotOlderThan reads; default: generous limits that never shut down (tests). */
  streaming?: StreamingDeps;
  /** The browser console's files, served at `/` and `/console/{file}`; no console routes when undefined (CONSOLE=off). */
  console?: StaticAssets;
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
  const enabled: ReadonlySet<Operation> = deps.operations ?? new Set<Operation>(["scale"]);
  if (!deps.writer && [...enabled].some((operation) => operation !== "scale")) {
    throw new Error(`operations ${[...enabled].join(", ")} need a DeploymentWriter`);
  }
  const ops = createOperationHandlers({ ...deps, writer: deps.writer ?? NO_WRITER, streaming });
  const write = writeRoutes(enabled);
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
    ...write("scale", [
      { method: "PUT", path: `${one}/replicas`, name: "put_replicas", handler: replicas.put },
      {
        method: "PUT",
        path: `${one}/replicas`,
        query: "wait=rollout",
        name: "put_replicas_wait_rollout",
        handler: replicas.putWaitRollout,
      },
    ]),
    ...write("restart", [
      { method: "POST", path: `${one}/restart`, name: "restart_deployment", handler: ops.restart },
      {
        method: "POST",
        path: `${one}/restart`,
        query: "wait=rollout",
        name: "restart_deployment_wait_rollout",
        handler: ops.restartWaitRollout,
      },
    ]),
    ...write("pause", [
      { method: "POST", path: `${one}/pause`, name: "pause_deployment", handler: ops.pause },
      { method: "POST", path: `${one}/resume`, name: "resume_deployment", handler: ops.resume },
      {
        method: "POST",
        path: `${one}/resume`,
        query: "wait=rollout",
        name: "resume_deployment_wait_rollout",
        handler: ops.resumeWaitRollout,
      },
    ]),
    ...write("image", [
      { method: "PUT", path: `${one}/containers/:container/image`, name: "set_image", handler: ops.setImage },
      {
        method: "PUT",
        path: `${one}/containers/:container/image`,
        query: "wait=rollout",
        name: "set_image_wait_rollout",
        handler: ops.setImageWaitRollout,
      },
    ]),
    ...write("undo", [
      { method: "POST", path: `${one}/undo`, name: "undo_deployment", handler: ops.undo },
      { method: "POST", path: `${one}/undo`, query: "wait=rollout", name: "undo_deployment_wait_rollout", handler: ops.undoWaitRollout },
    ]),
    { method: "GET", path: `${one}/revisions`, name: "get_revisions", handler: ops.revisions, permission: "read" },
    {
      method: "GET",
      path: `${one}/history`,
      name: "get_history",
      handler: createHistoryHandler({ view: deps.view, history: deps.history, operations: enabled }),
      permission: "read",
    },
    { method: "GET", path: `${base}/whoami`, name: "whoami", handler: createWhoamiHandler(deps) },
    { method: "GET", path: `${base}/health`, name: "health", handler: createHealthHandler(deps) },
    { method: "GET", path: `${base}/openapi.json`, name: "openapi", handler: createOpenApiHandler() },
    ...consoleRoutes(deps.console),
  ];
}

/**
 * The routes of one write operation, guarded by its permission; or, when this server does not offer it, the same
 * routes answering 501 to everyone, so a client learns that the server (not its identity, not Kubernetes RBAC)
 * is why, and which setting would change it.
 */
function writeRoutes(enabled: ReadonlySet<Operation>) {
  return (operation: Operation, routes: Omit<Route, "permission">[]): Route[] => {
    if (enabled.has(operation)) return routes.map((route) => ({ ...route, permission: operation }));
    const list = [...enabled].join(",") || "none";
    const refuse: Handler = async (request) => {
      await request.body?.cancel().catch(() => {});
      throw new HttpError(
        501,
        `the ${operation} operation is not enabled on this replica-api (OPERATIONS=${list}); enable it with the chart value operations: [${
          [...enabled, operation].join(", ")
        }], which also grants the RBAC it needs`,
      );
    };
    return routes.map((route) => ({ ...route, handler: refuse }));
  };
}

/** The console's page and files: any authenticated client may load them (what it may then do is whoami's answer). */
function consoleRoutes(assets: StaticAssets | undefined): Route[] {
  if (!assets) return [];
  const handlers = createConsoleHandlers({ assets });
  return [
    { method: "GET", path: "/", name: "console_page", handler: handlers.page },
    { method: "GET", path: "/console/:file", name: "console_asset", handler: handlers.asset },
  ];
}

/** Stands in for the writer when no operation that needs one is enabled: their routes answer 501 before reaching it. */
const unused = () => Promise.reject(new Error("no DeploymentWriter, yet an operation that needs one was called"));
const NO_WRITER: DeploymentWriter = { restart: unused, setPaused: unused, setImage: unused, undo: unused };

export function createProbeRoutes(deps: ProbeDeps & { registry: Registry }): Route[] {
  const probes = createProbeHandlers(deps);
  return [
    { method: "GET", path: "/livez", name: "livez", handler: probes.livez },
    { method: "GET", path: "/readyz", name: "readyz", handler: probes.readyz },
    { method: "GET", path: "/metrics", name: "metrics", handler: createMetricsHandler(deps) },
  ];
}
