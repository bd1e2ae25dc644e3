/** GET /metrics on the probe port: Prometheus text exposition of the service's registry. */
import type { Handler } from "../http/types.ts";
import type { Registry } from "../observability/metrics.ts";
import { textResponse } from "../http/response.ts";

export function createMetricsHandler({ registry }: { registry: Registry }): Handler {
  return () => textResponse(registry.render(), "text/plain; version=0.0.4; charset=utf-8");
}
