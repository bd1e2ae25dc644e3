/**
 * mTLS transport: the authenticated HTTPS listener and its failure reasons.
 * @module
 */
export { type MtlsServer, type MtlsServerOptions, startMtlsServer } from "./mtls_server.ts";
export { type BodyDrainLimits, DEFAULT_BODY_DRAIN } from "./_body_drain.ts";
export { classifyTlsFailure, type TlsFailure, type TlsFailureReason } from "./tls_failure.ts";
