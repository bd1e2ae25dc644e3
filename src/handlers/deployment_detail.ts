/**
 * `?detail=true` on the lists, the watches and the GET of one Deployment: each Deployment also carries what the
 * console's detail view needs (paused, revision, containers, restartedAt, rollout). The plain bodies stay exactly
 * as they were: records serialise through their own `toJSON`, and only this module adds the detail fields, and only
 * when a request asked for them.
 */
import { validateBooleanQuery } from "../http/mod.ts";
import type { DeploymentRecord, RolloutStatus } from "../kube/mod.ts";
import { assessRollout } from "../kube/mod.ts";
import { type RolloutBody, rolloutBody } from "./rollout_wait.ts";

/** The query parameter; exactly "true" or "false" (400 otherwise), like dryRun and watch. */
export const DETAIL_PARAM = "detail";

/** Whether the request asked for the detailed form (validated: anything but "true"/"false" is 400). */
export function wantsDetail(query: URLSearchParams): boolean {
  return validateBooleanQuery(query, DETAIL_PARAM);
}

export interface DetailContainer {
  name: string;
  image: string;
  init?: true;
}

/** The detailed JSON form of one Deployment: the plain fields, in their order, then the detail fields. */
export interface DeploymentDetail extends Partial<DeploymentRecord> {
  paused: boolean;
  revision?: number;
  containers: DetailContainer[];
  restartedAt?: string;
  /** The same object and rules as the wait=rollout answers; absent only when the cache has no progress for it. */
  rollout?: RolloutBody;
}

/**
 * A record with its detail fields. `rollout` is the Deployment's progress as of the same change as the record
 * (the change event's, or the cache's when the record is the cache's current one).
 */
export function detailBody(record: DeploymentRecord, rollout: RolloutStatus | undefined): DeploymentDetail {
  // The plain fields in the order of the record's own JSON form, so a detailed body starts as the plain one does.
  const body: DeploymentDetail = {
    namespace: record.namespace,
    name: record.name,
    replicas: record.replicas,
    readyReplicas: record.readyReplicas,
    availableReplicas: record.availableReplicas,
    resourceVersion: record.resourceVersion,
    ...(record.autoscaler !== undefined ? { autoscaler: record.autoscaler } : {}),
    paused: record.paused ?? false,
    containers: (record.containers ?? []).map((
      c,
    ) => (c.init ? { name: c.name, image: c.image, init: true } : { name: c.name, image: c.image })),
  };
  if (record.revision !== undefined) body.revision = record.revision;
  if (record.restartedAt !== undefined) body.restartedAt = record.restartedAt;
  if (rollout) body.rollout = rolloutBody(rollout, assessRollout(rollout));
  return body;
}
