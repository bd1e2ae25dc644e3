/**
 * A DeploymentApi over one stored Deployment and its ReplicaSets that applies patches as the API server does for
 * the shapes the writer sends (a strategic merge of spec.paused, template annotations and containers by name; JSON
 * patch replace/add), with metadata.resourceVersion as the precondition: a stale one is a 409 Conflict. Every call
 * is recorded, and `onWritten` lets a test reflect the new state into a cache as an informer would.
 */
import { KubeApiError } from "../../../../src/kube/api/kube_api_error.ts";
import type { DeploymentApi, DeploymentObject, PatchType, ReplicaSetObject } from "../../../../src/kube/writes/deployment_api.ts";

// deno-lint-ignore no-explicit-any
type Obj = any;

export interface RecordedPatch {
  readonly type: PatchType;
  readonly dryRun: boolean;
  readonly patch: Obj;
}

export class FakeDeploymentApi implements DeploymentApi {
  deployment: Obj;
  replicaSets = new Map<string, Obj>();
  calls: string[] = [];
  patches: RecordedPatch[] = [];
  /** Errors the next patches fail with, in order. */
  patchFailures: Error[] = [];
  /** Runs before each patch is applied: a concurrent writer changing the Deployment, say. */
  beforePatch: () => void = () => {};
  onWritten: (obj: Obj) => void = () => {};

  constructor(deployment: Obj) {
    this.deployment = structuredClone(deployment);
  }

  /** Another writer's change: bumps the resourceVersion. */
  touch(change: (obj: Obj) => void = () => {}): void {
    change(this.deployment);
    this.deployment.metadata.resourceVersion = String(Number(this.deployment.metadata.resourceVersion) + 1);
    this.onWritten(structuredClone(this.deployment));
  }

  readDeployment(): Promise<DeploymentObject> {
    this.calls.push("readDeployment");
    return Promise.resolve(structuredClone(this.deployment));
  }

  readReplicaSet(_namespace: string, name: string): Promise<ReplicaSetObject> {
    this.calls.push(`readReplicaSet ${name}`);
    const rs = this.replicaSets.get(name);
    if (!rs) return Promise.reject(new KubeApiError(404, `replicasets.apps "${name}" not found`, "NotFound"));
    return Promise.resolve(structuredClone(rs));
  }

  patchDeployment(
    _namespace: string,
    _name: string,
    patch: unknown,
    options: { type: PatchType; dryRun?: boolean },
  ): Promise<DeploymentObject> {
    this.calls.push(`patch ${options.type}${options.dryRun ? " dryRun" : ""}`);
    this.patches.push({ type: options.type, dryRun: options.dryRun === true, patch: structuredClone(patch) });
    const failure = this.patchFailures.shift();
    if (failure) return Promise.reject(failure);
    this.beforePatch();
    const next = structuredClone(this.deployment);
    if (options.type === "json") applyJsonPatch(next, patch as Obj[]);
    else strategicMerge(next, patch as Obj);
    if (next.metadata.resourceVersion !== this.deployment.metadata.resourceVersion) {
      return Promise.reject(
        new KubeApiError(409, "the object has been modified; please apply your changes to the latest version", "Conflict"),
      );
    }
    if (options.dryRun) return Promise.resolve(next);
    next.metadata.resourceVersion = String(Number(this.deployment.metadata.resourceVersion) + 1);
    this.deployment = next;
    this.onWritten(structuredClone(next));
    return Promise.resolve(structuredClone(next));
  }
}

function strategicMerge(target: Obj, patch: Obj): void {
  for (const [key, value] of Object.entries(patch)) {
    if ((key === "containers" || key === "initContainers") && Array.isArray(value)) {
      const list: Obj[] = target[key] ??= [];
      for (const item of value as Obj[]) {
        const existing = list.find((c) => c.name === item.name);
        if (existing) Object.assign(existing, item);
        else list.push(structuredClone(item));
      }
    } else if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      target[key] ??= {};
      strategicMerge(target[key], value);
    } else {
      target[key] = structuredClone(value);
    }
  }
}

function applyJsonPatch(target: Obj, ops: Obj[]): void {
  for (const op of ops) {
    const path = (op.path as string).split("/").slice(1);
    const last = path.pop()!;
    let parent = target;
    for (const segment of path) parent = parent[segment];
    if (op.op === "replace" && !(last in parent)) {
      throw new KubeApiError(422, `replace operation does not apply: doc is missing key: ${op.path}`);
    }
    if (op.op !== "replace" && op.op !== "add") throw new Error(`unexpected op ${op.op}`);
    parent[last] = structuredClone(op.value);
  }
}
