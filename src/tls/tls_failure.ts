/**
 * Stable, low-cardinality reason codes for failed TLS handshakes, suitable as
 * a metrics label. The runtime's own error codes and messages are not stable
 * across Deno/Node versions (Deno's node:tls is rustls underneath, Node's is
 * OpenSSL), so both spellings are mapped here in one place.
 */

/** Why a TLS handshake on the mTLS listener failed. */
export type TlsFailureReason =
  /** The client presented no certificate. */
  | "no_client_certificate"
  /** The certificate chains to a CA we do not trust. */
  | "unknown_ca"
  | "certificate_expired"
  | "certificate_not_yet_valid"
  /** The certificate may not be used for TLS client authentication (EKU/key usage). */
  | "bad_certificate_usage"
  /**
   * Certificate verification failed and the runtime did not say why. Deno
   * 2.9 reports every verification failure (unknown CA, expired, wrong EKU)
   * this way: its authorizationError is always UNABLE_TO_VERIFY_LEAF_SIGNATURE.
   */
  | "certificate_rejected"
  /** The client offered only protocol versions below TLS 1.3. */
  | "unsupported_protocol"
  /** The client did not speak TLS at all (e.g. plain HTTP to the TLS port). */
  | "not_tls"
  /** The peer closed the connection before the handshake finished (TCP probes, scanners). */
  | "connection_reset"
  /** The handshake did not complete within HANDSHAKE_TIMEOUT (slow or stalled clients, scanners). */
  | "handshake_timeout"
  | "other";

/** The parts of a tlsClientError the classifier looks at. */
export interface TlsFailure {
  /** Error code from the `tlsClientError` event, e.g. ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE. */
  readonly code?: string;
  readonly message?: string;
  /** `socket.authorizationError` (an OpenSSL verify code name) when verification failed. */
  readonly authorizationError?: string | null;
}

// OpenSSL X509_V_ERR names, which both runtimes use for authorizationError.
const VERIFY_ERRORS: Record<string, TlsFailureReason> = {
  CERT_HAS_EXPIRED: "certificate_expired",
  CERT_NOT_YET_VALID: "certificate_not_yet_valid",
  UNABLE_TO_GET_ISSUER_CERT: "unknown_ca",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "unknown_ca",
  SELF_SIGNED_CERT_IN_CHAIN: "unknown_ca",
  DEPTH_ZERO_SELF_SIGNED_CERT: "unknown_ca",
  CERT_UNTRUSTED: "unknown_ca",
  CERT_SIGNATURE_FAILURE: "unknown_ca",
  INVALID_PURPOSE: "bad_certificate_usage",
  CERT_REJECTED: "certificate_rejected",
  // OpenSSL means "issuer not found"; Deno uses it for every failure, so it
  // cannot be trusted to mean unknown CA.
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "certificate_rejected",
};

const ERROR_CODES: Record<string, TlsFailureReason> = {
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: "no_client_certificate",
  ERR_SSL_UNSUPPORTED_PROTOCOL: "unsupported_protocol",
  ERR_SSL_NO_PROTOCOLS_AVAILABLE: "unsupported_protocol",
  ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION: "unsupported_protocol",
  ERR_SSL_WRONG_VERSION_NUMBER: "not_tls",
  ERR_SSL_HTTP_REQUEST: "not_tls",
  ERR_SSL_TLSV1_ALERT_UNKNOWN_CA: "unknown_ca",
  ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED: "certificate_expired",
  ERR_SSL_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE: "bad_certificate_usage",
  ERR_SSL_CERTIFICATE_VERIFY_FAILED: "certificate_rejected",
};

/** Map a tlsClientError (plus the socket's authorizationError) to a stable reason. */
export function classifyTlsFailure(failure: TlsFailure): TlsFailureReason {
  // Deno destroys the socket after a failed verification and then reports a
  // generic ECONNRESET; the real outcome is only in authorizationError.
  if (failure.authorizationError) return VERIFY_ERRORS[failure.authorizationError] ?? "certificate_rejected";
  const code = failure.code ?? "";
  const message = failure.message ?? "";
  // Node: ERR_TLS_HANDSHAKE_TIMEOUT. Deno 2.9: no code, message "TLS handshake timeout".
  if (code === "ERR_TLS_HANDSHAKE_TIMEOUT" || /handshake timeout/i.test(message)) return "handshake_timeout";
  const byCode = ERROR_CODES[code];
  if (byCode) return byCode;
  // rustls surfaces a version mismatch as a generic handshake failure with a
  // "peer is incompatible: Tls12NotOfferedOrEnabled" (or
  // SupportedVersionsExtensionRequired) message.
  if (code === "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE" && /Tls12|Tls13|SupportedVersions|version/i.test(message)) {
    return "unsupported_protocol";
  }
  if (code === "ECONNRESET" || code === "EPIPE") return "connection_reset";
  return "other";
}
