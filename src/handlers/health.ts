/**
 * Health for people and dashboards (/api/v1/health, behind mTLS) and probes for
 * the kubelet (/livez, /readyz, plain HTTP). All three read one freshness
 * judgement, so they agree.
 */
import type { Handler } from "../http/mod.ts";
import { jsonResponse } from "../http/mod.ts";
import { validateQuery } from "../http/mod.ts";
import type { CacheView } from "./cache_view.ts";

/** Process lifecycle as seen by readiness: draining instances must leave the load balancer first. */
export interface Lifecycle {
  readonly shuttingDown: boolean;
}

export function createHealthHandler({ view }: { view: CacheView }): Handler {
  return (request) => {
    validateQuery(request.url, []);
    const f = view.freshness();
    const status = view.cache.status();
    const cache = {
      synced: status.synced,
      deployments: status.deployments,
      lastEventAgeSeconds: f.ageSeconds ?? null,
      restarts: status.restarts,
    };
    if (f.state === "live") {
      return jsonResponse({ status: "healthy", kubernetes: "connected", cache });
    }
    return jsonResponse(
      {
        status: f.state === "stale" ? "degraded" : "unhealthy",
        kubernetes: status.connected ? "unresponsive" : "disconnected",
        cache,
        error: f.reason,
      },
      { status: 503, headers: { "retry-after": "5" } },
    );
  };
}

export interface ProbeHandlers {
  livez: Handler;
  readyz: Handler;
}

export interface ProbeDeps {
  view: CacheView;
  lifecycle: Lifecycle;
  /**
   * Problems that do not stop serving but an operator must see (a revocation list refused or past its nextUpdate):
   * readiness stays 200 and lists them, since taking every replica out at once for a late CRL would be an outage.
   */
  warnings?: () => readonly string[];
}

export function createProbeHandlers({ view, lifecycle, warnings }: ProbeDeps): ProbeHandlers {
  return {
    // Liveness never depends on the API server: restarting us would not fix it, and would drop the cache.
    livez: () => jsonResponse({ status: "alive" }),
    readyz: () => {
      if (lifecycle.shuttingDown) return jsonResponse({ status: "not ready", reason: "shutting down" }, { status: 503 });
      const f = view.freshness();
      if (f.state !== "live") return jsonResponse({ status: "not ready", reason: f.reason }, { status: 503 });
      const shown = warnings?.() ?? [];
      return jsonResponse(shown.length ? { status: "ready", warnings: shown } : { status: "ready" });
    },
  };
}
