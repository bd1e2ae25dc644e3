/**
 * The Deployment and ReplicaSet calls the rollout operations make: the seam between the writer and the API server
 * (client.ts backs it on Deno's fetch, tests use a fake), as ScaleApi is for a scale.
 */
import type { ContainerLike } from "../cache/mod.ts";
import type { OwnerReferenceLike } from "../cache/mod.ts";

/** A pod template as the API server serves it; only the parts the writer looks at are typed, the rest is carried. */
export interface PodTemplateJson {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; [field: string]: unknown };
  spec?: { containers?: ContainerLike[]; initContainers?: ContainerLike[]; [field: string]: unknown };
  [field: string]: unknown;
}

/** The fields of an apps/v1 Deployment the writer reads (an answer of GET or PATCH). */
export interface DeploymentObject {
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec?: { replicas?: number; paused?: boolean; template?: PodTemplateJson };
  status?: { readyReplicas?: number; availableReplicas?: number };
}

/** The fields of an apps/v1 ReplicaSet an undo reads: the revision's pod template and who controls it. */
export interface ReplicaSetObject {
  metadata?: {
    name?: string;
    namespace?: string;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReferenceLike[];
  };
  spec?: { template?: PodTemplateJson };
}

/**
 * How a patch is read by the API server: `merge` (RFC 7386), `strategic` (Kubernetes' strategic merge: lists of
 * containers merge by name) or `json` (RFC 6902 operations).
 */
export type PatchType = "merge" | "strategic" | "json";

export const PATCH_CONTENT_TYPES: Readonly<Record<PatchType, string>> = Object.freeze({
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
});

export interface DeploymentApi {
  readDeployment(namespace: string, name: string): Promise<DeploymentObject>;
  /**
   * PATCH of the Deployment (fieldManager replica-api), answering it as it is after the patch. The writer always
   * puts the resourceVersion it was based on into the patch, so a concurrent change answers 409. With `dryRun`
   * the API server runs admission and validation (dryRun=All) and persists nothing.
   */
  patchDeployment(
    namespace: string,
    name: string,
    patch: unknown,
    options: { type: PatchType; dryRun?: boolean },
  ): Promise<DeploymentObject>;
  /** One ReplicaSet, read from the API server (an undo never restores a template from the cache's word). */
  readReplicaSet(namespace: string, name: string): Promise<ReplicaSetObject>;
}
