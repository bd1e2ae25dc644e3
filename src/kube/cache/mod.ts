/**
 * The cache model: the immutable records the service keeps of Deployments, their autoscalers, their revisions (ReplicaSets)
 * and their who-did-what history (our own Events), the indexes
 * that serve every read, rollout and freshness assessment, the change feed behind watches, and the one ordering of
 * resourceVersions. Pure: no I/O, no timers.
 * @module
 */
export { AutoscalerIndex, type AutoscalerLike, type AutoscalerRef, trimAutoscaler } from "./autoscaler_index.ts";
export { CacheChanges } from "./cache_changes.ts";
export type { CacheStatus, DeploymentCache } from "./cache.ts";
export type { ChangeEvent, ChangeFeed } from "./change_feed.ts";
export { DeploymentIndex } from "./deployment_index.ts";
export {
  type ContainerImage,
  type ContainerLike,
  containersOf,
  type DeploymentLike,
  type DeploymentRecord,
  deploymentRecord,
  parseRevision,
  RESTARTED_AT_ANNOTATION,
  REVISION_ANNOTATION,
  sameContainers,
  toRecord,
} from "./deployment_record.ts";
export {
  DEFAULT_HISTORY_PER_DEPLOYMENT,
  type EventLike,
  type HistoryEntry,
  HistoryIndex,
  type HistorySource,
  trimEvent,
} from "./history_index.ts";
export { assessFreshness, type Freshness } from "./freshness.ts";
export { MemoryCache } from "./memory_cache.ts";
export { isAtLeastVersion, isComparableVersion, isNewerVersion } from "./resource_version.ts";
export {
  CHANGE_CAUSE_ANNOTATION,
  controllingDeployment,
  type OwnerReferenceLike,
  type ReplicaSetLike,
  type ReplicaSetRecord,
  RevisionIndex,
  toReplicaSetRecord,
  trimReplicaSet,
} from "./revision_index.ts";
export { assessRollout, type RolloutSource, type RolloutStatus, type RolloutVerdict, toRolloutStatus } from "./rollout.ts";
