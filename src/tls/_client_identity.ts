/**
 * Reads the verified peer certificate of a TLS connection once: the immutable {@link ClientIdentity} handlers
 * see, and what the listener needs beside it (the issuer's DER for revocation, notAfter for expiry metrics).
 */
import type { TLSSocket } from "node:tls";
import type { ClientIdentity } from "../http/mod.ts";
import { issuerAndSerialOf, normalizeSerial } from "./revocation/mod.ts";

/** A connection's client certificate, as the listener keeps it for the connection's life. */
export interface PeerCertificate {
  readonly identity: ClientIdentity;
  /**
   * DER of the issuer Name, what revocation lists are matched on; undefined when our DER reader could not read the
   * certificate (the handshake accepted it, so this is our reader's limit: a revocation check must then refuse).
   */
  readonly issuerDer: Uint8Array | undefined;
  /** The serial revocation lists are matched on (uppercase hex, no leading zeros); "" when unreadable. */
  readonly serial: string;
  /** notAfter in epoch milliseconds; NaN when the runtime's validity text does not parse. */
  readonly notAfterMs: number;
}

const NO_ORGANIZATIONS: readonly string[] = Object.freeze([]);

/** node:tls gives a single attribute value as a string and repeated ones as an array. */
type SubjectValue = string | string[] | undefined;

function organizationsOf(value: SubjectValue): readonly string[] {
  if (value === undefined) return NO_ORGANIZATIONS;
  return Object.freeze(Array.isArray(value) ? [...value] : [value]);
}

function commonNameOf(value: SubjectValue): string {
  // Several CNs make "who is this" ambiguous; an empty CN matches no
  // CN-based authorization rule, which is the safe answer.
  if (Array.isArray(value)) return value.length === 1 ? value[0] : "";
  return value ?? "";
}

/**
 * The issuer in RFC 4514 form from node:tls's issuer object, for a certificate our DER reader could not read:
 * reversed into RFC 4514's order and escaped, though multi-valued RDNs and string types are lost in that object.
 */
function issuerTextOf(name: Record<string, SubjectValue> | undefined): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(name ?? {})) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) {
      parts.push(`${key}=${v.replace(/[\\",+;<>=]/g, "\\$&").replace(/^[ #]/, "\\$&").replace(/ $/, "\\ ")}`);
    }
  }
  return parts.reverse().join(",");
}

/** node:tls's validity text ("Dec  7 09:00:00 2026 GMT") in epoch ms; NaN when it does not parse. */
function timeOf(value: string | undefined): number {
  return value ? Date.parse(value) : NaN;
}

function isoOf(ms: number): string | undefined {
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** Uppercase hex without leading zeros, whatever the runtime's spelling; undefined for anything else. */
function serialOf(value: string | undefined): string | undefined {
  try {
    return value ? normalizeSerial(value) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The client certificate of an authorized TLS connection, or undefined when the runtime did not mark the
 * connection authorized or gives no certificate (which `rejectUnauthorized: true` should make impossible;
 * callers treat it as fatal).
 */
export function peerCertificateOf(socket: TLSSocket): PeerCertificate | undefined {
  if (socket.authorized !== true) return undefined;
  const cert = socket.getPeerCertificate(false);
  if (!cert || typeof cert.fingerprint256 !== "string" || cert.fingerprint256 === "") return undefined;
  const subject = (cert.subject ?? {}) as unknown as Record<string, SubjectValue>;
  let fromDer: ReturnType<typeof issuerAndSerialOf> | undefined;
  try {
    // `raw` is a Uint8Array on Deno, a Buffer (also one) on Node.
    fromDer = cert.raw ? issuerAndSerialOf(cert.raw as Uint8Array) : undefined;
  } catch {
    fromDer = undefined; // see PeerCertificate.issuerDer
  }
  const notBeforeMs = timeOf(cert.valid_from);
  const notAfterMs = timeOf(cert.valid_to);
  const identity: ClientIdentity = Object.freeze({
    cn: commonNameOf(subject.CN),
    organizations: organizationsOf(subject.O),
    fingerprint256: cert.fingerprint256,
    serialNumber: fromDer?.serial ?? serialOf(cert.serialNumber),
    issuer: fromDer?.issuerName ?? issuerTextOf(cert.issuer as unknown as Record<string, SubjectValue> | undefined),
    notBefore: isoOf(notBeforeMs),
    notAfter: isoOf(notAfterMs),
  });
  return { identity, issuerDer: fromDer?.issuer, serial: fromDer?.serial ?? "", notAfterMs };
}
