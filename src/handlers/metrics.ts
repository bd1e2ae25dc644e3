/** GET /metrics on the probe port: Prometheus text exposition of the service's registry. */
import type { Handler } from "../http/types.ts";
import type { Registry } from "../observability/metrics.ts";

export function createMetricsHandler({ registry }: { registry: Registry }): Handler {
  return () => new Response(registry.render(), { headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
}
