/**
 * The informer: list+watch reflectors (with backoff, an injectable clock and an API heartbeat) that keep the
 * cache model in step with the API server and say whether it is synced, connected and fresh; and, apart from
 * them, the Events informer behind the history read.
 * @module
 */
export type { HeartbeatProbe } from "./api_heartbeat.ts";
export { type Backoff, createBackoff } from "./backoff.ts";
export { EventHistory, type EventHistoryOptions, type EventList } from "./event_history.ts";
export { InformerCache, type KubeSource } from "./informer_cache.ts";
