/**
 * What a revocation check needs from a certificate: its serial number and the DER of its issuer Name (and, for CA
 * certificates, the subject Name that a CRL's issuer must equal). Read from the certificate's DER with our own
 * reader, since node:crypto exposes names only as text.
 * @module
 */
import { type DerElement, DerError, integerHex, readDer, reader, Tag } from "./_der.ts";
import { nameToString } from "./_name.ts";

/** A certificate's identity for revocation: who issued it and under which serial. */
export interface IssuerAndSerial {
  /** DER of the issuer Name, to pass to `RevocationList.isRevoked`. */
  readonly issuer: Uint8Array;
  /** The issuer in RFC 4514 form, for logs. */
  readonly issuerName: string;
  /** Uppercase hex without leading zeros, as `getPeerCertificate().serialNumber` prints it. */
  readonly serial: string;
}

interface CertificateNames {
  readonly serial: string;
  readonly issuer: DerElement;
  readonly subject: DerElement;
}

/** The first fields of tbsCertificate (RFC 5280 §4.1): the rest is not needed and not read. */
function readNames(der: Uint8Array): CertificateNames {
  const certificate = readDer(der);
  if (certificate.tag !== Tag.SEQUENCE) throw new DerError(0, "a certificate must start with a SEQUENCE");
  const tbs = reader(certificate, "Certificate").next(Tag.SEQUENCE, "tbsCertificate");
  const fields = reader(tbs, "tbsCertificate");
  fields.optional(Tag.CONTEXT_0); // version
  const serial = integerHex(fields.next(Tag.INTEGER, "serialNumber"));
  fields.next(Tag.SEQUENCE, "signature algorithm");
  const issuer = fields.next(Tag.SEQUENCE, "issuer Name");
  fields.next(Tag.SEQUENCE, "validity");
  const subject = fields.next(Tag.SEQUENCE, "subject Name");
  return { serial, issuer, subject };
}

/**
 * Issuer Name (DER and text) and serial of a DER certificate, e.g. `tlsSocket.getPeerCertificate().raw` (a
 * Uint8Array on Deno, a Buffer on Node: both work) or `getPeerX509Certificate().raw`. Throws DerError when the bytes
 * are not a certificate.
 */
export function issuerAndSerialOf(rawCertificate: Uint8Array): IssuerAndSerial {
  const { serial, issuer } = readNames(rawCertificate);
  return { issuer: issuer.bytes.slice(), issuerName: nameToString(issuer), serial };
}

/** The subject Name of a DER certificate, as DER and as text: a CA's subject is what its CRLs name as issuer. */
export function subjectOf(rawCertificate: Uint8Array): { readonly subject: Uint8Array; readonly subjectName: string } {
  const { subject } = readNames(rawCertificate);
  return { subject: subject.bytes.slice(), subjectName: nameToString(subject) };
}
