/**
 * The only module that talks to @kubernetes/client-node's API classes: it
 * loads the kubeconfig and exposes the narrow seams the rest of the service
 * uses (list functions, a watch, and the scale calls), normalising every
 * failure into a KubeApiError. Watches run on Deno's own fetch when the
 * kubeconfig allows it (see deno_watch.ts for why), else on client-node's Watch.
 */
import {
  ApiException,
  AppsV1Api,
  AutoscalingV2Api,
  CoreV1Api,
  EventsV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from "@kubernetes/client-node";
import { createDenoWatch } from "./deno_watch.ts";
import { fetchCredentialsFrom } from "./fetch_credentials.ts";
import { forceHttp1 } from "./http1_only.ts";
import { KubeApiError } from "./kube_api_error.ts";
import type { KubeSource } from "./informer_cache.ts";
import type { ListPage, ListResult } from "./reflector.ts";
import type { ScaleApi, ScaleState } from "./scaler.ts";
import type { EventApi } from "./scale_events.ts";

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
  readonly eventApi: EventApi;
  /** "https://host:port" of the API server, for logs. */
  readonly server: string;
  /**
   * Why watches use client-node's Watch instead of Deno's fetch (then a SIGKILLed API server is only noticed by
   * the reflector's stall watchdog); undefined when they use Deno's fetch.
   */
  readonly watchFallbackReason?: string;
}

export function loadKubeConfig(options: Pick<KubeClientOptions, "kubeconfig" | "context" | "inCluster">): KubeConfig {
  const kc = forceHttp1(new KubeConfig());
  if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
  else if (options.inCluster) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (options.context) {
    if (!kc.getContextObject(options.context)) throw new Error(`kubeconfig has no context "${options.context}"`);
    kc.setCurrentContext(options.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  if (cluster.skipTLSVerify) {
    throw new Error(`kubeconfig cluster "${cluster.name}" sets insecure-skip-tls-verify; refusing to talk to the API server unverified`);
  }
  return kc;
}

export function createKubeClient(
  kc: KubeConfig,
  options: Pick<KubeClientOptions, "watchIdleTimeoutMs" | "requestTimeoutMs" | "observe">,
): KubeClient {
  const apps = kc.makeApiClient(AppsV1Api);
  const core = kc.makeApiClient(CoreV1Api);
  const autoscaling = kc.makeApiClient(AutoscalingV2Api);
  const events = kc.makeApiClient(EventsV1Api);
  const fetchCredentials = fetchCredentialsFrom(kc);
  const watch = fetchCredentials.credentials
    ? createDenoWatch({ credentials: fetchCredentials.credentials, idleTimeoutMs: options.watchIdleTimeoutMs })
    : clientNodeWatch(kc, options.watchIdleTimeoutMs);
  const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
  const timeout = options.requestTimeoutMs;
  const observe = options.observe ?? (() => {});

  // `_continue` is client-node's name for the API's `continue` (a reserved word in its generator), in the query
  // parameters and in the list metadata it deserializes.
  const pageParams = (page?: ListPage) => ({ limit: page?.limit, _continue: page?.continue });
  const asList = async (list: Promise<{ metadata?: { resourceVersion?: string; _continue?: string }; items: unknown[] }>) => {
    const { metadata, items } = await list;
    return { metadata: { resourceVersion: metadata?.resourceVersion, continue: metadata?._continue }, items } as ListResult;
  };
  const source: KubeSource = {
    listDeployments: (namespace, page) =>
      call(
        "list",
        () =>
          asList(
            namespace
              ? apps.listNamespacedDeployment({ namespace, ...pageParams(page) })
              : apps.listDeploymentForAllNamespaces(pageParams(page)),
          ),
        timeout,
        observe,
      ),
    listNamespaces: (page) => call("list", () => asList(core.listNamespace(pageParams(page))), timeout, observe),
    listAutoscalers: (namespace, page) =>
      call(
        "list",
        () =>
          asList(
            namespace
              ? autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace, ...pageParams(page) })
              : autoscaling.listHorizontalPodAutoscalerForAllNamespaces(pageParams(page)),
          ),
        timeout,
        observe,
      ),
    watch,
  };

  const scaleApi: ScaleApi = {
    async readScale(namespace, name) {
      return toScaleState(await call("get", () => apps.readNamespacedDeploymentScale({ namespace, name }), timeout, observe));
    },
    async patchScale(namespace, name, replicas, resourceVersion, patchOptions) {
      const body = { metadata: { resourceVersion }, spec: { replicas } };
      const dryRun = patchOptions?.dryRun ? "All" : undefined;
      const scale = await call(
        "patch",
        () => apps.patchNamespacedDeploymentScale({ namespace, name, body, fieldManager: "replica-api", dryRun }, mergePatch),
        timeout,
        observe,
      );
      return toScaleState(scale);
    },
  };

  const eventApi: EventApi = {
    async createEvent(namespace, event) {
      // Our plain object is what the API server expects; client-node's serializer passes its MicroTime string through.
      const body = event as unknown as Parameters<typeof events.createNamespacedEvent>[0]["body"];
      await call("create", () => events.createNamespacedEvent({ namespace, body }), Math.min(timeout, EVENT_TIMEOUT_MS), observe);
    },
  };

  return { source, scaleApi, eventApi, server: kc.getCurrentCluster()?.server ?? "", watchFallbackReason: fetchCredentials.unsupported };
}

function clientNodeWatch(kc: KubeConfig, idleTimeoutMs: number): Watch {
  const watch = new Watch(kc);
  // Watch aborts a stream after this long without data (typed private, but it is the documented knob); it must
  // outlast the server-side watch timeout or quiet clusters would reconnect needlessly.
  (watch as unknown as { requestTimeoutMs: number }).requestTimeoutMs = idleTimeoutMs;
  return watch;
}

function toScaleState(scale: { spec?: { replicas?: number }; metadata?: { resourceVersion?: string; uid?: string } }): ScaleState {
  return { replicas: scale.spec?.replicas ?? 0, resourceVersion: scale.metadata?.resourceVersion ?? "", uid: scale.metadata?.uid };
}

/** Runs an API call with a deadline, records it, and turns every failure into a KubeApiError. */
async function call<T>(
  verb: string,
  fn: () => Promise<T>,
  timeoutMs: number,
  observe: NonNullable<KubeClientOptions["observe"]>,
): Promise<T> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new KubeApiError(504, `no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const result = await Promise.race([fn(), deadline]);
    observe(verb, "200", (performance.now() - started) / 1000);
    return result;
  } catch (error) {
    const kubeError = toKubeApiError(error);
    observe(verb, kubeError.status ? String(kubeError.status) : "error", (performance.now() - started) / 1000);
    throw kubeError;
  } finally {
    clearTimeout(timer);
  }
}

export function toKubeApiError(error: unknown): KubeApiError {
  if (error instanceof KubeApiError) return error;
  if (error instanceof ApiException) {
    const status = parseStatusBody(error.body);
    const retryAfter = Number(error.headers?.["retry-after"]);
    return new KubeApiError(
      error.code,
      status.message ?? `HTTP ${error.code}`,
      status.reason,
      Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
      { cause: error },
    );
  }
  // fetch/undici failures: connection refused, DNS, TLS verification, reset.
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  const detail = [e?.message, e?.cause?.code ?? e?.cause?.message].filter(Boolean).join(": ");
  return new KubeApiError(0, detail || String(error), undefined, undefined, { cause: error });
}

/** The API server answers errors with a Status object; client-node may hand it over parsed or as text. */
function parseStatusBody(body: unknown): { message?: string; reason?: string } {
  let value = body;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch {
      return { message: (value as string).slice(0, 300) || undefined };
    }
  }
  if (value && typeof value === "object") {
    const v = value as { message?: unknown; reason?: unknown };
    return { message: typeof v.message === "string" ? v.message : undefined, reason: typeof v.reason === "string" ? v.reason : undefined };
  }
  return {};
}
