/**
 * Turns the verified peer certificate of a TLS connection into the
 * immutable {@link ClientIdentity} handlers see.
 */
import type { TLSSocket } from "node:tls";
import type { ClientIdentity } from "../http/mod.ts";

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

/** "CN=replica-api dev CA, O=dev" from node:tls's issuer object (attribute order as the runtime gives it). */
function distinguishedName(name: Record<string, SubjectValue> | undefined): string | undefined {
  if (!name) return undefined;
  const parts: string[] = [];
  for (const [key, value] of Object.entries(name)) {
    for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) parts.push(`${key}=${v}`);
  }
  return parts.length ? parts.join(", ") : undefined;
}

/** node:tls's validity text ("Dec  7 09:00:00 2026 GMT") as an ISO string, or undefined when it cannot be read. */
function isoDate(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** Uppercase hex without leading zeros, whatever the runtime's spelling. */
function serialOf(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const hex = value.replaceAll(":", "").toUpperCase().replace(/^0+(?=.)/, "");
  return /^[0-9A-F]+$/.test(hex) ? hex : undefined;
}

/**
 * Identity of an authorized TLS connection, or undefined when the runtime did
 * not mark the connection authorized or gives no certificate (which
 * `rejectUnauthorized: true` should make impossible; callers treat it as fatal).
 */
export function clientIdentityOf(socket: TLSSocket): ClientIdentity | undefined {
  if (socket.authorized !== true) return undefined;
  const cert = socket.getPeerCertificate(false);
  if (!cert || typeof cert.fingerprint256 !== "string" || cert.fingerprint256 === "") return undefined;
  const subject = (cert.subject ?? {}) as unknown as Record<string, SubjectValue>;
  return Object.freeze({
    cn: commonNameOf(subject.CN),
    organizations: organizationsOf(subject.O),
    fingerprint256: cert.fingerprint256,
    serialNumber: serialOf(cert.serialNumber),
    issuer: distinguishedName(cert.issuer as unknown as Record<string, SubjectValue> | undefined),
    notBefore: isoDate(cert.valid_from),
    notAfter: isoDate(cert.valid_to),
  });
}
