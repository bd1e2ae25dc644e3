/**
 * mTLS transport: the authenticated HTTPS listener and its failure reasons.
 * @module
 */
export { type BodyDrainLimits, DEFAULT_BODY_DRAIN } from "./body_drain.ts";
export { startCertReloader } from "./cert_reloader.ts";
export { type CrlReloader, type CrlReloadOutcome, startCrlReloader } from "./crl_reloader.ts";
export { loadRevocationList, type RevocationList } from "./revocation/mod.ts";
export { type MtlsServer, type MtlsServerOptions, startMtlsServer } from "./mtls_server.ts";
export { readTlsMaterial, type TlsFiles, type TlsMaterial, TlsMaterialError } from "./reload_material.ts";
export { classifyTlsFailure, type TlsFailure, type TlsFailureReason } from "./tls_failure.ts";
