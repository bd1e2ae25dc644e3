/**
 * A Deployment's revisions, as `kubectl rollout history` finds them: the ReplicaSets it controls, each with the
 * deployment.kubernetes.io/revision annotation the Deployment controller gives it. Kept as small frozen records,
 * indexed by owning Deployment, so the revisions read and an undo's choice of revision never ask the API server.
 *
 * ReplicaSets are joined to their Deployment by name (the controller ownerReference names it) and filtered by uid
 * on read: a ReplicaSet left behind by a deleted Deployment of the same name (orphaned, or not yet garbage
 * collected) is not a revision of the new one.
 */
import { type ContainerImage, type ContainerLike, containersOf, parseRevision, REVISION_ANNOTATION } from "./deployment_record.ts";

export const CHANGE_CAUSE_ANNOTATION = "kubernetes.io/change-cause";

/** One revision of a Deployment: the few fields of its ReplicaSet that history and undo need. */
export interface ReplicaSetRecord {
  readonly namespace: string;
  /** The ReplicaSet's name, e.g. "web-7d9c8b6f5". */
  readonly name: string;
  /** The uid of the Deployment that controls it. */
  readonly ownerUid: string;
  readonly ownerName: string;
  readonly revision: number;
  /** Its pod template's containers, then init containers (`init: true`). */
  readonly containers: readonly ContainerImage[];
  /** The kubernetes.io/change-cause annotation, when set. */
  readonly changeCause?: string;
  /** metadata.creationTimestamp (RFC 3339). */
  readonly created: string;
  /** status.replicas: Pods it runs now (the current revision's, or an old one's still scaling down). */
  readonly replicas: number;
}

/** The fields of an apps/v1 ReplicaSet we read. */
export interface ReplicaSetLike {
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    creationTimestamp?: string | Date;
    annotations?: Record<string, string>;
    ownerReferences?: readonly OwnerReferenceLike[];
  };
  spec?: { template?: { spec?: { containers?: readonly ContainerLike[]; initContainers?: readonly ContainerLike[] } } };
  status?: { replicas?: number };
}

export interface OwnerReferenceLike {
  apiVersion?: string;
  kind?: string;
  name?: string;
  uid?: string;
  controller?: boolean;
}

/** The Deployment that controls a ReplicaSet (its controller ownerReference), or undefined when none does. */
export function controllingDeployment(obj: ReplicaSetLike): { name: string; uid: string } | undefined {
  for (const ref of obj.metadata?.ownerReferences ?? []) {
    if (ref.controller !== true) continue;
    // The controller is the one reference with controller=true; anything but an apps Deployment is not ours.
    const group = (ref.apiVersion ?? "").split("/")[0];
    return ref.kind === "Deployment" && group === "apps" && ref.name && ref.uid ? { name: ref.name, uid: ref.uid } : undefined;
  }
  return undefined;
}

/** Keeps only what the index needs, so the reflector's own store stays small. */
export function trimReplicaSet(obj: ReplicaSetLike): ReplicaSetLike {
  const m = obj.metadata;
  const owner = controllingDeployment(obj);
  const annotations: Record<string, string> = {};
  const revision = m?.annotations?.[REVISION_ANNOTATION];
  const cause = m?.annotations?.[CHANGE_CAUSE_ANNOTATION];
  if (revision !== undefined) annotations[REVISION_ANNOTATION] = revision;
  if (cause !== undefined) annotations[CHANGE_CAUSE_ANNOTATION] = cause;
  const spec = obj.spec?.template?.spec;
  const images = (list: readonly ContainerLike[] | undefined) => list?.map((c) => ({ name: c.name, image: c.image }));
  return {
    metadata: {
      name: m?.name,
      namespace: m?.namespace,
      resourceVersion: m?.resourceVersion,
      creationTimestamp: m?.creationTimestamp,
      annotations,
      ownerReferences: owner ? [{ apiVersion: "apps/v1", kind: "Deployment", name: owner.name, uid: owner.uid, controller: true }] : [],
    },
    spec: { template: { spec: { containers: images(spec?.containers), initContainers: images(spec?.initContainers) } } },
    status: { replicas: obj.status?.replicas },
  };
}

/** The record of a ReplicaSet, or undefined when it is not a revision of a Deployment (no controller Deployment, no revision). */
export function toReplicaSetRecord(obj: ReplicaSetLike): ReplicaSetRecord | undefined {
  const namespace = obj.metadata?.namespace;
  const name = obj.metadata?.name;
  const owner = controllingDeployment(obj);
  const revision = parseRevision(obj.metadata?.annotations?.[REVISION_ANNOTATION]);
  if (!namespace || !name || !owner || revision === undefined) return undefined;
  const created = obj.metadata?.creationTimestamp;
  const cause = obj.metadata?.annotations?.[CHANGE_CAUSE_ANNOTATION];
  const record: { -readonly [K in keyof ReplicaSetRecord]: ReplicaSetRecord[K] } = {
    namespace,
    name,
    ownerUid: owner.uid,
    ownerName: owner.name,
    revision,
    containers: containersOf(obj.spec?.template?.spec?.containers, obj.spec?.template?.spec?.initContainers),
    created: created instanceof Date ? created.toISOString().replace(/\.\d{3}Z$/, "Z") : created ?? "",
    replicas: obj.status?.replicas ?? 0,
  };
  if (cause) record.changeCause = cause;
  return Object.freeze(record);
}

const NONE: readonly ReplicaSetRecord[] = Object.freeze([]);

export class RevisionIndex {
  /** By "namespace/replicaset": the Deployment each one was filed under. */
  #owners = new Map<string, string>();
  /** By namespace, then Deployment name, then ReplicaSet name. */
  #byOwner = new Map<string, Map<string, Map<string, ReplicaSetRecord>>>();

  /** ReplicaSets indexed (revisions of some Deployment). */
  get size(): number {
    return this.#owners.size;
  }

  upsert(obj: ReplicaSetLike): void {
    const namespace = obj.metadata?.namespace;
    const name = obj.metadata?.name;
    if (!namespace || !name) return;
    // Adopted, orphaned or released: whatever it was filed under before no longer holds.
    this.remove(namespace, name);
    const record = toReplicaSetRecord(obj);
    if (!record) return;
    this.#owners.set(`${namespace}/${name}`, record.ownerName);
    let owners = this.#byOwner.get(namespace);
    if (!owners) this.#byOwner.set(namespace, owners = new Map());
    let sets = owners.get(record.ownerName);
    if (!sets) owners.set(record.ownerName, sets = new Map());
    sets.set(name, record);
  }

  remove(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const owner = this.#owners.get(key);
    if (owner === undefined) return;
    this.#owners.delete(key);
    const owners = this.#byOwner.get(namespace)!;
    const sets = owners.get(owner)!;
    sets.delete(name);
    if (sets.size === 0) owners.delete(owner);
    if (owners.size === 0) this.#byOwner.delete(namespace);
  }

  /**
   * The revisions of Deployment `namespace/deployment`, ascending; only the ReplicaSets controlled by `uid` when
   * it is given. Built on each call: a Deployment keeps ~10 revisions (revisionHistoryLimit) and this is read rarely.
   */
  revisions(namespace: string, deployment: string, uid?: string): readonly ReplicaSetRecord[] {
    const sets = this.#byOwner.get(namespace)?.get(deployment);
    if (!sets) return NONE;
    const out: ReplicaSetRecord[] = [];
    for (const record of sets.values()) if (uid === undefined || record.ownerUid === uid) out.push(record);
    // Equal revisions happen only briefly (a ReplicaSet being replaced); the name keeps the order stable.
    out.sort((a, b) => a.revision - b.revision || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return Object.freeze(out);
  }
}
