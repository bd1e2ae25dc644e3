import assert from "node:assert/strict";
import { classifyTlsFailure, type TlsFailure, type TlsFailureReason } from "../../../src/tls/mod.ts";

// The first rows are what Deno 2.9.6's node:tls (rustls) actually reports, as
// measured by the mtls_server tests; the rest are Node/OpenSSL spellings.
const CASES: [string, TlsFailure, TlsFailureReason][] = [
  [
    "deno: no certificate",
    { code: "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE", message: "peer sent no certificates" },
    "no_client_certificate",
  ],
  [
    "deno: any verification failure",
    { code: "ECONNRESET", message: "socket hang up", authorizationError: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" },
    "certificate_rejected",
  ],
  [
    "deno: TLS 1.2-only node client",
    { code: "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE", message: "peer is incompatible: Tls12NotOfferedOrEnabled" },
    "unsupported_protocol",
  ],
  [
    "deno: TLS 1.2-only openssl client",
    { code: "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE", message: "peer is incompatible: SupportedVersionsExtensionRequired" },
    "unsupported_protocol",
  ],
  ["deno: plain HTTP", { code: "ERR_SSL_WRONG_VERSION_NUMBER", message: "received corrupt message of type InvalidContentType" }, "not_tls"],
  ["deno: bare TCP connect", { code: "ECONNRESET", message: "socket hang up", authorizationError: null }, "connection_reset"],
  ["no shared cipher", { code: "ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE", message: "peer is incompatible: NoCipherSuitesInCommon" }, "other"],
  ["expired (openssl)", { code: "ECONNRESET", authorizationError: "CERT_HAS_EXPIRED" }, "certificate_expired"],
  ["not yet valid (openssl)", { authorizationError: "CERT_NOT_YET_VALID" }, "certificate_not_yet_valid"],
  ["unknown CA (openssl)", { authorizationError: "UNABLE_TO_GET_ISSUER_CERT_LOCALLY" }, "unknown_ca"],
  ["self-signed (openssl)", { authorizationError: "DEPTH_ZERO_SELF_SIGNED_CERT" }, "unknown_ca"],
  ["wrong purpose (openssl)", { authorizationError: "INVALID_PURPOSE" }, "bad_certificate_usage"],
  ["unmapped verify error", { authorizationError: "SOMETHING_NEW" }, "certificate_rejected"],
  ["old protocol (openssl)", { code: "ERR_SSL_UNSUPPORTED_PROTOCOL" }, "unsupported_protocol"],
  ["unknown", { code: "EWHATEVER", message: "?" }, "other"],
  ["nothing at all", {}, "other"],
];

for (const [name, failure, expected] of CASES) {
  Deno.test(`classifyTlsFailure maps ${name} to ${expected}`, () => {
    assert.equal(classifyTlsFailure(failure), expected);
  });
}
