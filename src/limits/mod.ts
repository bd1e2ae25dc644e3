/**
 * Abuse limits: per-identity request rates, a cap on concurrent requests, and
 * connection limits for the mTLS listener (timeouts, a global cap, and caps per source address).
 * @module
 */
export { type ConcurrencyLimiter, createConcurrencyLimiter, createSharedCounter } from "./concurrency_limiter.ts";
export {
  applyListenerLimits,
  checkListenerLimits,
  DEFAULT_LISTENER_LIMITS,
  type ListenerLimits,
  type ListenerServerOptions,
  listenerServerOptions,
} from "./listener_limits.ts";
export { createRateLimiter, DEFAULT_MAX_KEYS, type RateDecision, type RateLimiter, type RateLimiterOptions } from "./rate_limiter.ts";
export { parseRateSpec, type RateSpec } from "./rate_spec.ts";
export {
  attachSharedRateLimiter,
  createSharedRateBuffer,
  DEFAULT_SHARED_SLOTS,
  type SharedRateLimiterOptions,
} from "./shared_rate_limiter.ts";
export { createRefusalLog, type RefusalLog, type RefusalLogOptions } from "./refusal_log.ts";
export { sourceOf } from "./source_address.ts";
export { gateConnectionsBySource, type SourceGateOptions, type SourceRefusal } from "./source_gate.ts";
export {
  createSourceLimiter,
  type SourceAdmission,
  type SourceLimiter,
  type SourceLimiterOptions,
  type SourceRefusalReason,
} from "./source_limiter.ts";
export { createStreamLimiter, type StreamAdmission, type StreamLimiter, type StreamRefusal } from "./stream_limiter.ts";
