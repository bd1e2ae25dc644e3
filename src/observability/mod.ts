/**
 * Logs and metrics: the JSON logger, a small Prometheus registry, and the allocator report. Knows nothing of
 * the layers that use it.
 * @module
 */
export { detectAllocator } from "./allocator.ts";
export { createLogger, isLogLevel, type Logger, type LogLevel } from "./logger.ts";
export type { Registry } from "./metrics.ts";
export {
  type CacheGaugeSource,
  createServiceMetrics,
  type CrlGaugeSource,
  type HttpMetrics,
  type LongRequestEnd,
  type LongRequestKind,
  type ServiceMetrics,
  type StreamMetrics,
} from "./service_metrics.ts";
