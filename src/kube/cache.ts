/**
 * What the HTTP layer needs from the Deployment cache. Two implementations
 * pass one contract suite: the informer-fed cache and an in-memory fake.
 */
import type { DeploymentRecord } from "./deployment_record.ts";

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
}
