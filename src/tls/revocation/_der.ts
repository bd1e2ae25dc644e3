/**
 * A minimal, strict DER reader: just enough ASN.1 for X.509 CRLs and certificates.
 *
 * Every element keeps its absolute offset in the buffer it was read from, so a parse error can say where the input
 * went wrong ("at byte 57"). DER's rules that matter for safety are enforced: lengths must be definite and minimal,
 * an element may not run past its parent, and a parent's contents must be consumed exactly (no trailing bytes).
 * @module
 */

/** Identifier bytes of the universal and context tags X.509 uses (low-tag-number form). */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  ENUMERATED: 0x0a,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
  /** `[0]` constructed: X.509's EXPLICIT version and extensions wrappers. */
  CONTEXT_0: 0xa0,
} as const;

/** Malformed DER, with the absolute byte offset where reading failed. */
export class DerError extends Error {
  constructor(readonly offset: number, message: string) {
    super(`${message} at byte ${offset}`);
    this.name = "DerError";
  }
}

/** One tag-length-value element. `bytes` is the whole TLV, `contents` the value; both are views, not copies. */
export interface DerElement {
  /** The first identifier byte; compare with {@link Tag}. High tag numbers (≥ 31) all share the byte's low bits 0x1f. */
  readonly tag: number;
  readonly tagNumber: number;
  readonly constructed: boolean;
  /** Absolute offset of the identifier byte. */
  readonly offset: number;
  /** Absolute offset of the first content byte. */
  readonly contentOffset: number;
  readonly bytes: Uint8Array;
  readonly contents: Uint8Array;
}

/** Longest length field accepted: 4 bytes is 4 GiB, far more than any CRL; more would overflow JS bit operations. */
const MAX_LENGTH_BYTES = 4;

/**
 * Reads the element that starts at `offset` and must end by `end`. `base` is the absolute offset of `buffer[0]`, so
 * elements read from a parent's `contents` report offsets in the original input.
 */
function readElementAt(buffer: Uint8Array, offset: number, end: number, base: number): DerElement {
  let pos = offset;
  const at = () => base + pos;
  if (pos >= end) throw new DerError(at(), "expected an element, found the end of the input");
  const tag = buffer[pos++];
  let tagNumber = tag & 0x1f;
  if (tagNumber === 0x1f) {
    // High-tag-number form: base-128 digits, the last one without the top bit.
    tagNumber = 0;
    for (let digits = 0;; digits++) {
      if (pos >= end) throw new DerError(at(), "truncated tag");
      const b = buffer[pos++];
      if (digits === 0 && b === 0x80) throw new DerError(at() - 1, "tag number with a leading zero digit");
      if (digits === 3) throw new DerError(at() - 1, "tag number too large");
      tagNumber = tagNumber * 128 + (b & 0x7f);
      if (!(b & 0x80)) break;
    }
    if (tagNumber < 0x1f) throw new DerError(offset + base, "tag number in the long form that fits the short form");
  }
  if (pos >= end) throw new DerError(at(), "truncated length");
  const first = buffer[pos++];
  let length: number;
  if (first < 0x80) {
    length = first;
  } else if (first === 0x80) {
    throw new DerError(at() - 1, "indefinite length (BER, not DER)");
  } else {
    const count = first & 0x7f;
    if (count > MAX_LENGTH_BYTES) throw new DerError(at() - 1, `length field of ${count} bytes`);
    if (pos + count > end) throw new DerError(at(), "truncated length");
    if (buffer[pos] === 0) throw new DerError(at(), "length with a leading zero byte (not minimal)");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buffer[pos++];
    if (length < 0x80) throw new DerError(at() - count - 1, "long-form length below 128 (not minimal)");
  }
  const contentOffset = pos;
  if (length > end - contentOffset) {
    throw new DerError(base + contentOffset, `length ${length} runs past the end of its container (${end - contentOffset} bytes left)`);
  }
  return {
    tag,
    tagNumber,
    constructed: (tag & 0x20) !== 0,
    offset: base + offset,
    contentOffset: base + contentOffset,
    bytes: buffer.subarray(offset, contentOffset + length),
    contents: buffer.subarray(contentOffset, contentOffset + length),
  };
}

/** Reads exactly one element spanning all of `input`: trailing bytes are an error. */
export function readDer(input: Uint8Array): DerElement {
  // A plain view: a Node Buffer's slice() shares memory, so results built on one could change under us.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const element = readElementAt(bytes, 0, bytes.length, 0);
  if (element.bytes.length !== bytes.length) throw new DerError(element.bytes.length, "trailing bytes after the element");
  return element;
}

/**
 * Walks the children of a constructed element in order, for ASN.1 SEQUENCEs with OPTIONAL fields: `next` demands a
 * tag, `optional` takes the next child only if it has that tag, and `end` refuses anything left over.
 */
export class DerReader {
  #pos = 0;
  constructor(readonly parent: DerElement) {}

  /** Position of the next unread byte (absolute), for error messages. */
  get offset(): number {
    return this.parent.contentOffset + this.#pos;
  }

  get done(): boolean {
    return this.#pos >= this.parent.contents.length;
  }

  /** The next child without consuming it, or undefined at the end. */
  peek(): DerElement | undefined {
    if (this.done) return undefined;
    const { contents, contentOffset } = this.parent;
    return readElementAt(contents, this.#pos, contents.length, contentOffset);
  }

  /** The next child, which must carry `tag`; `what` names it in the error. */
  next(tag: number, what: string): DerElement {
    const element = this.peek();
    if (!element) throw new DerError(this.offset, `missing ${what}`);
    if (element.tag !== tag) {
      throw new DerError(element.offset, `expected ${what} (tag 0x${hex2(tag)}), found tag 0x${hex2(element.tag)}`);
    }
    this.#pos += element.bytes.length;
    return element;
  }

  /** The next child if it carries `tag`, else undefined and nothing consumed. */
  optional(tag: number): DerElement | undefined {
    const element = this.peek();
    if (!element || element.tag !== tag) return undefined;
    this.#pos += element.bytes.length;
    return element;
  }

  /** Every remaining child, each checked against `tag`. */
  rest(tag: number, what: string): DerElement[] {
    const out: DerElement[] = [];
    while (!this.done) out.push(this.next(tag, what));
    return out;
  }

  /** Refuses unread children: an unknown trailing field means the structure is not what we think it is. */
  end(what: string): void {
    if (!this.done) throw new DerError(this.offset, `unexpected data after the last field of ${what}`);
  }
}

/** Children of a constructed element, all of them: shorthand for a reader used in one go. */
export function reader(element: DerElement, what: string): DerReader {
  if (!element.constructed) throw new DerError(element.offset, `${what} must be constructed`);
  return new DerReader(element);
}

/** Dotted-decimal form of an OBJECT IDENTIFIER's contents. */
export function decodeOid(element: DerElement): string {
  const bytes = element.contents;
  if (bytes.length === 0) throw new DerError(element.contentOffset, "empty OBJECT IDENTIFIER");
  if (bytes[bytes.length - 1] & 0x80) throw new DerError(element.contentOffset, "truncated OBJECT IDENTIFIER");
  const arcs: bigint[] = [];
  let value = 0n;
  let startOfArc = true;
  for (let i = 0; i < bytes.length; i++) {
    if (startOfArc && bytes[i] === 0x80) throw new DerError(element.contentOffset + i, "OBJECT IDENTIFIER arc with a leading zero digit");
    value = (value << 7n) | BigInt(bytes[i] & 0x7f);
    startOfArc = !(bytes[i] & 0x80);
    if (startOfArc) {
      arcs.push(value);
      value = 0n;
    }
  }
  // The first subidentifier packs the first two arcs: 40 * X + Y, with X ≤ 2.
  const first = arcs[0];
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join(".");
}

/** An INTEGER's magnitude as uppercase hex without leading zeros ("0" for zero), as Node prints serial numbers. */
export function integerHex(element: DerElement): string {
  if (element.contents.length === 0) throw new DerError(element.contentOffset, "empty INTEGER");
  return hexOf(element.contents).replace(/^0+(?=.)/, "");
}

/** A small non-negative INTEGER or ENUMERATED (versions, reason codes). */
export function smallInteger(element: DerElement): number {
  const bytes = element.contents;
  if (bytes.length === 0 || bytes.length > 4 || bytes[0] & 0x80) {
    throw new DerError(element.contentOffset, "expected a small non-negative integer");
  }
  return bytes.reduce((n, b) => n * 256 + b, 0);
}

/** A BOOLEAN: DER allows exactly 0x00 and 0xff. */
export function decodeBoolean(element: DerElement): boolean {
  const bytes = element.contents;
  if (bytes.length !== 1 || (bytes[0] !== 0 && bytes[0] !== 0xff)) throw new DerError(element.contentOffset, "malformed BOOLEAN");
  return bytes[0] === 0xff;
}

/** The bytes of a BIT STRING whose length is a whole number of bytes (signatures, keys). */
export function bitStringBytes(element: DerElement): Uint8Array {
  const bytes = element.contents;
  if (bytes.length === 0) throw new DerError(element.contentOffset, "empty BIT STRING");
  if (bytes[0] !== 0) throw new DerError(element.contentOffset, `BIT STRING with ${bytes[0]} unused bits`);
  return bytes.subarray(1);
}

const TIME_PATTERNS = {
  [Tag.UTC_TIME]: /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/,
  [Tag.GENERALIZED_TIME]: /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/,
} as const;

/**
 * A UTCTime or GeneralizedTime in RFC 5280's profile (§4.1.2.5): seconds present, "Z", no fractions. UTCTime years
 * 50–99 are 1950–1999.
 */
export function decodeTime(element: DerElement): Date {
  const pattern = element.tag === Tag.UTC_TIME || element.tag === Tag.GENERALIZED_TIME ? TIME_PATTERNS[element.tag] : undefined;
  if (!pattern) throw new DerError(element.offset, `expected a UTCTime or GeneralizedTime, found tag 0x${hex2(element.tag)}`);
  const text = String.fromCharCode(...element.contents);
  const match = pattern.exec(text);
  if (!match) throw new DerError(element.contentOffset, `malformed time "${text}"`);
  const [year, month, day, hour, minute, second] = match.slice(1).map(Number);
  const fullYear = element.tag === Tag.UTC_TIME ? (year >= 50 ? 1900 + year : 2000 + year) : year;
  const date = new Date(Date.UTC(fullYear, month - 1, day, hour, minute, second));
  // Date.UTC rolls 31 February into March; a round trip catches every out-of-range field.
  if (
    date.getUTCFullYear() !== fullYear || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day ||
    date.getUTCHours() !== hour || date.getUTCMinutes() !== minute || date.getUTCSeconds() !== second
  ) {
    throw new DerError(element.contentOffset, `time out of range "${text}"`);
  }
  return date;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

/** Uppercase hex of bytes, two digits each. */
export function hexOf(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += hex2(b);
  return out.toUpperCase();
}

/** Byte-wise equality (DER has one encoding per value, so equal values have equal bytes). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
