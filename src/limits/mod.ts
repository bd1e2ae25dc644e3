/**
 * Abuse limits: per-identity request rates, a cap on concurrent requests, and
 * connection limits for the mTLS listener.
 * @module
 */
export { createRateLimiter, DEFAULT_MAX_KEYS, type RateDecision, type RateLimiter, type RateLimiterOptions } from "./rate_limiter.ts";
export { type ConcurrencyLimiter, createConcurrencyLimiter } from "./concurrency_limiter.ts";
export { parseRateSpec, type RateSpec } from "./rate_spec.ts";
export {
  applyListenerLimits,
  checkListenerLimits,
  DEFAULT_LISTENER_LIMITS,
  type ListenerLimits,
  type ListenerServerOptions,
  listenerServerOptions,
} from "./listener_limits.ts";
