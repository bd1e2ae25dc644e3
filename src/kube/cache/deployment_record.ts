/**
 * The few fields the API serves, copied out of a Deployment into a small
 * frozen record. Objects from the informer are never handed out or mutated.
 *
 * Every record is built by `deploymentRecord()`: one class, so 50,000 records share one shape and one prototype
 * (no per-record closures), and one explicit JSON form (`toJSON`), so that adding a field here never changes a
 * list, GET or watch body by accident: those bodies serialise whole records, and a field is exposed only when a
 * handler puts it in a body on purpose.
 */
import type { AutoscalerRef } from "./autoscaler_index.ts";

/** One container of the pod template and the image it runs, as `kubectl set image` sees them. */
export interface ContainerImage {
  readonly name: string;
  readonly image: string;
  /** An init container: kubectl set image counts them too, after the app containers. */
  readonly init?: true;
}

export interface DeploymentRecord {
  readonly namespace: string;
  readonly name: string;
  readonly replicas: number;
  readonly readyReplicas: number;
  readonly availableReplicas: number;
  readonly resourceVersion: string;
  /** The HorizontalPodAutoscaler that scales this Deployment; absent when none does. */
  readonly autoscaler?: AutoscalerRef;
  /** metadata.uid: the ReplicaSets it owns name it, and an Event points at it. */
  readonly uid?: string;
  /**
   * spec.paused. Every record a cache hands out has it (false when not paused); optional in the type only so
   * that records written by hand before it existed (tests of other layers) still type-check.
   * TODO(#19): make it required once those records carry it.
   */
  readonly paused?: boolean;
  /** The deployment.kubernetes.io/revision annotation: the revision in force, once the controller has set it. */
  readonly revision?: number;
  /**
   * The pod template's containers, then its init containers, with their images. Every record a cache hands out
   * has it (empty at worst); optional in the type for the same reason as `paused`. TODO(#19): make it required.
   */
  readonly containers?: readonly ContainerImage[];
  /** The pod template's kubectl.kubernetes.io/restartedAt annotation: the last `rollout restart`, if any. */
  readonly restartedAt?: string;
}

/** The shape we read from both list results (class instances) and watch events (plain JSON). */
export interface DeploymentLike {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string; annotations?: Record<string, string> };
  spec?: {
    replicas?: number;
    paused?: boolean;
    template?: {
      metadata?: { annotations?: Record<string, string> };
      spec?: { containers?: readonly ContainerLike[]; initContainers?: readonly ContainerLike[] };
    };
  };
  status?: { readyReplicas?: number; availableReplicas?: number };
}

export interface ContainerLike {
  name?: string;
  image?: string;
}

export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
export const RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt";

const NO_CONTAINERS: readonly ContainerImage[] = Object.freeze([]);

/** One class for every record: a shared shape and prototype, fields assigned in one order. */
class FrozenRecord implements DeploymentRecord {
  readonly namespace: string;
  readonly name: string;
  readonly replicas: number;
  readonly readyReplicas: number;
  readonly availableReplicas: number;
  readonly resourceVersion: string;
  readonly paused: boolean;
  readonly containers: readonly ContainerImage[];
  // `declare`: absent rather than present-and-undefined when a Deployment has none (records compare as before).
  declare readonly uid?: string;
  declare readonly revision?: number;
  declare readonly restartedAt?: string;
  declare readonly autoscaler?: AutoscalerRef;

  constructor(f: DeploymentRecord) {
    this.namespace = f.namespace;
    this.name = f.name;
    this.replicas = f.replicas;
    this.readyReplicas = f.readyReplicas;
    this.availableReplicas = f.availableReplicas;
    this.resourceVersion = f.resourceVersion;
    this.paused = f.paused ?? false;
    this.containers = f.containers === undefined ? NO_CONTAINERS : freezeContainers(f.containers);
    const self = this as { -readonly [K in keyof DeploymentRecord]: DeploymentRecord[K] };
    if (f.uid !== undefined) self.uid = f.uid;
    if (f.revision !== undefined) self.revision = f.revision;
    if (f.restartedAt !== undefined) self.restartedAt = f.restartedAt;
    if (f.autoscaler !== undefined) self.autoscaler = f.autoscaler;
  }

  /**
   * The JSON form: the fields the API served before the rollout operations existed, in their old order. The new
   * fields (uid, paused, revision, containers, restartedAt) stay out of every body that serialises whole records
   * until a handler decides to show them.
   */
  toJSON(): Partial<DeploymentRecord> {
    const json: { -readonly [K in keyof DeploymentRecord]?: DeploymentRecord[K] } = {
      namespace: this.namespace,
      name: this.name,
      replicas: this.replicas,
      readyReplicas: this.readyReplicas,
      availableReplicas: this.availableReplicas,
      resourceVersion: this.resourceVersion,
    };
    if (this.autoscaler !== undefined) json.autoscaler = this.autoscaler;
    return json;
  }
}

/** A frozen record from its fields (paused defaults to false, containers to none); the only way records are made. */
export function deploymentRecord(fields: DeploymentRecord): DeploymentRecord {
  return Object.freeze(new FrozenRecord(fields));
}

/**
 * The record of a Deployment object, or undefined without name or namespace. `previous` is the record it
 * replaces: its container list is reused when unchanged, so the status updates that make up most watch events
 * allocate no new one.
 */
export function toRecord(obj: DeploymentLike, previous?: DeploymentRecord): DeploymentRecord | undefined {
  const name = obj.metadata?.name;
  const namespace = obj.metadata?.namespace;
  if (!name || !namespace) return undefined;
  const template = obj.spec?.template;
  const containers = containersOf(template?.spec?.containers, template?.spec?.initContainers);
  return deploymentRecord({
    namespace,
    name,
    // The API server defaults spec.replicas to 1, so absence only happens in hand-made objects.
    replicas: obj.spec?.replicas ?? 1,
    readyReplicas: obj.status?.readyReplicas ?? 0,
    availableReplicas: obj.status?.availableReplicas ?? 0,
    resourceVersion: obj.metadata?.resourceVersion ?? "",
    paused: obj.spec?.paused === true,
    containers: previous?.containers && sameContainers(previous.containers, containers) ? previous.containers : containers,
    uid: obj.metadata?.uid || undefined,
    revision: parseRevision(obj.metadata?.annotations?.[REVISION_ANNOTATION]),
    restartedAt: template?.metadata?.annotations?.[RESTARTED_AT_ANNOTATION] || undefined,
  });
}

/** App containers then init containers, frozen; the shared empty list when there are none. */
export function containersOf(
  containers: readonly ContainerLike[] | undefined,
  initContainers: readonly ContainerLike[] | undefined,
): readonly ContainerImage[] {
  if (!containers?.length && !initContainers?.length) return NO_CONTAINERS;
  const out: ContainerImage[] = [];
  for (const c of containers ?? []) if (c.name) out.push(Object.freeze({ name: c.name, image: c.image ?? "" }));
  for (const c of initContainers ?? []) if (c.name) out.push(Object.freeze({ name: c.name, image: c.image ?? "", init: true as const }));
  return out.length === 0 ? NO_CONTAINERS : Object.freeze(out);
}

/** Whether two container lists name the same containers with the same images, in the same order. */
export function sameContainers(a: readonly ContainerImage[], b: readonly ContainerImage[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].name !== b[i].name || a[i].image !== b[i].image || a[i].init !== b[i].init) return false;
  }
  return true;
}

/** A revision annotation as a number: a positive decimal integer, else undefined (kubectl ignores others too). */
export function parseRevision(value: string | undefined): number | undefined {
  if (value === undefined || !/^[1-9][0-9]{0,15}$/.test(value)) return undefined;
  return Number(value);
}

function freezeContainers(containers: readonly ContainerImage[]): readonly ContainerImage[] {
  if (containers.length === 0) return NO_CONTAINERS;
  if (Object.isFrozen(containers) && containers.every(Object.isFrozen)) return containers;
  return Object.freeze(
    containers.map((c) => Object.freeze(c.init ? { name: c.name, image: c.image, init: true as const } : { name: c.name, image: c.image })),
  );
}
