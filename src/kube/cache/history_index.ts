/**
 * A Deployment's who-did-what history: the events.k8s.io/v1 Events this service recorded for its own writes
 * (scale_events.ts), kept as small frozen records, indexed by the Deployment they regard and capped per Deployment,
 * so the history read never asks the API server and a busy Deployment cannot make the index grow without bound.
 *
 * Only our own Events are kept (reportingController): the informer asks the API server to filter by it, and the
 * index checks again, so a source that ignores the field selector still yields only ours.
 */

/** The fields of an events.k8s.io/v1 Event we read; `trimEvent` keeps only these. */
export interface EventLike {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; creationTimestamp?: string | Date };
  regarding?: { kind?: string; namespace?: string; name?: string; uid?: string };
  reportingController?: string;
  reason?: string;
  note?: string;
  action?: string;
  /** MicroTime, e.g. "2026-12-07T23:00:00.000000Z"; client-node may hand a Date. */
  eventTime?: string | Date | null;
  series?: { count?: number; lastObservedTime?: string | Date } | null;
  deprecatedLastTimestamp?: string | Date | null;
  deprecatedCount?: number | null;
}

/** One entry of a Deployment's history, as the history read answers it. */
export interface HistoryEntry {
  /** When it happened (last seen, for a series), ISO 8601 in UTC. */
  readonly time: string;
  readonly reason: string;
  readonly note: string;
  readonly action: string;
  /** How often it happened: the series count, 1 for a single Event. */
  readonly count: number;
}

/** What the history read needs: whether the Events have been listed yet, and one Deployment's history. */
export interface HistorySource {
  /** False until the first list of Events has arrived; a history read before then would look like "nothing happened". */
  readonly synced: boolean;
  /**
   * The history of Deployment `namespace/name`, newest first; only Events about `uid` (or without a uid) when it is
   * given, so a Deployment recreated under the same name does not inherit its predecessor's history.
   */
  history(namespace: string, name: string, uid?: string): readonly HistoryEntry[];
}

/** The default cap per Deployment: enough for a dialog, small enough that 10k Deployments stay cheap. */
export const DEFAULT_HISTORY_PER_DEPLOYMENT = 50;

/** Keeps only what the index needs, so the reflector's own store stays small (an Event carries managedFields and more). */
export function trimEvent(obj: EventLike): EventLike {
  const m = obj.metadata;
  const r = obj.regarding;
  return {
    metadata: { name: m?.name, namespace: m?.namespace, resourceVersion: m?.resourceVersion, creationTimestamp: m?.creationTimestamp },
    regarding: { kind: r?.kind, namespace: r?.namespace, name: r?.name, uid: r?.uid },
    reportingController: obj.reportingController,
    reason: obj.reason,
    note: obj.note,
    action: obj.action,
    eventTime: obj.eventTime,
    series: obj.series ? { count: obj.series.count, lastObservedTime: obj.series.lastObservedTime } : undefined,
    deprecatedLastTimestamp: obj.deprecatedLastTimestamp,
    deprecatedCount: obj.deprecatedCount,
  };
}

interface Stored {
  readonly key: string;
  readonly at: number;
  /** Orders Events of the same millisecond: etcd revisions increase with every write. */
  readonly resourceVersion: number;
  readonly uid?: string;
  readonly entry: HistoryEntry;
}

/** Milliseconds since the epoch of a timestamp field, or undefined when it is missing or unreadable. */
function millis(value: string | Date | null | undefined): number | undefined {
  if (value === null || value === undefined || value === "") return undefined;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

const NONE: readonly HistoryEntry[] = Object.freeze([]);

export class HistoryIndex {
  #controller: string;
  #cap: number;
  /** By "namespace/event": the Deployment ("namespace/name") it was filed under. */
  #filed = new Map<string, string>();
  /** By "namespace/name" of the Deployment: newest first, at most #cap. */
  #byDeployment = new Map<string, Stored[]>();

  /**
   * @param controller the reportingController of the Events to keep (ours, e.g. "replica-api")
   * @param perDeployment the newest this many are kept per Deployment
   */
  constructor(options: { controller: string; perDeployment?: number }) {
    this.#controller = options.controller;
    this.#cap = Math.max(1, options.perDeployment ?? DEFAULT_HISTORY_PER_DEPLOYMENT);
  }

  /** Events indexed, over all Deployments. */
  get size(): number {
    return this.#filed.size;
  }

  upsert(obj: EventLike): void {
    const namespace = obj.metadata?.namespace;
    const name = obj.metadata?.name;
    if (!namespace || !name) return;
    const key = `${namespace}/${name}`;
    // An Event updated in place (a series) is filed again with its new time.
    this.remove(namespace, name);
    const r = obj.regarding;
    if (obj.reportingController !== this.#controller || r?.kind !== "Deployment" || !r.name) return;
    const at = millis(obj.series?.lastObservedTime) ?? millis(obj.eventTime) ?? millis(obj.deprecatedLastTimestamp) ??
      millis(obj.metadata?.creationTimestamp);
    if (at === undefined) return;
    const stored: Stored = {
      key,
      at,
      resourceVersion: Number(obj.metadata?.resourceVersion) || 0,
      ...(r.uid ? { uid: r.uid } : {}),
      entry: Object.freeze({
        time: new Date(at).toISOString(),
        reason: obj.reason ?? "",
        note: obj.note ?? "",
        action: obj.action ?? "",
        count: Math.max(1, obj.series?.count ?? obj.deprecatedCount ?? 1),
      }),
    };
    const deployment = `${r.namespace || namespace}/${r.name}`;
    let list = this.#byDeployment.get(deployment);
    if (!list) this.#byDeployment.set(deployment, list = []);
    // Events arrive mostly in order, so the place is nearly always the front: a short scan, no re-sort.
    let i = 0;
    while (i < list.length && newer(list[i], stored)) i++;
    if (i >= this.#cap) return;
    list.splice(i, 0, stored);
    this.#filed.set(key, deployment);
    // Over the cap, the oldest goes: forgotten here, though the API server may keep it until its TTL.
    if (list.length > this.#cap) this.#filed.delete(list.pop()!.key);
  }

  remove(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const deployment = this.#filed.get(key);
    if (deployment === undefined) return;
    this.#filed.delete(key);
    const list = this.#byDeployment.get(deployment)!;
    const i = list.findIndex((s) => s.key === key);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#byDeployment.delete(deployment);
  }

  /** See {@link HistorySource.history}. Built on each call: at most the cap, and read only when someone opens a Deployment. */
  history(namespace: string, name: string, uid?: string): readonly HistoryEntry[] {
    const list = this.#byDeployment.get(`${namespace}/${name}`);
    if (!list) return NONE;
    const out: HistoryEntry[] = [];
    for (const s of list) if (uid === undefined || s.uid === undefined || s.uid === uid) out.push(s.entry);
    return Object.freeze(out);
  }
}

/** Whether `a` comes before `b` newest first: later time, then later write. */
function newer(a: Stored, b: Stored): boolean {
  return a.at > b.at || (a.at === b.at && a.resourceVersion > b.resourceVersion);
}
