/**
 * An in-memory DeploymentCache for tests and local experiments: records are
 * put and removed directly, and the status is set by hand. It shares the
 * index and the change tracking with the informer cache, so both behave the
 * same for reads, watch streams and waits.
 */
import type { CacheStatus, DeploymentCache } from "./cache.ts";
import { DeploymentIndex } from "./deployment_index.ts";
import { AutoscalerIndex, type AutoscalerLike } from "./autoscaler_index.ts";
import { type DeploymentRecord, deploymentRecord } from "./deployment_record.ts";
import type { RolloutStatus } from "./rollout.ts";
import { CacheChanges } from "./cache_changes.ts";
import type { ChangeFeed } from "./change_feed.ts";
import { type ReplicaSetLike, type ReplicaSetRecord, RevisionIndex } from "./revision_index.ts";

export interface MemoryCacheOptions {
  /** Namespaces that exist; a put adds its namespace. */
  namespaces?: readonly string[];
  status?: Partial<Omit<CacheStatus, "deployments">>;
  /** Change events kept for resuming watch streams (default 1000). */
  historySize?: number;
  /**
   * The resourceVersion the fake was "listed" at: resuming from before it is 410 Gone. Default "0",
   * so every later put can be resumed from.
   */
  listedAt?: string;
  /** Serve revisions() as a cache that watches ReplicaSets does (default: only once a ReplicaSet has been put). */
  replicaSets?: boolean;
}

export class MemoryCache implements DeploymentCache {
  #index = new DeploymentIndex();
  #autoscalers = new AutoscalerIndex(this.#index);
  #revisions: RevisionIndex | undefined;
  #changes: CacheChanges;
  #namespaces: Set<string>;
  #status: Omit<CacheStatus, "deployments">;

  constructor(options: MemoryCacheOptions = {}) {
    this.#namespaces = new Set(options.namespaces ?? []);
    this.#status = { synced: true, connected: true, lastContactAt: Date.now(), error: undefined, restarts: 0, ...options.status };
    this.#changes = new CacheChanges(this.#index, { historySize: options.historySize });
    if (options.replicaSets) this.#revisions = new RevisionIndex();
    this.relist(options.listedAt ?? "0");
  }

  /** Adds or replaces a Deployment (ADDED or MODIFIED), optionally with its rollout progress; the cache reaches its resourceVersion. */
  put(record: DeploymentRecord, rollout?: RolloutStatus): void {
    this.#namespaces.add(record.namespace);
    this.#changes.upsert(this.#autoscalers.decorate(deploymentRecord(record)), rollout);
    this.#progress(record.resourceVersion);
  }

  /** Adds or replaces a HorizontalPodAutoscaler (the shape the API server sends). */
  putAutoscaler(obj: AutoscalerLike): void {
    this.#autoscalers.upsert(obj);
  }

  removeAutoscaler(namespace: string, name: string): void {
    this.#autoscalers.remove(namespace, name);
  }

  /** Adds or replaces a ReplicaSet (the shape the API server sends); from then on revisions() answers. */
  putReplicaSet(obj: ReplicaSetLike): void {
    (this.#revisions ??= new RevisionIndex()).upsert(obj);
  }

  removeReplicaSet(namespace: string, name: string): void {
    this.#revisions?.remove(namespace, name);
  }

  /** Deletes a Deployment (DELETED at `resourceVersion`, default: its last one). */
  remove(namespace: string, name: string, resourceVersion?: string): void {
    const last = this.#index.get(namespace, name);
    this.#changes.remove(namespace, name, last && resourceVersion ? deploymentRecord({ ...last, resourceVersion }) : last, resourceVersion);
    if (resourceVersion) this.#progress(resourceVersion);
  }

  /** A bookmark: the cache is current up to `resourceVersion` without any change. */
  bookmark(resourceVersion: string): void {
    this.#progress(resourceVersion);
  }

  /** A relist at `resourceVersion`: the resumable history starts again from there. */
  relist(resourceVersion: string): void {
    this.#changes.log.relisted(resourceVersion);
    this.#progress(resourceVersion);
  }

  addNamespace(namespace: string): void {
    this.#namespaces.add(namespace);
  }

  setStatus(status: Partial<Omit<CacheStatus, "deployments">>): void {
    this.#status = { ...this.#status, ...status };
  }

  get(namespace: string, name: string) {
    return this.#index.get(namespace, name);
  }
  list(namespace?: string) {
    return this.#index.list(namespace);
  }
  hasNamespace(namespace: string): boolean {
    return this.#namespaces.has(namespace);
  }
  status(): CacheStatus {
    return { ...this.#status, deployments: this.#index.size };
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
  waitForResourceVersion(resourceVersion: string, timeoutMs: number, options: { signal?: AbortSignal } = {}) {
    return this.#changes.gate.wait(["*"], resourceVersion, timeoutMs, options.signal);
  }

  #progress(resourceVersion: string): void {
    this.#changes.log.progressed(resourceVersion);
    this.#changes.gate.advance("*", resourceVersion);
  }
}
