/**
 * HorizontalPodAutoscalers, indexed by the Deployment they scale and joined
 * into the Deployment records the API serves. The join happens when either
 * side changes, not on every read, so lists keep reusing their serialised
 * text and a read costs nothing extra.
 */
import type { DeploymentIndex } from "./deployment_index.ts";
import { type DeploymentRecord, deploymentRecord } from "./deployment_record.ts";

/** The autoscaler that scales a Deployment, as the API shows it. */
export interface AutoscalerRef {
  readonly name: string;
  readonly minReplicas: number;
  readonly maxReplicas: number;
}

/** The fields of an autoscaling/v2 HorizontalPodAutoscaler we read. */
export interface AutoscalerLike {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: { scaleTargetRef?: { apiVersion?: string; kind?: string; name?: string }; minReplicas?: number; maxReplicas?: number };
}

/** Keeps only what the index needs, so the reflector's own store stays small. */
export function trimAutoscaler(obj: AutoscalerLike): AutoscalerLike {
  const ref = obj.spec?.scaleTargetRef;
  return {
    metadata: { name: obj.metadata?.name, namespace: obj.metadata?.namespace, resourceVersion: obj.metadata?.resourceVersion },
    spec: {
      scaleTargetRef: { apiVersion: ref?.apiVersion, kind: ref?.kind, name: ref?.name },
      minReplicas: obj.spec?.minReplicas,
      maxReplicas: obj.spec?.maxReplicas,
    },
  };
}

/**
 * The Deployment an HPA scales, or undefined when it scales something else. The HPA controller resolves
 * its target by API group and kind (any version of `apps` reaches the same Deployment), so we match on the
 * group too: an HPA written against apps/v1beta2 fights a manual scale just the same.
 */
export function deploymentTarget(obj: AutoscalerLike): string | undefined {
  const ref = obj.spec?.scaleTargetRef;
  if (ref?.kind !== "Deployment" || !ref.name) return undefined;
  const slash = (ref.apiVersion ?? "").indexOf("/");
  return slash > 0 && ref.apiVersion!.slice(0, slash) === "apps" ? ref.name : undefined;
}

interface Entry {
  readonly target: string;
  readonly ref: AutoscalerRef;
}

export class AutoscalerIndex {
  readonly #deployments: DeploymentIndex;
  /** By "namespace/hpa". */
  #byName = new Map<string, Entry>();
  /** By namespace, then Deployment name, then HPA name. */
  #byTarget = new Map<string, Map<string, Map<string, AutoscalerRef>>>();

  /** `deployments` is the index whose records are kept joined with the autoscalers. */
  constructor(deployments: DeploymentIndex) {
    this.#deployments = deployments;
  }

  get size(): number {
    return this.#byName.size;
  }

  /** The autoscaler scaling a Deployment; when several do (they then fight each other too), the first by name. */
  find(namespace: string, deployment: string): AutoscalerRef | undefined {
    const refs = this.#byTarget.get(namespace)?.get(deployment);
    if (!refs) return undefined;
    let first: AutoscalerRef | undefined;
    for (const ref of refs.values()) if (!first || ref.name < first.name) first = ref;
    return first;
  }

  /** `record` with the `autoscaler` field that is true now; the same object when nothing changes. */
  decorate(record: DeploymentRecord): DeploymentRecord {
    const ref = this.find(record.namespace, record.name);
    if (sameRef(record.autoscaler, ref)) return record;
    const { autoscaler: _, ...rest } = record;
    return deploymentRecord(ref ? { ...rest, autoscaler: ref } : rest);
  }

  upsert(obj: AutoscalerLike): void {
    const namespace = obj.metadata?.namespace;
    const name = obj.metadata?.name;
    if (!namespace || !name) return;
    const previous = this.#byName.get(`${namespace}/${name}`);
    this.#unlink(namespace, name);
    const target = deploymentTarget(obj);
    if (target !== undefined) {
      const ref = Object.freeze({ name, minReplicas: obj.spec?.minReplicas ?? 1, maxReplicas: obj.spec?.maxReplicas ?? 0 });
      this.#byName.set(`${namespace}/${name}`, { target, ref });
      let targets = this.#byTarget.get(namespace);
      if (!targets) this.#byTarget.set(namespace, targets = new Map());
      let refs = targets.get(target);
      if (!refs) targets.set(target, refs = new Map());
      refs.set(name, ref);
      this.#refresh(namespace, target);
    }
    // An HPA moved to another target releases the old one.
    if (previous && previous.target !== target) this.#refresh(namespace, previous.target);
  }

  remove(namespace: string, name: string): void {
    const previous = this.#unlink(namespace, name);
    if (previous) this.#refresh(namespace, previous.target);
  }

  #unlink(namespace: string, name: string): Entry | undefined {
    const key = `${namespace}/${name}`;
    const entry = this.#byName.get(key);
    if (!entry) return undefined;
    this.#byName.delete(key);
    const targets = this.#byTarget.get(namespace)!;
    const refs = targets.get(entry.target)!;
    refs.delete(name);
    if (refs.size === 0) targets.delete(entry.target);
    if (targets.size === 0) this.#byTarget.delete(namespace);
    return entry;
  }

  /** Re-serves the target Deployment's record when its autoscaler changed. */
  #refresh(namespace: string, deployment: string): void {
    const record = this.#deployments.get(namespace, deployment);
    if (!record) return;
    const next = this.decorate(record);
    if (next !== record) this.#deployments.upsert(next);
  }
}

function sameRef(a: AutoscalerRef | undefined, b: AutoscalerRef | undefined): boolean {
  if (a === b) return true;
  return a !== undefined && b !== undefined && a.name === b.name && a.minReplicas === b.minReplicas && a.maxReplicas === b.maxReplicas;
}
