/**
 * The service's Kubernetes client: loads the kubeconfig (kubeconfig.ts) and exposes the narrow seams the rest
 * of the service uses (list functions, a watch, the scale calls, the Deployment and ReplicaSet calls of the rollout
 * operations, the Event create), every request on Deno's
 * fetch (kube_requests.ts, deno_watch.ts) and every failure a KubeApiError.
 *
 * client-node provides the kubeconfig handling, its authenticators and (in reflector.ts) ListWatch, each from its
 * own module; its generated API classes are never loaded (see kubeconfig.ts for the memory that saves).
 */
import { createDenoWatch, type FetchCredentials, http1Client } from "./api/mod.ts";
import type { HeartbeatProbe } from "./informer/mod.ts";
import { fetchCredentialsFrom, type KubeconfigLike } from "./api/mod.ts";
import { type Kubeconfig, loadKubeconfig } from "./api/mod.ts";
import { createKubeRequester } from "./api/mod.ts";
import { autoscalersPath, deploymentPath, deploymentScalePath, deploymentsPath, eventsPath, NAMESPACES_PATH } from "./api/mod.ts";
import { replicaSetPath, replicaSetsPath } from "./api/mod.ts";
import type { KubeSource } from "./informer/mod.ts";
import type { ListPage, ListResult } from "./api/mod.ts";
import type { ScaleApi, ScaleState } from "./writes/mod.ts";
import type { EventApi } from "./writes/mod.ts";
import { type DeploymentApi, PATCH_CONTENT_TYPES } from "./writes/mod.ts";

/** Recording an Event is best effort and must not hold resources long: a shorter deadline than other calls. */
const EVENT_TIMEOUT_MS = 5_000;

export interface KubeClientOptions {
  kubeconfig?: string;
  context?: string;
  /** In-cluster ServiceAccount credentials are used when no kubeconfig is given and this is true. */
  inCluster: boolean;
  /** Client-side inactivity limit for a watch; must exceed the server-side watch timeout. */
  watchIdleTimeoutMs: number;
  /** Limit for a single write or read call to the API server. */
  requestTimeoutMs: number;
  /** Records each API request: verb, status ("200", "404", "error"…) and seconds. */
  observe?: (verb: string, status: string, seconds: number) => void;
}

export interface KubeClient {
  readonly source: KubeSource;
  readonly scaleApi: ScaleApi;
  /** Read and patch a Deployment, read a ReplicaSet: the rollout operations (createDeploymentWriter). */
  readonly deploymentApi: DeploymentApi;
  readonly eventApi: EventApi;
  /** "https://host:port" of the API server, for logs. */
  readonly server: string;
}

export function loadKubeConfig(options: Pick<KubeClientOptions, "kubeconfig" | "context" | "inCluster">): Kubeconfig {
  return loadKubeconfig(options);
}

/** Fails when Deno's fetch cannot use the kubeconfig (see fetch_credentials.ts), naming the setting. */
export function createKubeClient(
  kc: KubeconfigLike,
  options: Pick<KubeClientOptions, "watchIdleTimeoutMs" | "requestTimeoutMs" | "observe">,
): KubeClient {
  const fetchCredentials = fetchCredentialsFrom(kc);
  if (!fetchCredentials.credentials) throw new Error(`cannot use this kubeconfig: ${fetchCredentials.unsupported}`);
  const credentials = fetchCredentials.credentials;
  const watch = createDenoWatch({ credentials, idleTimeoutMs: options.watchIdleTimeoutMs });
  const request = createKubeRequester({ credentials, observe: options.observe ?? (() => {}) });
  const timeoutMs = options.requestTimeoutMs;
  const list = (path: string, page?: ListPage, fieldSelector?: string) =>
    request<ListResult>({
      verb: "list",
      method: "GET",
      path,
      query: { limit: page?.limit, continue: page?.continue, fieldSelector },
      timeoutMs,
    });

  const source: KubeSource = {
    listDeployments: (namespace, page) => list(deploymentsPath(namespace), page),
    listNamespaces: (page) => list(NAMESPACES_PATH, page),
    listAutoscalers: (namespace, page) => list(autoscalersPath(namespace), page),
    listReplicaSets: (namespace, page) => list(replicaSetsPath(namespace), page),
    listEvents: (namespace, fieldSelector, page) => list(eventsPath(namespace), page, fieldSelector),
    watch,
    heartbeat: denoHeartbeat(credentials),
  };

  const scaleApi: ScaleApi = {
    async readScale(namespace, name) {
      return toScaleState(await request({ verb: "get", method: "GET", path: deploymentScalePath(namespace, name), timeoutMs }));
    },
    async patchScale(namespace, name, replicas, resourceVersion, patchOptions) {
      const scale = await request({
        verb: "patch",
        method: "PATCH",
        path: deploymentScalePath(namespace, name),
        query: { fieldManager: "replica-api", dryRun: patchOptions?.dryRun ? "All" : undefined },
        // The resourceVersion makes the write conditional: a concurrent change answers 409.
        body: { metadata: { resourceVersion }, spec: { replicas } },
        contentType: "application/merge-patch+json",
        timeoutMs,
      });
      return toScaleState(scale);
    },
  };

  const deploymentApi: DeploymentApi = {
    readDeployment: (namespace, name) => request({ verb: "get", method: "GET", path: deploymentPath(namespace, name), timeoutMs }),
    patchDeployment: (namespace, name, patch, patchOptions) =>
      request({
        verb: "patch",
        method: "PATCH",
        path: deploymentPath(namespace, name),
        query: { fieldManager: "replica-api", dryRun: patchOptions.dryRun ? "All" : undefined },
        // The writer puts the resourceVersion it was based on into every patch: a concurrent change answers 409.
        body: patch,
        contentType: PATCH_CONTENT_TYPES[patchOptions.type],
        timeoutMs,
      }),
    readReplicaSet: (namespace, name) => request({ verb: "get", method: "GET", path: replicaSetPath(namespace, name), timeoutMs }),
  };

  const eventApi: EventApi = {
    async createEvent(namespace, event) {
      await request({
        verb: "create",
        method: "POST",
        path: eventsPath(namespace),
        body: event,
        timeoutMs: Math.min(timeoutMs, EVENT_TIMEOUT_MS),
      });
    },
  };

  return { source, scaleApi, deploymentApi, eventApi, server: kc.getCurrentCluster()?.server ?? "" };
}

function toScaleState(scale: { spec?: { replicas?: number }; metadata?: { resourceVersion?: string; uid?: string } }): ScaleState {
  return { replicas: scale.spec?.replicas ?? 0, resourceVersion: scale.metadata?.resourceVersion ?? "", uid: scale.metadata?.uid };
}

/**
 * GET /version on Deno's fetch with a client of its own, so every heartbeat proves a fresh TCP connection and TLS
 * handshake work: a pooled connection stuck in a partition would keep failing after the network healed (a
 * handshake every few seconds costs the API server nothing). Any status is an answer; no answer rejects.
 */
function denoHeartbeat(credentials: () => Promise<FetchCredentials>): HeartbeatProbe {
  return async (signal) => {
    const c = await credentials();
    const client = http1Client(c);
    try {
      const response = await fetch(c.server + "/version", { headers: { ...c.headers }, client, signal, redirect: "manual" });
      await response.body?.cancel();
      return response.status;
    } finally {
      client.close();
    }
  };
}
