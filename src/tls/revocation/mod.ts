/**
 * Client certificate revocation from CRLs, checked by the service itself.
 *
 * Why: Deno 2.9.6's node:tls accepts a `crl` option, checks that it parses, and then ignores it (a revoked client
 * still gets `authorized: true`). So the listener must look the peer certificate up in a list of its own, on every
 * new connection, and close open connections whose certificate becomes revoked when the list changes.
 *
 * ## Building the list
 *
 * ```ts
 * const paths = crlPathsFromSetting(env.TLS_CLIENT_CRL_FILE);             // "a.pem,b.crl" -> ["a.pem", "b.crl"]
 * let list = await loadRevocationList(paths, { caPem: clientCaPem });     // reads files, never throws for a bad CRL
 * // on a file change or a timer (staleness is judged at build time):
 * list = await loadRevocationList(paths, { caPem: clientCaPem, previous: list });
 * for (const problem of list.problems) log.warn("CRL problem", { problem });
 * ```
 *
 * `buildRevocationList({ files, caPem, now, previous })` is the same without the file system: a pure function of the
 * files' bytes, the CA PEM(s), the time and the previous list. A file may hold PEM (one or several
 * `-----BEGIN X509 CRL-----` blocks, as `cat a.pem b.pem` makes) or one DER CRL.
 *
 * ## Checking a connection
 *
 * Match on the issuer's DER bytes and the serial, both read from the certificate itself. The `issuer` object of
 * `getPeerCertificate()` is lossy text (RDN order, multi-valued RDNs and string types are gone), so compare the
 * issuer Name from `raw` (tbsCertificate.issuer) with the CRL's issuer Name instead:
 *
 * ```ts
 * server.on("secureConnection", (socket) => {
 *   const { issuer, serial } = issuerAndSerialOf(socket.getPeerCertificate().raw); // or getPeerX509Certificate().raw
 *   if (list.isRevoked(serial, issuer)) socket.destroy();
 * });
 * ```
 *
 * Serials are compared after {@link normalizeSerial} on both sides (uppercase hex, no leading zeros), so
 * `getPeerCertificate().serialNumber` ("1000", no padding), openssl's "serial=00AB…" and a DER INTEGER's leading
 * zero byte all match.
 *
 * ## What is in force (design decisions)
 *
 * - A CRL is in force only when it parses, its issuer Name equals (DER) a configured CA's subject, and that CA's key
 *   verifies its signature (ECDSA P-256/P-384, RSA PKCS#1 v1.5, Ed25519; SHA-256/384/512). A critical extension we do
 *   not understand (delta CRL, issuing distribution point, indirect CRL entries) refuses it.
 * - A refused CRL never removes revocations: for a file whose new content is refused in any part, the CRLs the
 *   previous list took from that file stay in force (state `previous`) for each issuer the file no longer supplies
 *   a good CRL for. A replacement older (thisUpdate) than the CRL in force is refused, so a file cannot be rolled
 *   back to a list from before a revocation. At the first load there is nothing to keep: a refused file adds no
 *   revocations, and the caller should refuse to start (or to serve) when `status` has a `refused` entry, naming it.
 * - A CRL past its nextUpdate stays in force (its revocations are still true) and is reported in `status` and
 *   `problems` as `past its nextUpdate since …`. Whether to fail closed on a stale CRL is the caller's policy.
 * - Multiple files and multiple CRLs per issuer are combined: a certificate is revoked if any CRL in force lists it.
 * - Not checked: the CA's keyUsage cRLSign bit, and the CRL issuer's own revocation (one CA level only, like Envoy's
 *   `only_verify_leaf_cert_crl`). certificateHold entries count as revoked for as long as they are listed.
 * @module
 */
export type { AlgorithmIdentifier, Crl, CrlParseResult, RevokedCertificate } from "./crl.ts";
export { parseCrl, parseCrlFile } from "./crl.ts";
export { type IssuerAndSerial, issuerAndSerialOf } from "./issuer_and_serial.ts";
export { DerError } from "./_der.ts";
export {
  buildRevocationList,
  type CrlFile,
  type CrlState,
  type CrlStatus,
  normalizeSerial,
  type Revocation,
  type RevocationList,
  type RevocationListInput,
} from "./revocation_list.ts";
export { crlPathsFromSetting, loadRevocationList, type LoadRevocationListOptions } from "./load_revocation_list.ts";
