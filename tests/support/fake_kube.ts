/**
 * A fake Kubernetes API for unit tests: an object store with increasing
 * resourceVersions, list functions, and a Watch-shaped object whose streams
 * the test drives (emit events, close cleanly, fail, expire with 410).
 */
import type { KubeSource } from "../../src/kube/informer/informer_cache.ts";
import type { ListResult, WatchLike } from "../../src/kube/api/mod.ts";

// deno-lint-ignore no-explicit-any
type Obj = any;

type Kind = "deployments" | "namespaces" | "horizontalpodautoscalers";

export interface OpenWatch {
  path: string;
  params: Record<string, unknown>;
  emit(type: string, obj: Obj): void;
  /** Ends the watch: done(err), once. Also works after abort(), to report the abort as late as a test wants. */
  close(err?: unknown): void;
  closed: boolean;
  aborted: boolean;
}

export class FakeKube implements KubeSource {
  #rv = 100;
  deployments = new Map<string, Obj>();
  namespaces = new Map<string, Obj>();
  autoscalers = new Map<string, Obj>();
  listCalls: string[] = [];
  watches: OpenWatch[] = [];
  /** Errors thrown by the next list calls, in order. */
  listFailures: unknown[] = [];
  /** Errors with which the next watch requests fail immediately, in order. */
  watchFailures: unknown[] = [];

  nextVersion(): string {
    return String(++this.#rv);
  }

  deployment(namespace: string, name: string, replicas = 1, status: { readyReplicas?: number; availableReplicas?: number } = {}): Obj {
    return { metadata: { namespace, name, resourceVersion: this.nextVersion() }, spec: { replicas }, status };
  }

  /** An autoscaling/v2 HorizontalPodAutoscaler scaling the Deployment `target`. */
  autoscaler(namespace: string, name: string, target: string, minReplicas = 2, maxReplicas = 10): Obj {
    return {
      metadata: { namespace, name, resourceVersion: this.nextVersion() },
      spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target }, minReplicas, maxReplicas },
    };
  }

  /** Stores an object and tells every open watch on a matching path. */
  put(obj: Obj, kind: Kind = "deployments"): Obj {
    const store = this.#store(kind);
    const key = kind === "namespaces" ? obj.metadata.name : `${obj.metadata.namespace}/${obj.metadata.name}`;
    const type = store.has(key) ? "MODIFIED" : "ADDED";
    obj.metadata.resourceVersion = this.nextVersion();
    store.set(key, structuredClone(obj));
    this.#broadcast(kind, obj.metadata.namespace, type, obj);
    return obj;
  }

  delete(namespace: string, name: string, kind: "deployments" | "horizontalpodautoscalers" = "deployments"): void {
    const key = `${namespace}/${name}`;
    const store = this.#store(kind);
    const obj = store.get(key);
    if (!obj) return;
    store.delete(key);
    obj.metadata.resourceVersion = this.nextVersion();
    this.#broadcast(kind, namespace, "DELETED", obj);
  }

  #store(kind: Kind): Map<string, Obj> {
    return kind === "deployments" ? this.deployments : kind === "namespaces" ? this.namespaces : this.autoscalers;
  }

  bookmark(): void {
    const rv = this.nextVersion();
    for (const w of this.open()) w.emit("BOOKMARK", { kind: "Deployment", metadata: { resourceVersion: rv } });
  }

  open(): OpenWatch[] {
    return this.watches.filter((w) => !w.closed);
  }

  #broadcast(kind: Kind, namespace: string | undefined, type: string, obj: Obj): void {
    const group = kind === "deployments" ? "/apis/apps/v1" : kind === "namespaces" ? "/api/v1" : "/apis/autoscaling/v2";
    const all = `${group}/${kind}`;
    const nsPath = `${group}/namespaces/${namespace}/${kind}`;
    for (const w of this.open()) {
      if (w.path === all || (kind !== "namespaces" && w.path === nsPath)) w.emit(type, structuredClone(obj));
    }
  }

  async listDeployments(namespace?: string): Promise<ListResult> {
    this.listCalls.push(namespace ? `deployments/${namespace}` : "deployments");
    await Promise.resolve();
    if (this.listFailures.length) throw this.listFailures.shift();
    const items = [...this.deployments.values()].filter((d) => !namespace || d.metadata.namespace === namespace);
    return { metadata: { resourceVersion: String(this.#rv) }, items: structuredClone(items) };
  }

  async listNamespaces(): Promise<ListResult> {
    this.listCalls.push("namespaces");
    await Promise.resolve();
    if (this.listFailures.length) throw this.listFailures.shift();
    return { metadata: { resourceVersion: String(this.#rv) }, items: structuredClone([...this.namespaces.values()]) };
  }

  async listAutoscalers(namespace?: string): Promise<ListResult> {
    this.listCalls.push(namespace ? `horizontalpodautoscalers/${namespace}` : "horizontalpodautoscalers");
    await Promise.resolve();
    if (this.listFailures.length) throw this.listFailures.shift();
    const items = [...this.autoscalers.values()].filter((d) => !namespace || d.metadata.namespace === namespace);
    return { metadata: { resourceVersion: String(this.#rv) }, items: structuredClone(items) };
  }

  watch: WatchLike = {
    watch: (path, params, callback, done) => {
      let doneCalled = false;
      const w: OpenWatch = {
        path,
        params,
        closed: false,
        aborted: false,
        emit: (type, obj) => {
          if (!w.closed) callback(type, obj, { type, object: obj });
        },
        // After abort() this still reports, once: a real watch reports its abort, possibly late.
        close: (err) => {
          if (doneCalled) return;
          doneCalled = true;
          w.closed = true;
          done(err ?? null);
        },
      };
      this.watches.push(w);
      if (this.watchFailures.length) {
        w.close(this.watchFailures.shift());
      }
      return Promise.resolve({
        abort: () => {
          w.aborted = true;
          w.closed = true;
        },
      });
    },
  };
}

/** An error shaped like client-node's Watch failure for an HTTP status. */
export function httpError(statusCode: number, message = `HTTP ${statusCode}`): Error {
  return Object.assign(new Error(message), { statusCode });
}

/** Polls until `check` stops throwing, or fails with its last error. */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}
