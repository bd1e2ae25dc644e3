/**
 * An in-memory DeploymentCache for tests and local experiments: records are
 * put and removed directly, and the status is set by hand. It shares the
 * index with the informer cache, so both behave the same for reads.
 */
import type { CacheStatus, DeploymentCache } from "./cache.ts";
import { DeploymentIndex } from "./deployment_index.ts";
import { AutoscalerIndex, type AutoscalerLike } from "./autoscaler_index.ts";
import type { DeploymentRecord } from "./deployment_record.ts";

export interface MemoryCacheOptions {
  /** Namespaces that exist; a put adds its namespace. */
  namespaces?: readonly string[];
  status?: Partial<Omit<CacheStatus, "deployments">>;
}

export class MemoryCache implements DeploymentCache {
  #index = new DeploymentIndex();
  #autoscalers = new AutoscalerIndex(this.#index);
  #namespaces: Set<string>;
  #status: Omit<CacheStatus, "deployments">;

  constructor(options: MemoryCacheOptions = {}) {
    this.#namespaces = new Set(options.namespaces ?? []);
    this.#status = { synced: true, connected: true, lastContactAt: Date.now(), error: undefined, restarts: 0, ...options.status };
  }

  put(record: DeploymentRecord): void {
    this.#namespaces.add(record.namespace);
    this.#index.upsert(this.#autoscalers.decorate(Object.freeze({ ...record })));
  }

  /** Adds or replaces a HorizontalPodAutoscaler (the shape the API server sends). */
  putAutoscaler(obj: AutoscalerLike): void {
    this.#autoscalers.upsert(obj);
  }

  removeAutoscaler(namespace: string, name: string): void {
    this.#autoscalers.remove(namespace, name);
  }

  remove(namespace: string, name: string): void {
    this.#index.remove(namespace, name);
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
}
