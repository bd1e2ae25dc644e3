/**
 * The production DeploymentCache: one reflector for Deployments (all
 * namespaces, or one per watched namespace) plus, when serving all
 * namespaces, one for Namespaces so unknown ones answer 404, one for
 * HorizontalPodAutoscalers alongside each Deployment reflector, and, when
 * asked for (`replicaSets`), one for ReplicaSets beside each, for the revisions
 * read and undo. Events update our own indexes of small records; the
 * reflectors' stores are never read.
 */
import type { CacheStatus, DeploymentCache } from "../cache/mod.ts";
import { DeploymentIndex } from "../cache/mod.ts";
import { AutoscalerIndex, type AutoscalerLike, trimAutoscaler } from "../cache/mod.ts";
import { type DeploymentLike, type DeploymentRecord, toRecord } from "../cache/mod.ts";
import { RESTARTED_AT_ANNOTATION, REVISION_ANNOTATION } from "../cache/mod.ts";
import { type ReplicaSetLike, type ReplicaSetRecord, RevisionIndex, trimReplicaSet } from "../cache/mod.ts";
import { Reflector, type ReflectorEvents } from "./reflector.ts";
import type { ListPage, ListResult, WatchLike } from "../api/mod.ts";
import { type Backoff, createBackoff } from "./backoff.ts";
import { type Clock, systemClock } from "./clock.ts";
import type { Logger } from "../../observability/mod.ts";
import { type RolloutSource, type RolloutStatus, toRolloutStatus } from "../cache/mod.ts";
import { CacheChanges } from "../cache/mod.ts";
import type { ChangeFeed } from "../cache/mod.ts";
import { autoscalersPath, deploymentsPath, NAMESPACES_PATH, replicaSetsPath } from "../api/mod.ts";
import { ApiHeartbeat, type HeartbeatProbe } from "./api_heartbeat.ts";

/**
 * Where the data comes from: list functions and a watch, injected so tests can fake the API server. Lists are
 * asked for in pages (limit + continue, see list_pager.ts); a source may ignore `page` and answer everything.
 */
export interface KubeSource {
  listDeployments(namespace?: string, page?: ListPage): Promise<ListResult>;
  listNamespaces(page?: ListPage): Promise<ListResult>;
  /**
   * autoscaling/v2 HorizontalPodAutoscalers, in one namespace or all. The client always provides it; a source
   * without it (a test's stand-in for a single watch stream) gets no autoscaler reflectors.
   */
  listAutoscalers?(namespace?: string, page?: ListPage): Promise<ListResult>;
  /** apps/v1 ReplicaSets, in one namespace or all; needed only by a cache built with `replicaSets: true`. */
  listReplicaSets?(namespace?: string, page?: ListPage): Promise<ListResult>;
  /** events.k8s.io/v1 Events, filtered by the API server with `fieldSelector`; needed only by the history (EventHistory). */
  listEvents?(namespace: string | undefined, fieldSelector: string, page?: ListPage): Promise<ListResult>;
  watch: WatchLike;
  /** A cheap request that any answer of the API server completes (GET /version); see api_heartbeat.ts. */
  heartbeat?: HeartbeatProbe;
}

/** See api_heartbeat.ts; used when the source has a heartbeat probe. */
export interface HeartbeatSettings {
  intervalMs: number;
  timeoutMs: number;
  unreachableAfterMs: number;
  /** Each probe's outcome ("200", "timeout", "error"…) and duration. */
  observe?: (status: string, seconds: number) => void;
}

export interface InformerCacheOptions {
  source: KubeSource;
  /** Empty: all namespaces. */
  namespaces: readonly string[];
  watchTimeoutSeconds: number;
  log: Logger;
  clock?: Clock;
  newBackoff?: () => Backoff;
  /** Per-informer event hooks (metrics), by informer name. */
  events?: (informer: string) => ReflectorEvents;
  /** Change events kept for watch streams to resume from (default 1000). */
  historySize?: number;
  /** Without it (or without source.heartbeat), a silent partition is noticed only by the stall watchdog. */
  heartbeat?: HeartbeatSettings;
  /** Objects per list page (default 500, see list_pager.ts). */
  listPageSize?: number;
  /**
   * Also watch ReplicaSets, so revisions() answers (the revisions read, undo). They count towards sync and
   * freshness like Deployments: an undo must not pick its revision from a list that has not arrived. Needs
   * source.listReplicaSets.
   */
  replicaSets?: boolean;
}

/** Keeps only what the index and the rollout judgement need, so ListWatch's own store stays small. */
function trimDeployment(obj: RolloutSource): RolloutSource {
  const revision = obj.metadata?.annotations?.[REVISION_ANNOTATION];
  const restartedAt = obj.spec?.template?.metadata?.annotations?.[RESTARTED_AT_ANNOTATION];
  const template = obj.spec?.template?.spec;
  const images = (list: readonly { name?: string; image?: string }[] | undefined) => list?.map((c) => ({ name: c.name, image: c.image }));
  return {
    metadata: {
      name: obj.metadata?.name,
      namespace: obj.metadata?.namespace,
      resourceVersion: obj.metadata?.resourceVersion,
      generation: obj.metadata?.generation,
      uid: obj.metadata?.uid,
      // Of all annotations (last-applied-configuration alone can be kilobytes), only the one the record reads.
      annotations: revision === undefined ? undefined : { [REVISION_ANNOTATION]: revision },
    },
    spec: {
      replicas: obj.spec?.replicas,
      paused: obj.spec?.paused,
      template: {
        metadata: { annotations: restartedAt === undefined ? undefined : { [RESTARTED_AT_ANNOTATION]: restartedAt } },
        spec: { containers: images(template?.containers), initContainers: images(template?.initContainers) },
      },
    },
    status: {
      readyReplicas: obj.status?.readyReplicas,
      availableReplicas: obj.status?.availableReplicas,
      observedGeneration: obj.status?.observedGeneration,
      replicas: obj.status?.replicas,
      updatedReplicas: obj.status?.updatedReplicas,
      conditions: obj.status?.conditions?.map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message })),
    },
  };
}

function trimNamespace(obj: { metadata?: { name?: string; resourceVersion?: string } }) {
  return { metadata: { name: obj.metadata?.name, resourceVersion: obj.metadata?.resourceVersion } };
}

export class InformerCache implements DeploymentCache {
  #index = new DeploymentIndex();
  #autoscalers = new AutoscalerIndex(this.#index);
  /** Undefined when ReplicaSets are not watched. */
  #revisions: RevisionIndex | undefined;
  #changes: CacheChanges;
  /** Per watch scope: the resourceVersion of a list whose differences are being applied (they carry it as position). */
  #listing = new Map<string, string>();
  #namespaces = new Set<string>();
  #watched: ReadonlySet<string> | undefined;
  #scopes: readonly string[];
  #reflectors: Reflector[] = [];
  #heartbeat: ApiHeartbeat | undefined;
  #clock: Clock;
  #log: Logger;

  constructor(options: InformerCacheOptions) {
    const clock = options.clock ?? systemClock;
    const newBackoff = options.newBackoff ?? (() => createBackoff());
    this.#clock = clock;
    this.#log = options.log;
    this.#changes = new CacheChanges(this.#index, {
      historySize: options.historySize,
      onListenerError: (error) => this.#log.error("a change listener failed and was dropped", { error }),
    });
    const common = {
      watch: options.source.watch,
      watchTimeoutSeconds: options.watchTimeoutSeconds,
      // The server closes each watch after watchTimeoutSeconds; allow for ListWatch's reconnect delay on top.
      stallAfterMs: options.watchTimeoutSeconds * 1000 + 35_000,
      listPageSize: options.listPageSize,
      clock,
      log: options.log,
    };
    /** `scope`: "*" for the all-namespaces watch, else the namespace. */
    const deploymentHandlers = (scope: string) => ({
      trim: trimDeployment,
      onUpsert: (obj: RolloutSource) => {
        const record = toRecord(
          obj,
          obj.metadata?.namespace && obj.metadata.name ? this.#index.get(obj.metadata.namespace, obj.metadata.name) : undefined,
        );
        if (record) this.#changes.upsert(this.#autoscalers.decorate(record), toRolloutStatus(obj), this.#listing.get(scope));
        else this.#log.warn("ignored a Deployment without name or namespace");
      },
      onRemove: (obj: DeploymentLike) => {
        if (obj.metadata?.namespace && obj.metadata?.name) {
          this.#changes.remove(obj.metadata.namespace, obj.metadata.name, toRecord(obj), this.#listing.get(scope));
        }
      },
      onResourceVersion: (resourceVersion: string, phase: "listed" | "watching" | "event") => {
        if (phase === "listed") {
          this.#listing.set(scope, resourceVersion);
          this.#changes.log.relisted(resourceVersion);
          return;
        }
        this.#listing.delete(scope);
        this.#changes.log.progressed(resourceVersion);
        this.#changes.gate.advance(scope, resourceVersion);
      },
    });
    this.#scopes = options.namespaces.length === 0 ? ["*"] : [...options.namespaces];
    // Autoscalers count towards sync and freshness like Deployments: a PUT must not miss the HPA that would undo it.
    const autoscalerReflector = (namespace?: string) =>
      new Reflector({
        ...common,
        name: namespace ? `horizontalpodautoscalers/${namespace}` : "horizontalpodautoscalers",
        events: options.events?.(namespace ? `horizontalpodautoscalers/${namespace}` : "horizontalpodautoscalers"),
        path: autoscalersPath(namespace),
        list: (page) => options.source.listAutoscalers!(namespace, page),
        backoff: newBackoff(),
        trim: trimAutoscaler,
        onUpsert: (obj: AutoscalerLike) => this.#autoscalers.upsert(obj),
        onRemove: (obj: AutoscalerLike) => {
          if (obj.metadata?.namespace && obj.metadata?.name) this.#autoscalers.remove(obj.metadata.namespace, obj.metadata.name);
        },
      });
    if (options.replicaSets && !options.source.listReplicaSets) {
      throw new Error("replicaSets: true needs a source that lists ReplicaSets (listReplicaSets)");
    }
    const revisions = options.replicaSets ? (this.#revisions = new RevisionIndex()) : undefined;
    // Like autoscalers: a revisions read or an undo from a partial list of ReplicaSets would miss revisions.
    const replicaSetReflector = (namespace?: string) =>
      new Reflector({
        ...common,
        name: namespace ? `replicasets/${namespace}` : "replicasets",
        events: options.events?.(namespace ? `replicasets/${namespace}` : "replicasets"),
        path: replicaSetsPath(namespace),
        list: (page) => options.source.listReplicaSets!(namespace, page),
        backoff: newBackoff(),
        trim: trimReplicaSet,
        onUpsert: (obj: ReplicaSetLike) => revisions!.upsert(obj),
        onRemove: (obj: ReplicaSetLike) => {
          if (obj.metadata?.namespace && obj.metadata?.name) revisions!.remove(obj.metadata.namespace, obj.metadata.name);
        },
      });
    if (options.namespaces.length === 0) {
      this.#reflectors.push(
        new Reflector({
          ...common,
          ...deploymentHandlers("*"),
          name: "deployments",
          events: options.events?.("deployments"),
          path: deploymentsPath(),
          list: (page) => options.source.listDeployments(undefined, page),
          backoff: newBackoff(),
        }),
        new Reflector({
          ...common,
          name: "namespaces",
          events: options.events?.("namespaces"),
          path: NAMESPACES_PATH,
          list: (page) => options.source.listNamespaces(page),
          backoff: newBackoff(),
          trim: trimNamespace,
          onUpsert: (obj) => obj.metadata?.name && this.#namespaces.add(obj.metadata.name),
          onRemove: (obj) => obj.metadata?.name && this.#namespaces.delete(obj.metadata.name),
        }),
      );
      if (options.source.listAutoscalers) this.#reflectors.push(autoscalerReflector());
      if (revisions) this.#reflectors.push(replicaSetReflector());
    } else {
      this.#watched = new Set(options.namespaces);
      for (const ns of options.namespaces) {
        this.#reflectors.push(
          new Reflector({
            ...common,
            ...deploymentHandlers(ns),
            name: `deployments/${ns}`,
            events: options.events?.(`deployments/${ns}`),
            path: deploymentsPath(ns),
            list: (page) => options.source.listDeployments(ns, page),
            backoff: newBackoff(),
          }),
        );
        if (options.source.listAutoscalers) this.#reflectors.push(autoscalerReflector(ns));
        if (revisions) this.#reflectors.push(replicaSetReflector(ns));
      }
    }
    const probe = options.source.heartbeat;
    if (probe && options.heartbeat) {
      this.#heartbeat = new ApiHeartbeat({
        ...options.heartbeat,
        probe,
        clock,
        log: options.log,
        otherContactAt: () => this.#newestContact(),
        onUnreachable: (reason) => {
          for (const reflector of this.#reflectors) reflector.abandon(reason);
        },
        // Waiting out a backoff built up during the outage would only delay recovery.
        onReachable: () => {
          for (const reflector of this.#reflectors) reflector.retryNow();
        },
      });
    }
  }

  /** Starts every reflector; resolves after each made its first attempt (see status() for the outcome). */
  async start(): Promise<void> {
    this.#heartbeat?.start();
    await Promise.all(this.#reflectors.map((r) => r.start()));
  }

  async stop(): Promise<void> {
    this.#heartbeat?.stop();
    await Promise.all(this.#reflectors.map((r) => r.stop()));
  }

  get(namespace: string, name: string): DeploymentRecord | undefined {
    return this.#index.get(namespace, name);
  }

  list(namespace?: string): readonly DeploymentRecord[] {
    return this.#index.list(namespace);
  }

  hasNamespace(namespace: string): boolean {
    // With a namespace list we may not read Namespace objects (a Role cannot grant that), so "watched" is the answer.
    return this.#watched ? this.#watched.has(namespace) : this.#namespaces.has(namespace);
  }

  /** The newest sign of life from any reflector: any of them hearing from the API server proves it answers. */
  #newestContact(): number | undefined {
    let newest: number | undefined;
    for (const reflector of this.#reflectors) {
      const at = reflector.status().lastContactAt;
      if (at !== undefined && (newest === undefined || at > newest)) newest = at;
    }
    return newest;
  }

  /** Read on every request (freshness headers), so one pass without intermediate arrays. */
  status(): CacheStatus {
    let synced = true;
    let connected = true;
    let lastContactAt: number | undefined = Infinity;
    let error: string | undefined;
    let restarts = 0;
    let newestContact: number | undefined;
    for (const reflector of this.#reflectors) {
      const s = reflector.status();
      if (s.lastContactAt !== undefined && (newestContact === undefined || s.lastContactAt > newestContact)) {
        newestContact = s.lastContactAt;
      }
      synced &&= s.synced;
      connected &&= s.connected;
      // The stalest reflector decides: one silent watch makes the whole cache suspect.
      lastContactAt = s.lastContactAt === undefined || lastContactAt === undefined ? undefined : Math.min(lastContactAt, s.lastContactAt);
      error ??= s.error || undefined;
      restarts += s.restarts;
    }
    if (lastContactAt === Infinity) lastContactAt = undefined;
    // At the bound exactly, not at the heartbeat's next tick: a watch in a silent partition still looks connected.
    const silent = this.#heartbeat?.silentFor(this.#clock.now(), newestContact);
    if (silent !== undefined) {
      connected = false;
      const failure = this.#heartbeat!.lastFailure;
      error = `no answer from the Kubernetes API for ${(silent / 1000).toFixed(1)} s${failure ? ` (${failure})` : ""}`;
    }
    return { synced, connected, lastContactAt, error, deployments: this.#index.size, restarts };
  }

  waitForVersion(namespace: string, name: string, resourceVersion: string, timeoutMs: number) {
    return this.#index.waitForVersion(namespace, name, resourceVersion, timeoutMs);
  }

  rollout(namespace: string, name: string): RolloutStatus | undefined {
    return this.#changes.rollout(namespace, name);
  }

  revisions(namespace: string, deployment: string): readonly ReplicaSetRecord[] | undefined {
    return this.#revisions?.revisions(namespace, deployment, this.#index.get(namespace, deployment)?.uid);
  }

  get changes(): ChangeFeed {
    return this.#changes.log;
  }

  waitForResourceVersion(resourceVersion: string, timeoutMs: number, options: { namespace?: string; signal?: AbortSignal } = {}) {
    // One watch over all namespaces, or the namespace's own watch; a list across namespaces needs every watch there.
    const scopes = this.#scopes[0] === "*" ? this.#scopes : options.namespace !== undefined ? [options.namespace] : this.#scopes;
    return this.#changes.gate.wait(scopes, resourceVersion, timeoutMs, options.signal);
  }
}
