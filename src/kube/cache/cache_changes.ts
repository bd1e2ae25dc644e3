/**
 * The part of a DeploymentCache that goes beyond the current state, shared by
 * the informer cache and the in-memory fake so both behave alike: rollout
 * progress per Deployment, the change feed, and how far each watch has got.
 * Every change to the index goes through here, so none can be missed.
 */
import type { DeploymentIndex } from "./deployment_index.ts";
import type { DeploymentRecord } from "./deployment_record.ts";
import type { RolloutStatus } from "./rollout.ts";
import { ChangeLog } from "./change_feed.ts";
import { VersionGate } from "./version_gate.ts";

export class CacheChanges {
  readonly log: ChangeLog;
  readonly gate = new VersionGate();
  #rollouts = new Map<string, RolloutStatus>();
  #index: DeploymentIndex;

  constructor(index: DeploymentIndex, options: { historySize?: number; onListenerError?: (error: unknown) => void } = {}) {
    this.#index = index;
    this.log = new ChangeLog({ capacity: options.historySize, onListenerError: options.onListenerError });
  }

  rollout(namespace: string, name: string): RolloutStatus | undefined {
    return this.#rollouts.get(`${namespace}/${name}`);
  }

  /** Stores the record (and its rollout progress) and tells the feed; `position` defaults to the record's resourceVersion. */
  upsert(record: DeploymentRecord, rollout: RolloutStatus | undefined, position = record.resourceVersion): void {
    const existed = this.#index.get(record.namespace, record.name) !== undefined;
    const key = `${record.namespace}/${record.name}`;
    if (rollout) this.#rollouts.set(key, rollout);
    else this.#rollouts.delete(key);
    this.#index.upsert(record);
    this.log.publish({ type: existed ? "MODIFIED" : "ADDED", record, rollout, position });
  }

  /** Removes a Deployment; `last` is its final state as the watch reported it (else the cached one). */
  remove(namespace: string, name: string, last: DeploymentRecord | undefined, position?: string): void {
    const cached = this.#index.get(namespace, name);
    const record = last ?? cached;
    this.#rollouts.delete(`${namespace}/${name}`);
    this.#index.remove(namespace, name);
    if (!cached || !record) return;
    this.log.publish({ type: "DELETED", record, position: position ?? record.resourceVersion });
  }
}
