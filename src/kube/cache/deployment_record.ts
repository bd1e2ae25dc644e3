/**
 * The few fields the API serves, copied out of a Deployment into a small
 * frozen record. Objects from the informer are never handed out or mutated.
 */
import type { AutoscalerRef } from "./autoscaler_index.ts";

export interface DeploymentRecord {
  readonly namespace: string;
  readonly name: string;
  readonly replicas: number;
  readonly readyReplicas: number;
  readonly availableReplicas: number;
  readonly resourceVersion: string;
  /** The HorizontalPodAutoscaler that scales this Deployment; absent when none does. */
  readonly autoscaler?: AutoscalerRef;
}

/** The shape we read from both list results (class instances) and watch events (plain JSON). */
export interface DeploymentLike {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: { replicas?: number };
  status?: { readyReplicas?: number; availableReplicas?: number };
}

export function toRecord(obj: DeploymentLike): DeploymentRecord | undefined {
  const name = obj.metadata?.name;
  const namespace = obj.metadata?.namespace;
  if (!name || !namespace) return undefined;
  return Object.freeze({
    namespace,
    name,
    // The API server defaults spec.replicas to 1, so absence only happens in hand-made objects.
    replicas: obj.spec?.replicas ?? 1,
    readyReplicas: obj.status?.readyReplicas ?? 0,
    availableReplicas: obj.status?.availableReplicas ?? 0,
    resourceVersion: obj.metadata?.resourceVersion ?? "",
  });
}
