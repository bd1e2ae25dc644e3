/**
 * ReplicaSets beside tests/support/fake_kube.ts's Deployments: a store on the same resourceVersion counter whose
 * changes reach the watches FakeKube opened on a ReplicaSet path, and a KubeSource that lists both.
 */
import type { KubeSource } from "../../../src/kube/informer/informer_cache.ts";
import type { ListResult } from "../../../src/kube/api/mod.ts";
import type { FakeKube } from "../../support/fake_kube.ts";

// deno-lint-ignore no-explicit-any
type Obj = any;

export interface ReplicaSetSpec {
  owner: { name: string; uid: string };
  revision: number | string;
  containers?: { name: string; image: string }[];
  initContainers?: { name: string; image: string }[];
  changeCause?: string;
  replicas?: number;
  created?: string;
  /** Extra annotations (e.g. last-applied-configuration) and labels of the template. */
  annotations?: Record<string, string>;
  labels?: Record<string, string>;
}

/** An apps/v1 ReplicaSet as the Deployment controller makes it. */
export function replicaSet(namespace: string, name: string, spec: ReplicaSetSpec): Obj {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      namespace,
      name,
      uid: `uid-${name}`,
      creationTimestamp: spec.created ?? "2026-01-02T03:04:05Z",
      annotations: {
        "deployment.kubernetes.io/revision": String(spec.revision),
        ...(spec.changeCause ? { "kubernetes.io/change-cause": spec.changeCause } : {}),
        ...spec.annotations,
      },
      labels: { app: spec.owner.name, "pod-template-hash": name.split("-").pop()!, ...spec.labels },
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "Deployment",
          name: spec.owner.name,
          uid: spec.owner.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    spec: {
      replicas: spec.replicas ?? 0,
      template: {
        metadata: { labels: { app: spec.owner.name, "pod-template-hash": name.split("-").pop()! } },
        spec: { containers: spec.containers ?? [{ name: "web", image: "app:1" }], initContainers: spec.initContainers },
      },
    },
    status: { replicas: spec.replicas ?? 0 },
  };
}

export class FakeReplicaSets {
  readonly items = new Map<string, Obj>();
  listCalls = 0;

  constructor(readonly kube: FakeKube) {}

  put(obj: Obj): Obj {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    const type = this.items.has(key) ? "MODIFIED" : "ADDED";
    obj.metadata.resourceVersion = this.kube.nextVersion();
    this.items.set(key, structuredClone(obj));
    this.#broadcast(obj.metadata.namespace, type, obj);
    return obj;
  }

  delete(namespace: string, name: string): void {
    const obj = this.items.get(`${namespace}/${name}`);
    if (!obj) return;
    this.items.delete(`${namespace}/${name}`);
    obj.metadata.resourceVersion = this.kube.nextVersion();
    this.#broadcast(namespace, "DELETED", obj);
  }

  async list(namespace?: string): Promise<ListResult> {
    this.listCalls++;
    await Promise.resolve();
    const items = [...this.items.values()].filter((r) => !namespace || r.metadata.namespace === namespace);
    return { metadata: { resourceVersion: this.kube.nextVersion() }, items: structuredClone(items) };
  }

  /** FakeKube's source, with ReplicaSets listed here (their watches are FakeKube's, fed from here). */
  source(): KubeSource {
    const kube = this.kube;
    return {
      listDeployments: (ns) => kube.listDeployments(ns),
      listNamespaces: () => kube.listNamespaces(),
      listAutoscalers: (ns) => kube.listAutoscalers(ns),
      listReplicaSets: (ns) => this.list(ns),
      watch: kube.watch,
    };
  }

  #broadcast(namespace: string, type: string, obj: Obj): void {
    for (const w of this.kube.open()) {
      if (w.path === "/apis/apps/v1/replicasets" || w.path === `/apis/apps/v1/namespaces/${namespace}/replicasets`) {
        w.emit(type, structuredClone(obj));
      }
    }
  }
}
