/**
 * Swaps the TLS material of a running node:tls / node:https server.
 *
 * Measured in Deno 2.9.6 (see THREAT_MODEL.md and tests/unit/tls/cert_reload_test.ts):
 * after `server.setSecureContext()` new handshakes use the new certificate,
 * key and client CA, while established connections (keep-alive included)
 * keep working on the session they negotiated. `requestCert` and
 * `rejectUnauthorized` are properties of the server and survive the swap.
 * But the secure context is rebuilt from the options passed and nothing
 * else: without `minVersion` the listener silently starts accepting
 * TLS 1.2 again. That is why this helper exists.
 */
import type { Server as TlsServer } from "node:tls";
import type { TlsMaterial } from "./reload_material.ts";

/** The only protocol version the mTLS listener accepts (same value as its createServer options). */
export const MTLS_MIN_VERSION = "TLSv1.3";

/** New handshakes on `server` use `material` from now on; throws if the runtime refuses it (the old context then stays). */
export function reloadSecureContext(server: TlsServer, material: TlsMaterial): void {
  server.setSecureContext({ cert: material.cert, key: material.key, ca: material.ca, minVersion: MTLS_MIN_VERSION });
}
