/**
 * The informer behind the history read: list+watch of the events.k8s.io/v1 Events this service records for its own
 * writes, into a HistoryIndex of small capped records. One reflector over all namespaces, or one per watched
 * namespace (a Role grants no more).
 *
 * Apart from InformerCache on purpose: the history is a convenience, not what reads and writes stand on, so it never
 * counts towards the cache's sync, freshness or readiness; a history read before its first list answers 503 itself.
 *
 * The API server filters by reportingController (a field selector that events.k8s.io/v1 supports, on lists and
 * watches alike), so neither the wire nor the store carries other controllers' Events; the index checks it again.
 */
import { HistoryIndex, type HistorySource, trimEvent } from "../cache/mod.ts";
import type { EventLike, HistoryEntry } from "../cache/mod.ts";
import { eventsPath, type ListPage, type ListResult, type WatchLike } from "../api/mod.ts";
import { Reflector, type ReflectorEvents } from "./reflector.ts";
import { type Backoff, createBackoff } from "./backoff.ts";
import { type Clock, systemClock } from "./clock.ts";
import type { Logger } from "../../observability/mod.ts";

/** Lists Events in one namespace or all, filtered by the API server with `fieldSelector`. */
export type EventList = (namespace: string | undefined, fieldSelector: string, page?: ListPage) => Promise<ListResult>;

export interface EventHistoryOptions {
  listEvents: EventList;
  watch: WatchLike;
  /** The reportingController of the Events to keep: the one the recorder writes (e.g. "replica-api"). */
  controller: string;
  /** Empty: all namespaces. */
  namespaces: readonly string[];
  watchTimeoutSeconds: number;
  log: Logger;
  /** Events kept per Deployment, newest first (default 50). */
  perDeployment?: number;
  clock?: Clock;
  newBackoff?: () => Backoff;
  /** Per-informer event hooks (metrics), by informer name. */
  events?: (informer: string) => ReflectorEvents;
  listPageSize?: number;
}

export class EventHistory implements HistorySource {
  #index: HistoryIndex;
  #reflectors: Reflector[];

  constructor(options: EventHistoryOptions) {
    this.#index = new HistoryIndex({ controller: options.controller, perDeployment: options.perDeployment });
    const fieldSelector = `reportingController=${options.controller},regarding.kind=Deployment`;
    // ListWatch builds the watch's query itself; the selector must be on the watch as on the list, or the watch
    // would stream every Event in the cluster.
    const watch: WatchLike = {
      watch: (path, queryParams, callback, done) => options.watch.watch(path, { ...queryParams, fieldSelector }, callback, done),
    };
    const newBackoff = options.newBackoff ?? (() => createBackoff());
    const reflector = (namespace?: string) => {
      const name = namespace ? `events/${namespace}` : "events";
      return new Reflector({
        name,
        path: eventsPath(namespace),
        list: (page) => options.listEvents(namespace, fieldSelector, page),
        listPageSize: options.listPageSize,
        watch,
        watchTimeoutSeconds: options.watchTimeoutSeconds,
        stallAfterMs: options.watchTimeoutSeconds * 1000 + 35_000,
        backoff: newBackoff(),
        clock: options.clock ?? systemClock,
        log: options.log,
        events: options.events?.(name),
        trim: trimEvent,
        onUpsert: (obj: EventLike) => this.#index.upsert(obj),
        onRemove: (obj: EventLike) => {
          if (obj.metadata?.namespace && obj.metadata?.name) this.#index.remove(obj.metadata.namespace, obj.metadata.name);
        },
      });
    };
    this.#reflectors = options.namespaces.length === 0 ? [reflector()] : options.namespaces.map((ns) => reflector(ns));
  }

  /** Starts every reflector; resolves after each made its first attempt (failures restart in the background). */
  async start(): Promise<void> {
    await Promise.all(this.#reflectors.map((r) => r.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.#reflectors.map((r) => r.stop()));
  }

  get synced(): boolean {
    return this.#reflectors.every((r) => r.status().synced);
  }

  history(namespace: string, name: string, uid?: string): readonly HistoryEntry[] {
    return this.#index.history(namespace, name, uid);
  }
}
