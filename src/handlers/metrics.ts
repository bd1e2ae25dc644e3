/** GET /metrics on the probe port: Prometheus text exposition of the service's registry. */
import type { Handler } from "../http/mod.ts";
import type { Registry } from "../observability/mod.ts";
import { textResponse } from "../http/mod.ts";

export function createMetricsHandler({ registry }: { registry: Registry }): Handler {
  return () => textResponse(registry.render(), "text/plain; version=0.0.4; charset=utf-8");
}
