/**
 * X.509 v1/v2 CRLs (RFC 5280 §5), from DER or from PEM files with one or several `X509 CRL` blocks.
 *
 * Parsing is strict where a mistake would change what is revoked: the signed algorithm must equal the outer one, the
 * version must be v1 or v2, and a *critical* extension this parser does not understand (a delta CRL, an issuing
 * distribution point that scopes the list, an indirect CRL's certificate issuer) refuses the whole CRL, as §5.2 and
 * §5.3 require. Non-critical unknown extensions are ignored. The signature is not checked here (see `_signature.ts`).
 * @module
 */
import {
  bitStringBytes,
  decodeBoolean,
  decodeOid,
  decodeTime,
  type DerElement,
  DerError,
  type DerReader,
  equalBytes,
  integerHex,
  readDer,
  reader,
  smallInteger,
  Tag,
} from "./_der.ts";
import { nameToString } from "./_name.ts";

/** RFC 5280 §5.3.1 reason codes (7 is unused). */
const REASONS = [
  "unspecified",
  "keyCompromise",
  "cACompromise",
  "affiliationChanged",
  "superseded",
  "cessationOfOperation",
  "certificateHold",
  undefined,
  "removeFromCRL",
  "privilegeWithdrawn",
  "aACompromise",
] as const;

/** One entry of revokedCertificates. */
export interface RevokedCertificate {
  /** Uppercase hex, no leading zeros: the form `getPeerCertificate().serialNumber` has. */
  readonly serial: string;
  readonly revokedAt: Date;
  /** From the reasonCode entry extension, when present ("keyCompromise", …, or "reason 42" for unknown codes). */
  readonly reason?: string;
}

/** An AlgorithmIdentifier: the OID and the DER of its parameters, if any. */
export interface AlgorithmIdentifier {
  readonly oid: string;
  readonly parameters?: Uint8Array;
}

/** A parsed, not yet verified CRL. */
export interface Crl {
  readonly version: 1 | 2;
  /** DER of the issuer Name: compare these bytes with a CA's subject or a certificate's issuer. */
  readonly issuer: Uint8Array;
  /** The issuer in RFC 4514 form, for people. */
  readonly issuerName: string;
  readonly thisUpdate: Date;
  /** Optional in ASN.1, mandatory for conforming CAs (§5.1.2.5). */
  readonly nextUpdate?: Date;
  /** The cRLNumber extension as uppercase hex, when present. */
  readonly crlNumber?: string;
  readonly revoked: readonly RevokedCertificate[];
  readonly signatureAlgorithm: AlgorithmIdentifier;
  /** The DER of tbsCertList: what the signature covers. */
  readonly signedBytes: Uint8Array<ArrayBuffer>;
  /** The signatureValue BIT STRING's bytes. */
  readonly signature: Uint8Array<ArrayBuffer>;
}

/** One CRL of a file: parsed, or refused with a message that says where (byte offset within its DER). */
export type CrlParseResult =
  | { readonly ok: true; readonly position: string; readonly crl: Crl }
  | { readonly ok: false; readonly position: string; readonly error: string };

const EXT = {
  authorityKeyIdentifier: "2.5.29.35",
  issuerAltName: "2.5.29.18",
  crlNumber: "2.5.29.20",
  freshestCrl: "2.5.29.46",
  authorityInfoAccess: "1.3.6.1.5.5.7.1.1",
  reasonCode: "2.5.29.21",
  invalidityDate: "2.5.29.24",
  holdInstructionCode: "2.5.29.23",
} as const;

/** Extensions whose meaning does not change which certificates the list revokes, so ignoring their contents is safe. */
const UNDERSTOOD_CRL_EXTENSIONS = new Set<string>([
  EXT.authorityKeyIdentifier,
  EXT.issuerAltName,
  EXT.crlNumber,
  EXT.freshestCrl,
  EXT.authorityInfoAccess,
]);
const UNDERSTOOD_ENTRY_EXTENSIONS = new Set<string>([EXT.reasonCode, EXT.invalidityDate, EXT.holdInstructionCode]);

interface Extension {
  readonly oid: string;
  readonly critical: boolean;
  readonly value: DerElement;
}

/** Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }, if the next field is one. */
function optionalTime(fields: DerReader): DerElement | undefined {
  return fields.optional(Tag.UTC_TIME) ?? fields.optional(Tag.GENERALIZED_TIME);
}

function nextTime(fields: DerReader, what: string): Date {
  const element = optionalTime(fields);
  if (!element) throw new DerError(fields.peek()?.offset ?? fields.offset, `expected ${what} (UTCTime or GeneralizedTime)`);
  return decodeTime(element);
}

function readAlgorithm(element: DerElement): AlgorithmIdentifier {
  const fields = reader(element, "AlgorithmIdentifier");
  const oid = decodeOid(fields.next(Tag.OID, "algorithm OID"));
  const parameters = fields.peek();
  if (parameters) fields.optional(parameters.tag);
  fields.end("AlgorithmIdentifier");
  return parameters ? { oid, parameters: parameters.bytes } : { oid };
}

/** Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension, refusing critical ones outside `understood`. */
function readExtensions(element: DerElement, understood: ReadonlySet<string>, what: string): Extension[] {
  const list = reader(element, what).rest(Tag.SEQUENCE, "Extension");
  return list.map((extension) => {
    const fields = reader(extension, "Extension");
    const oid = decodeOid(fields.next(Tag.OID, "extension OID"));
    const criticalField = fields.optional(Tag.BOOLEAN);
    const critical = criticalField ? decodeBoolean(criticalField) : false;
    const value = fields.next(Tag.OCTET_STRING, "extension value");
    fields.end("Extension");
    if (critical && !understood.has(oid)) {
      throw new DerError(extension.offset, `critical ${what} extension ${oid} is not supported`);
    }
    return { oid, critical, value };
  });
}

function readEntry(entry: DerElement): RevokedCertificate {
  const fields = reader(entry, "revoked certificate entry");
  const serial = integerHex(fields.next(Tag.INTEGER, "userCertificate serial"));
  const revokedAt = nextTime(fields, "revocationDate");
  const extensions = fields.optional(Tag.SEQUENCE);
  fields.end("revoked certificate entry");
  let reason: string | undefined;
  for (const extension of extensions ? readExtensions(extensions, UNDERSTOOD_ENTRY_EXTENSIONS, "CRL entry") : []) {
    if (extension.oid !== EXT.reasonCode) continue;
    const code = readDer(extension.value.contents);
    if (code.tag !== Tag.ENUMERATED) throw new DerError(extension.value.contentOffset, "reasonCode is not an ENUMERATED");
    const n = smallInteger(code);
    reason = REASONS[n] ?? `reason ${n}`;
  }
  return reason === undefined ? { serial, revokedAt } : { serial, revokedAt, reason };
}

/** Parses one DER-encoded CertificateList. Throws DerError (with the byte offset) when it is malformed or refused. */
export function parseCrl(der: Uint8Array): Crl {
  const certificateList = readDer(der);
  if (certificateList.tag !== Tag.SEQUENCE) throw new DerError(0, "a CRL must start with a SEQUENCE");
  const outer = reader(certificateList, "CertificateList");
  const tbs = outer.next(Tag.SEQUENCE, "tbsCertList");
  const signatureAlgorithmElement = outer.next(Tag.SEQUENCE, "signatureAlgorithm");
  const signature = bitStringBytes(outer.next(Tag.BIT_STRING, "signatureValue"));
  outer.end("CertificateList");

  const fields = reader(tbs, "tbsCertList");
  // v1 CRLs omit the version; present, it must say v2 (1): an explicit v1 is not DER, anything higher is unknown.
  const versionField = fields.optional(Tag.INTEGER);
  const version = versionField ? smallInteger(versionField) + 1 : 1;
  if (versionField && version !== 2) throw new DerError(versionField.offset, `unsupported CRL version ${version}`);
  const innerAlgorithm = fields.next(Tag.SEQUENCE, "signature algorithm");
  if (!equalBytes(innerAlgorithm.bytes, signatureAlgorithmElement.bytes)) {
    // §5.1.1.2: otherwise the algorithm that is checked is not the one that was signed.
    throw new DerError(innerAlgorithm.offset, "tbsCertList.signature differs from signatureAlgorithm");
  }
  const issuer = fields.next(Tag.SEQUENCE, "issuer Name");
  const issuerName = nameToString(issuer);
  const thisUpdate = nextTime(fields, "thisUpdate");
  const nextUpdateField = optionalTime(fields);
  const revokedList = fields.optional(Tag.SEQUENCE);
  const extensionsWrapper = fields.optional(Tag.CONTEXT_0);
  fields.end("tbsCertList");

  const revoked = revokedList
    ? reader(revokedList, "revokedCertificates").rest(Tag.SEQUENCE, "revoked certificate entry").map(readEntry)
    : [];
  let crlNumber: string | undefined;
  if (extensionsWrapper) {
    if (version === 1) throw new DerError(extensionsWrapper.offset, "a v1 CRL cannot have extensions");
    const wrapper = reader(extensionsWrapper, "crlExtensions");
    const extensions = readExtensions(wrapper.next(Tag.SEQUENCE, "crlExtensions"), UNDERSTOOD_CRL_EXTENSIONS, "CRL");
    wrapper.end("crlExtensions");
    const number = extensions.find((e) => e.oid === EXT.crlNumber);
    if (number) {
      const value = readDer(number.value.contents);
      if (value.tag !== Tag.INTEGER) throw new DerError(number.value.contentOffset, "cRLNumber is not an INTEGER");
      crlNumber = integerHex(value);
    }
  }
  return {
    version: version as 1 | 2,
    issuer: issuer.bytes.slice(),
    issuerName,
    thisUpdate,
    ...(nextUpdateField ? { nextUpdate: decodeTime(nextUpdateField) } : {}),
    ...(crlNumber === undefined ? {} : { crlNumber }),
    revoked,
    signatureAlgorithm: readAlgorithm(signatureAlgorithmElement),
    signedBytes: tbs.bytes.slice(),
    signature: signature.slice(),
  };
}

const PEM_BLOCK = /-----BEGIN X509 CRL-----([\s\S]*?)-----END X509 CRL-----/g;

/** Line number (1-based) of a character offset, to point people at a PEM block. */
function lineOf(text: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function decodeBase64(body: string): Uint8Array {
  const compact = body.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4) throw new Error("the PEM block is not valid base64");
  return Uint8Array.from(atob(compact), (c) => c.charCodeAt(0));
}

function parseAt(der: Uint8Array, position: string): CrlParseResult {
  try {
    return { ok: true, position, crl: parseCrl(der) };
  } catch (err) {
    if (!(err instanceof DerError)) throw err;
    return { ok: false, position, error: `cannot parse: ${err.message} of its DER` };
  }
}

/**
 * The CRLs in a file's bytes: PEM (every `-----BEGIN X509 CRL-----` block, other blocks ignored) or, when the file has
 * no PEM armour at all, one DER CRL. Never throws: a file without any CRL yields one failed result.
 */
export function parseCrlFile(bytes: Uint8Array): CrlParseResult[] {
  if (bytes.length === 0) return [{ ok: false, position: "file", error: "the file is empty" }];
  const text = new TextDecoder("latin1").decode(bytes);
  if (!text.includes("-----BEGIN")) return [parseAt(bytes, "DER")];
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) {
    return [{ ok: false, position: "file", error: "no complete -----BEGIN X509 CRL----- block (is this a certificate?)" }];
  }
  const results = blocks.map((block, i): CrlParseResult => {
    const position = `CRL ${i + 1} of ${blocks.length} (PEM block on line ${lineOf(text, block.index)})`;
    try {
      return parseAt(decodeBase64(block[1]), position);
    } catch (err) {
      return { ok: false, position, error: `cannot parse: ${(err as Error).message}` };
    }
  });
  // A BEGIN after the last END is a cut-off block: a truncated copy must not pass as a shorter list.
  const lastEnd = text.lastIndexOf("-----END X509 CRL-----");
  if (text.indexOf("-----BEGIN X509 CRL-----", lastEnd) !== -1) {
    results.push({ ok: false, position: `CRL ${blocks.length + 1}`, error: "PEM block without its -----END X509 CRL----- line" });
  }
  return results;
}
