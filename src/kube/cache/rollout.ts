/**
 * A Deployment's rollout progress, copied out of its status into a small frozen
 * record, and judged by the rules `kubectl rollout status` applies. Kept apart
 * from {@link DeploymentRecord} on purpose: the documented Deployment shape
 * (lists, GETs, watch events) stays as it is, and only a waiting request reads this.
 */
import type { DeploymentLike } from "./deployment_record.ts";

export interface RolloutCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
}

export interface RolloutStatus {
  /** metadata.generation: bumped by the API server on every spec change. */
  readonly generation: number;
  /** status.observedGeneration: the generation the controller has acted on. */
  readonly observedGeneration: number;
  /** spec.replicas. */
  readonly desiredReplicas: number;
  /** status.replicas: Pods of every ReplicaSet, old ones included. */
  readonly replicas: number;
  readonly updatedReplicas: number;
  readonly readyReplicas: number;
  readonly availableReplicas: number;
  /** The Deployment's conditions (Progressing, Available, ReplicaFailure). */
  readonly conditions: readonly RolloutCondition[];
}

/** The fields of a Deployment the rollout judgement needs (watch events and list items are both plain enough). */
export interface RolloutSource extends DeploymentLike {
  metadata?: DeploymentLike["metadata"] & { generation?: number };
  status?: DeploymentLike["status"] & {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
  };
}

/** Longest condition message kept: the controller's are one sentence; this bounds what a hostile object could cost. */
const MAX_MESSAGE = 512;

export function toRolloutStatus(obj: RolloutSource): RolloutStatus {
  const s = obj.status;
  const conditions = (s?.conditions ?? [])
    .filter((c) => typeof c?.type === "string")
    .map((c) =>
      Object.freeze({
        type: c.type!,
        status: String(c.status ?? "Unknown"),
        ...(c.reason ? { reason: String(c.reason) } : {}),
        ...(c.message ? { message: String(c.message).slice(0, MAX_MESSAGE) } : {}),
      })
    );
  return Object.freeze({
    generation: obj.metadata?.generation ?? 0,
    observedGeneration: s?.observedGeneration ?? 0,
    desiredReplicas: obj.spec?.replicas ?? 1,
    replicas: s?.replicas ?? 0,
    updatedReplicas: s?.updatedReplicas ?? 0,
    readyReplicas: s?.readyReplicas ?? 0,
    availableReplicas: s?.availableReplicas ?? 0,
    conditions: Object.freeze(conditions),
  });
}

export interface RolloutVerdict {
  readonly complete: boolean;
  /** Why it is not complete: a condition's reason (e.g. ProgressDeadlineExceeded), or what is still pending. */
  readonly reason?: string;
  readonly message?: string;
}

/**
 * kubectl's rules (DeploymentStatusViewer): the controller has observed the
 * current generation, every desired replica is updated, no old replica is
 * left, and the updated ones are available; the issue also asks for ready.
 * A Progressing condition with reason ProgressDeadlineExceeded is reported
 * as the reason, as kubectl does, but the wait goes on: the controller keeps
 * trying, and the rollout may still complete within the caller's timeout.
 */
export function assessRollout(s: RolloutStatus): RolloutVerdict {
  const pending = pendingStep(s);
  if (!pending) return COMPLETE;
  const condition = s.conditions.find((c) => c.type === "Progressing" && c.reason === "ProgressDeadlineExceeded") ??
    s.conditions.find((c) => c.type === "ReplicaFailure" && c.status === "True") ??
    s.conditions.find((c) => c.type === "Progressing" && c.status === "False") ??
    s.conditions.find((c) => c.type === "Available" && c.status === "False");
  if (condition?.reason) {
    return {
      complete: false,
      reason: condition.reason,
      message: condition.message ? `${condition.message} (${pending.message})` : pending.message,
    };
  }
  return { complete: false, ...pending };
}

const COMPLETE: RolloutVerdict = Object.freeze({ complete: true });

function pendingStep(s: RolloutStatus): { reason: string; message: string } | undefined {
  if (s.observedGeneration < s.generation) {
    return { reason: "GenerationNotObserved", message: "waiting for the deployment spec update to be observed" };
  }
  if (s.updatedReplicas < s.desiredReplicas) {
    return { reason: "UpdatedReplicasPending", message: `${s.updatedReplicas} of ${s.desiredReplicas} new replicas have been updated` };
  }
  if (s.replicas > s.updatedReplicas) {
    return { reason: "OldReplicasPending", message: `${s.replicas - s.updatedReplicas} old replicas are pending termination` };
  }
  if (s.availableReplicas < s.desiredReplicas || s.updatedReplicas !== s.desiredReplicas) {
    return { reason: "ReplicasNotAvailable", message: `${s.availableReplicas} of ${s.desiredReplicas} updated replicas are available` };
  }
  if (s.readyReplicas < s.desiredReplicas) {
    return { reason: "ReplicasNotReady", message: `${s.readyReplicas} of ${s.desiredReplicas} updated replicas are ready` };
  }
  return undefined;
}
