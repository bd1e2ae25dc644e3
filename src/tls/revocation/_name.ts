/**
 * X.501 Names (issuer, subject) as readable text, for status reports and logs only. Matching never uses this text:
 * it compares the Name's DER bytes, because text forms differ between tools (order, escaping, string types).
 * @module
 */
import { decodeOid, type DerElement, DerError, hexOf, reader, Tag } from "./_der.ts";

/** Short names RFC 4514 defines, plus the ones openssl prints for common attributes. */
const SHORT_NAMES: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.5": "serialNumber",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.9": "STREET",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "0.9.2342.19200300.100.1.1": "UID",
  "0.9.2342.19200300.100.1.25": "DC",
  "1.2.840.113549.1.9.1": "emailAddress",
};

/** Decodes the string types X.509 names use; undefined for anything else (rendered as #hex, as RFC 4514 says). */
function stringValue(value: DerElement): string | undefined {
  const bytes = value.contents;
  switch (value.tag) {
    case Tag.UTF8_STRING:
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    case Tag.PRINTABLE_STRING:
    case Tag.IA5_STRING:
    case Tag.T61_STRING: // strictly T.61, in practice Latin-1
      return String.fromCharCode(...bytes);
    case Tag.BMP_STRING:
      return new TextDecoder("utf-16be", { fatal: true }).decode(bytes);
    case Tag.UNIVERSAL_STRING: {
      if (bytes.length % 4) return undefined;
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
      const points: number[] = [];
      for (let i = 0; i < bytes.length; i += 4) points.push(view.getUint32(i));
      return String.fromCodePoint(...points);
    }
    default:
      return undefined;
  }
}

/** RFC 4514 §2.4 escaping of an attribute value. */
function escape(text: string): string {
  return text
    .replace(/[\\",+;<>=]/g, "\\$&")
    .replace(/^[ #]/, "\\$&")
    .replace(/ $/, "\\ ");
}

function attributeText(atv: DerElement): string {
  const fields = reader(atv, "AttributeTypeAndValue");
  const oid = decodeOid(fields.next(Tag.OID, "attribute type"));
  const value = fields.peek();
  if (!value) throw new DerError(fields.offset, "missing attribute value");
  fields.optional(value.tag);
  fields.end("AttributeTypeAndValue");
  let text: string | undefined;
  try {
    text = stringValue(value);
  } catch {
    text = undefined; // invalid UTF-8/16: show the bytes rather than guess
  }
  return `${SHORT_NAMES[oid] ?? oid}=${text === undefined ? "#" + hexOf(value.bytes).toLowerCase() : escape(text)}`;
}

/**
 * The Name in RFC 4514 form: most significant RDN last (as `openssl -nameopt RFC2253` prints it), multi-valued RDNs
 * joined with "+". Throws DerError on a malformed Name.
 */
export function nameToString(name: DerElement): string {
  if (name.tag !== Tag.SEQUENCE) throw new DerError(name.offset, "expected a Name (SEQUENCE)");
  const rdns = reader(name, "Name").rest(Tag.SET, "RelativeDistinguishedName");
  return rdns
    .map((rdn) => reader(rdn, "RelativeDistinguishedName").rest(Tag.SEQUENCE, "AttributeTypeAndValue").map(attributeText).join("+"))
    .reverse()
    .join(",");
}
