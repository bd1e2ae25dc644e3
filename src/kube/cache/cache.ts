/**
 * What the HTTP layer needs from the Deployment cache. Two implementations
 * pass one contract suite: the informer-fed cache and an in-memory fake.
 */
import type { DeploymentRecord } from "./deployment_record.ts";
import type { RolloutStatus } from "./rollout.ts";
import type { ChangeFeed } from "./change_feed.ts";
import type { ReplicaSetRecord } from "./revision_index.ts";

export interface CacheStatus {
  /** The initial list has completed at least once; reads are meaningful. */
  readonly synced: boolean;
  /** Every watch is established (not failed and waiting to restart). */
  readonly connected: boolean;
  /** Epoch ms of the last sign of life from the API server (list, watch start, event, bookmark). */
  readonly lastContactAt: number | undefined;
  /** Why the cache is not connected, when it is not. */
  readonly error: string | undefined;
  readonly deployments: number;
  /** How many times a failed list/watch was restarted. */
  readonly restarts: number;
}

export interface DeploymentCache {
  get(namespace: string, name: string): DeploymentRecord | undefined;
  /** Sorted by namespace, then name. */
  list(namespace?: string): readonly DeploymentRecord[];
  /** Whether the namespace exists and is served (all-namespaces mode knows every namespace). */
  hasNamespace(namespace: string): boolean;
  status(): CacheStatus;
  /** Read-your-writes: resolves when the cache has seen `resourceVersion` (or newer), undefined on timeout. */
  waitForVersion(namespace: string, name: string, resourceVersion: string, timeoutMs: number): Promise<DeploymentRecord | undefined>;
  /** A Deployment's rollout progress (generation, status counts, conditions); undefined when it is not cached. */
  rollout(namespace: string, name: string): RolloutStatus | undefined;
  /**
   * A Deployment's revisions (the ReplicaSets it controls, by uid when the Deployment is cached), ascending by
   * revision; undefined when this cache does not watch ReplicaSets. Optional in the type so that hand-made caches
   * of other layers' tests still type-check; both caches here implement it. TODO(#19): make it required.
   */
  revisions?(namespace: string, deployment: string): readonly ReplicaSetRecord[] | undefined;
  /** Every change from now on, and a bounded history of recent ones (watch streams, rollout waits). */
  readonly changes: ChangeFeed;
  /**
   * NotOlderThan reads: resolves true once the watch serving `namespace` (or every watch, when none is
   * given) has reached `resourceVersion` (an integer, compared as such); false on timeout or abort.
   */
  waitForResourceVersion(
    resourceVersion: string,
    timeoutMs: number,
    options?: { namespace?: string; signal?: AbortSignal },
  ): Promise<boolean>;
}
