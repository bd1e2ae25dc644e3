/**
 * Our own index of Deployment records keyed by namespace and name. It is fed
 * by informer events (or directly, in the fake) and serves every read. Sorted
 * list views are built lazily and reused until the next change, so a burst of
 * list requests costs one sort.
 */
import type { DeploymentRecord } from "./deployment_record.ts";
import { isAtLeastVersion } from "./resource_version.ts";

interface Waiter {
  readonly targetVersion: string;
  readonly resolve: (record: DeploymentRecord | undefined) => void;
}

export class DeploymentIndex {
  #byNamespace = new Map<string, Map<string, DeploymentRecord>>();
  #size = 0;
  #sortedAll: readonly DeploymentRecord[] | undefined;
  #sortedByNamespace = new Map<string, readonly DeploymentRecord[]>();
  #waiters = new Map<string, Set<Waiter>>();

  get size(): number {
    return this.#size;
  }

  get(namespace: string, name: string): DeploymentRecord | undefined {
    return this.#byNamespace.get(namespace)?.get(name);
  }

  /** All records, or one namespace's, sorted by namespace then name. */
  list(namespace?: string): readonly DeploymentRecord[] {
    if (namespace === undefined) {
      if (!this.#sortedAll) {
        const all: DeploymentRecord[] = [];
        for (const ns of [...this.#byNamespace.keys()].sort()) all.push(...this.list(ns));
        this.#sortedAll = Object.freeze(all);
      }
      return this.#sortedAll;
    }
    let cached = this.#sortedByNamespace.get(namespace);
    if (!cached) {
      const records = this.#byNamespace.get(namespace);
      cached = Object.freeze(records ? [...records.values()].sort((a, b) => compare(a.name, b.name)) : []);
      this.#sortedByNamespace.set(namespace, cached);
    }
    return cached;
  }

  upsert(record: DeploymentRecord): void {
    let names = this.#byNamespace.get(record.namespace);
    if (!names) {
      names = new Map();
      this.#byNamespace.set(record.namespace, names);
    }
    if (!names.has(record.name)) this.#size++;
    names.set(record.name, record);
    this.#invalidate(record.namespace);
    this.#notify(record.namespace, record.name, record);
  }

  remove(namespace: string, name: string): void {
    const names = this.#byNamespace.get(namespace);
    if (!names?.delete(name)) return;
    this.#size--;
    if (names.size === 0) this.#byNamespace.delete(namespace);
    this.#invalidate(namespace);
    this.#notify(namespace, name, undefined);
  }

  /**
   * Resolves with the record once the index holds `resourceVersion` (or newer)
   * for that Deployment, or with undefined after `timeoutMs`, or when it is deleted.
   */
  waitForVersion(namespace: string, name: string, resourceVersion: string, timeoutMs: number): Promise<DeploymentRecord | undefined> {
    const current = this.get(namespace, name);
    if (current && isAtLeastVersion(current.resourceVersion, resourceVersion)) return Promise.resolve(current);
    const key = `${namespace}/${name}`;
    return new Promise((resolve) => {
      let set = this.#waiters.get(key);
      if (!set) {
        set = new Set();
        this.#waiters.set(key, set);
      }
      const waiter: Waiter = {
        targetVersion: resourceVersion,
        resolve: (record) => {
          clearTimeout(timer);
          set!.delete(waiter);
          if (set!.size === 0 && this.#waiters.get(key) === set) this.#waiters.delete(key);
          resolve(record);
        },
      };
      const timer = setTimeout(() => waiter.resolve(undefined), timeoutMs);
      set.add(waiter);
    });
  }

  #invalidate(namespace: string): void {
    this.#sortedAll = undefined;
    this.#sortedByNamespace.delete(namespace);
  }

  #notify(namespace: string, name: string, record: DeploymentRecord | undefined): void {
    const set = this.#waiters.get(`${namespace}/${name}`);
    if (!set) return;
    for (const waiter of [...set]) {
      if (!record || isAtLeastVersion(record.resourceVersion, waiter.targetVersion)) waiter.resolve(record);
    }
  }
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
