/**
 * Authorization: the policy file (who may read, or do which operation, where; which images they may set), the
 * authorizer built from it, the audit record, and the request guard that
 * applies them (with the rate and concurrency limits) to each API request.
 * @module
 */
export {
  type AuditAction,
  type AuditEvent,
  type AuditOutcome,
  type AuditRecord,
  type AuditTarget,
  buildAuditRecord,
  MAX_REASON_LENGTH,
} from "./audit.ts";
export {
  allowAll,
  type AuthorizationSummary,
  type Authorizer,
  createAuthorizer,
  type ImageDecision,
  type ImagePatternMap,
} from "./authorizer.ts";
export { describeImageRefusal } from "./image_refusal.ts";
export { isOperation, type Operation, OPERATIONS } from "./operations.ts";
export { authorizerFromBytes, loadAuthorizer } from "./load_policy.ts";
export { type PolicyReloader, type PolicyReloaderOptions, type PolicyReloadOutcome, startPolicyReloader } from "./policy_reloader.ts";
export { createReloadableAuthorizer, type ReloadableAuthorizer } from "./reloadable_authorizer.ts";
export {
  type NamespaceGrant,
  normalizeFingerprint,
  parsePolicy,
  type Permission,
  PERMISSIONS,
  type Policy,
  PolicyError,
  type PolicyRule,
  type PolicySubject,
} from "./policy.ts";
export { createRequestGuard, type RequestGuardOptions } from "./request_guard.ts";
