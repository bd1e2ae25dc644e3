/**
 * One judgement of how trustworthy the cache is right now, shared by reads,
 * /api/v1/health and /readyz so they can never disagree.
 */
import type { CacheStatus } from "./cache.ts";

export type CacheState = "syncing" | "live" | "stale";

export interface Freshness {
  readonly state: CacheState;
  /** Seconds since the last contact with the API server; undefined before the first. */
  readonly ageSeconds: number | undefined;
  /** Why the cache is not live. */
  readonly reason: string | undefined;
}

export function assessFreshness(status: CacheStatus, nowMs: number, staleAfterMs: number): Freshness {
  const ageMs = status.lastContactAt === undefined ? undefined : Math.max(0, nowMs - status.lastContactAt);
  const ageSeconds = ageMs === undefined ? undefined : Math.round(ageMs / 100) / 10;
  if (!status.synced) {
    return {
      state: "syncing",
      ageSeconds,
      reason: status.error ? `initial sync not complete: ${status.error}` : "initial sync not complete",
    };
  }
  if (!status.connected) {
    return { state: "stale", ageSeconds, reason: `watch disconnected: ${status.error ?? "unknown error"}` };
  }
  if (ageMs === undefined || ageMs > staleAfterMs) {
    return { state: "stale", ageSeconds, reason: `no contact with the Kubernetes API for ${ageSeconds ?? "?"} s` };
  }
  return { state: "live", ageSeconds, reason: undefined };
}
