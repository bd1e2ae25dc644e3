/**
 * The DER reader refuses what a lenient BER parser would accept (indefinite and non-minimal lengths, trailing
 * bytes, elements running past their parent) and says at which byte the input went wrong.
 */
import assert from "node:assert/strict";
import { decodeOid, decodeTime, DerError, integerHex, readDer, reader, Tag } from "../../../../src/tls/revocation/_der.ts";

const bytes = (...values: number[]) => new Uint8Array(values);

function assertDerError(fn: () => unknown, message: RegExp, offset: number) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DerError, `expected a DerError, got ${err}`);
    assert.match(err.message, message);
    assert.equal(err.offset, offset, `offset of "${err.message}"`);
    return true;
  });
}

Deno.test("readDer reads a short-form element and gives views of the whole TLV and its contents", () => {
  const element = readDer(bytes(0x04, 0x03, 0xaa, 0xbb, 0xcc));
  assert.equal(element.tag, Tag.OCTET_STRING);
  assert.equal(element.constructed, false);
  assert.deepEqual([...element.contents], [0xaa, 0xbb, 0xcc]);
  assert.equal(element.bytes.length, 5);
  assert.equal(element.contentOffset, 2);
});

Deno.test("readDer reads one- and two-byte long-form lengths", () => {
  const short = new Uint8Array(3 + 200);
  short.set([0x04, 0x81, 200]);
  assert.equal(readDer(short).contents.length, 200);
  const long = new Uint8Array(4 + 300);
  long.set([0x04, 0x82, 0x01, 0x2c]);
  const element = readDer(long);
  assert.equal(element.contents.length, 300);
  assert.equal(element.contentOffset, 4);
});

Deno.test("readDer refuses an indefinite length, which is BER and not DER", () => {
  assertDerError(() => readDer(bytes(0x30, 0x80, 0x00, 0x00)), /indefinite length/, 1);
});

Deno.test("readDer refuses non-minimal long-form lengths", () => {
  assertDerError(() => readDer(bytes(0x04, 0x81, 0x05, 1, 2, 3, 4, 5)), /not minimal/, 1);
  const padded = new Uint8Array(4 + 200);
  padded.set([0x04, 0x82, 0x00, 200]);
  assertDerError(() => readDer(padded), /leading zero/, 2);
});

Deno.test("readDer refuses a length field longer than four bytes", () => {
  assertDerError(() => readDer(bytes(0x04, 0x85, 1, 0, 0, 0, 0)), /length field of 5 bytes/, 1);
});

Deno.test("readDer refuses truncated input: no length, a cut-off long length, contents shorter than the length", () => {
  assertDerError(() => readDer(bytes(0x30)), /truncated length/, 1);
  assertDerError(() => readDer(bytes(0x04, 0x82, 0x01)), /truncated length/, 2);
  assertDerError(() => readDer(bytes(0x04, 0x05, 1, 2)), /runs past the end/, 2);
  assertDerError(() => readDer(bytes()), /found the end of the input/, 0);
});

Deno.test("readDer refuses trailing bytes after the element", () => {
  assertDerError(() => readDer(bytes(0x05, 0x00, 0x00)), /trailing bytes/, 2);
});

Deno.test("a child may not run past its parent, even when the input continues", () => {
  // SEQUENCE of length 3 holding an OCTET STRING that claims 4 bytes.
  const sequence = readDer(bytes(0x30, 0x03, 0x04, 0x04, 0xaa));
  assertDerError(() => reader(sequence, "test").next(Tag.OCTET_STRING, "value"), /runs past the end of its container/, 4);
});

Deno.test("a reader reports children at their absolute offsets and refuses leftovers", () => {
  // SEQUENCE { INTEGER 5, NULL, BOOLEAN TRUE }
  const sequence = readDer(bytes(0x30, 0x08, 0x02, 0x01, 0x05, 0x05, 0x00, 0x01, 0x01, 0xff));
  const fields = reader(sequence, "test");
  assert.equal(fields.next(Tag.INTEGER, "number").offset, 2);
  assert.equal(fields.optional(Tag.OID), undefined, "optional takes nothing when the tag differs");
  assert.equal(fields.next(Tag.NULL, "null").offset, 5);
  assertDerError(() => fields.end("test"), /unexpected data after the last field of test/, 7);
  assertDerError(() => fields.next(Tag.INTEGER, "the count"), /expected the count \(tag 0x02\), found tag 0x01/, 7);
});

Deno.test("readDer reads a high tag number and refuses one that fits the short form", () => {
  const element = readDer(bytes(0x9f, 0x81, 0x00, 0x00)); // [128] primitive, empty
  assert.equal(element.tagNumber, 128);
  assertDerError(() => readDer(bytes(0x9f, 0x05, 0x00)), /fits the short form/, 0);
});

Deno.test("decodeOid reads the packed first arcs and multi-byte arcs", () => {
  // 1.2.840.10045.4.3.2 (ecdsa-with-SHA256)
  assert.equal(decodeOid(readDer(bytes(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02))), "1.2.840.10045.4.3.2");
  assert.equal(decodeOid(readDer(bytes(0x06, 0x03, 0x55, 0x04, 0x03))), "2.5.4.3");
  assertDerError(() => decodeOid(readDer(bytes(0x06, 0x02, 0x2a, 0x86))), /truncated OBJECT IDENTIFIER/, 2);
});

Deno.test("integerHex gives the magnitude as Node prints serials: uppercase, no leading zero bytes", () => {
  assert.equal(integerHex(readDer(bytes(0x02, 0x03, 0x00, 0xff, 0x0a))), "FF0A");
  assert.equal(integerHex(readDer(bytes(0x02, 0x02, 0x10, 0x00))), "1000");
  assert.equal(integerHex(readDer(bytes(0x02, 0x01, 0x00))), "0");
});

Deno.test("decodeTime reads UTCTime (1950-2049) and GeneralizedTime in RFC 5280's profile", () => {
  const ascii = (tag: number, text: string) => readDer(bytes(tag, text.length, ...[...text].map((c) => c.charCodeAt(0))));
  assert.equal(decodeTime(ascii(Tag.UTC_TIME, "261207091849Z")).toISOString(), "2026-12-07T09:18:49.000Z");
  assert.equal(decodeTime(ascii(Tag.UTC_TIME, "991231235959Z")).toISOString(), "1999-12-31T23:59:59.000Z");
  assert.equal(decodeTime(ascii(Tag.GENERALIZED_TIME, "20600101000000Z")).toISOString(), "2060-01-01T00:00:00.000Z");
  assertDerError(() => decodeTime(ascii(Tag.UTC_TIME, "2612070918Z")), /malformed time/, 2);
  assertDerError(() => decodeTime(ascii(Tag.GENERALIZED_TIME, "20260231000000Z")), /out of range/, 2);
  assertDerError(() => decodeTime(ascii(Tag.GENERALIZED_TIME, "20260101000000.5Z")), /malformed time/, 2);
});
