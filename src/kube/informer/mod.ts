/**
 * The informer: list+watch reflectors (with backoff, an injectable clock and an API heartbeat) that keep the
 * cache model in step with the API server and say whether it is synced, connected and fresh.
 * @module
 */
export type { HeartbeatProbe } from "./api_heartbeat.ts";
export { type Backoff, createBackoff } from "./backoff.ts";
export { InformerCache, type KubeSource } from "./informer_cache.ts";
