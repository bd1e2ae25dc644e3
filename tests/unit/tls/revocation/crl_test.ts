/**
 * CRL parsing (RFC 5280 §5) on CRLs made by `openssl ca -gencrl` and `openssl crl -outform DER`, plus the damaged
 * and unusual ones a parser must refuse rather than half-read.
 */
import assert from "node:assert/strict";
import { type Crl, type CrlParseResult, parseCrl, parseCrlFile } from "../../../../src/tls/revocation/crl.ts";
import { createCrlAuthority, type CrlAuthority } from "../../../support/pki.ts";

let shared: Promise<CrlAuthority> | undefined;
/** One P-256 authority (the dev PKI's key type) for the whole module; each test revokes under its own names. */
function authority(): Promise<CrlAuthority> {
  if (!shared) {
    shared = createCrlAuthority({ cn: "crl parser test CA" });
    shared.then((a) => globalThis.addEventListener("unload", () => Deno.removeSync(a.dir, { recursive: true })));
  }
  return shared;
}

function onlyCrl(results: CrlParseResult[]): Crl {
  assert.equal(results.length, 1, JSON.stringify(results));
  const [result] = results;
  assert.ok(result.ok, result.ok ? "" : result.error);
  return result.crl;
}

function pemToDer(pem: Uint8Array): Uint8Array {
  const body = new TextDecoder().decode(pem).replace(/-----[A-Z0-9 ]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
}

function indexOfBytes(haystack: Uint8Array, needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

Deno.test("an empty CRL from openssl ca -gencrl yields its issuer, update times and number, and no entries", async () => {
  const ca = await authority();
  const before = new Date(Date.now() - 2000);
  const { bytes } = await ca.crl({ name: "empty" });
  const crl = onlyCrl(parseCrlFile(bytes));
  assert.equal(crl.version, 2);
  assert.equal(crl.issuerName, "CN=crl parser test CA");
  assert.ok(crl.thisUpdate >= before && crl.thisUpdate <= new Date(), `thisUpdate ${crl.thisUpdate.toISOString()}`);
  assert.equal(crl.nextUpdate!.getTime() - crl.thisUpdate.getTime(), 86_400_000, "-crldays 1");
  assert.match(crl.crlNumber ?? "", /^[0-9A-F]+$/);
  assert.deepEqual(crl.revoked, []);
  assert.equal(crl.signatureAlgorithm.oid, "1.2.840.10045.4.3.2", "ecdsa-with-SHA256");
});

Deno.test("a revoked certificate is listed with its serial as Node prints it, its revocation date and reason", async () => {
  const ca = await authority();
  const cert = await ca.issue({ name: "parsed-revoked" });
  await ca.revoke(cert, "keyCompromise");
  const crl = onlyCrl(parseCrlFile((await ca.crl({ name: "one-revoked" })).bytes));
  const entry = crl.revoked.find((r) => r.serial === cert.serial.replace(/^0+/, ""));
  assert.ok(entry, `serial ${cert.serial} in ${JSON.stringify(crl.revoked)}`);
  assert.equal(entry.reason, "keyCompromise");
  assert.ok(Math.abs(entry.revokedAt.getTime() - Date.now()) < 60_000);
});

Deno.test("a PEM file with two CRLs yields both, each with the line its block starts on", async () => {
  const [a, b] = await Promise.all([authority(), createCrlAuthority({ keyType: "rsa", cn: "second CA" })]);
  try {
    const [first, second] = await Promise.all([a.crl({ name: "first" }), b.crl({ name: "second" })]);
    const text = new TextDecoder().decode(first.bytes) + new TextDecoder().decode(second.bytes);
    const results = parseCrlFile(new TextEncoder().encode(text));
    assert.equal(results.length, 2);
    assert.ok(results.every((r) => r.ok));
    assert.deepEqual(results.map((r) => r.ok && r.crl.issuerName), ["CN=crl parser test CA", "CN=second CA"]);
    const secondLine = text.slice(0, text.indexOf("-----BEGIN", 1)).split("\n").length;
    assert.deepEqual(results.map((r) => r.position), [
      "CRL 1 of 2 (PEM block on line 1)",
      `CRL 2 of 2 (PEM block on line ${secondLine})`,
    ]);
  } finally {
    await b.cleanup();
  }
});

Deno.test("a DER CRL from openssl crl -outform DER parses like its PEM form", async () => {
  const ca = await authority();
  const fromDer = onlyCrl(parseCrlFile((await ca.crl({ name: "as-der", der: true })).bytes));
  const pem = await Deno.readFile(`${ca.dir}/as-der.pem`);
  assert.deepEqual(fromDer, onlyCrl(parseCrlFile(pem)));
  assert.deepEqual(fromDer, parseCrl(pemToDer(pem)));
});

Deno.test("update times in GeneralizedTime (2050 and later) and UTCTime both parse", async () => {
  const ca = await authority();
  const { bytes } = await ca.crl({ name: "far", lastUpdate: "20200101000000Z", nextUpdate: "20600101000000Z" });
  const crl = onlyCrl(parseCrlFile(bytes));
  assert.equal(crl.thisUpdate.toISOString(), "2020-01-01T00:00:00.000Z");
  assert.equal(crl.nextUpdate?.toISOString(), "2060-01-01T00:00:00.000Z");
});

Deno.test("a CRL with an unknown critical extension is refused; an unknown non-critical one is ignored", async () => {
  const ca = await authority();
  const critical = await ca.crl({ name: "critical-ext", extensions: ["1.3.6.1.4.1.99999.1 = critical,DER:05:00"] });
  const [refused] = parseCrlFile(critical.bytes);
  assert.ok(!refused.ok);
  assert.match(refused.error, /critical CRL extension 1\.3\.6\.1\.4\.1\.99999\.1 is not supported at byte \d+ of its DER/);
  const plain = await ca.crl({ name: "plain-ext", extensions: ["1.3.6.1.4.1.99999.1 = DER:05:00"] });
  onlyCrl(parseCrlFile(plain.bytes));
});

Deno.test("a delta CRL is refused: its critical deltaCRLIndicator means it lists only changes", async () => {
  const ca = await authority();
  const delta = await ca.crl({ name: "delta", extensions: ["2.5.29.27 = critical,ASN1:INTEGER:1"] });
  const [result] = parseCrlFile(delta.bytes);
  assert.ok(!result.ok);
  assert.match(result.error, /critical CRL extension 2\.5\.29\.27 is not supported/);
});

Deno.test("a truncated CRL is refused with the byte offset where it ends", async () => {
  const ca = await authority();
  const der = (await ca.crl({ name: "cut", der: true })).bytes;
  const [result] = parseCrlFile(der.subarray(0, der.length - 10));
  assert.ok(!result.ok);
  assert.equal(result.position, "DER");
  assert.match(result.error, /^cannot parse: length \d+ runs past the end of its container .* at byte \d+ of its DER$/);
});

Deno.test("trailing bytes after a DER CRL are refused", async () => {
  const ca = await authority();
  const der = (await ca.crl({ name: "trailing", der: true })).bytes;
  const [result] = parseCrlFile(new Uint8Array([...der, 0]));
  assert.ok(!result.ok);
  assert.match(result.error, new RegExp(`trailing bytes after the element at byte ${der.length}`));
});

Deno.test("a tbsCertList whose algorithm differs from the outer signatureAlgorithm is refused", async () => {
  const ca = await authority();
  const der = (await ca.crl({ name: "alg-swap", der: true })).bytes.slice();
  // The first ecdsa-with-SHA256 OID is the signed one; make it say SHA-384.
  const at = indexOfBytes(der, [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]);
  der[at + 9] = 0x03;
  assert.throws(() => parseCrl(der), /tbsCertList\.signature differs from signatureAlgorithm/);
});

Deno.test("a file without a CRL is refused as a whole: empty, a certificate, or a cut-off PEM block", async () => {
  const ca = await authority();
  const refusal = (bytes: Uint8Array) => parseCrlFile(bytes).map((r) => (r.ok ? "ok" : r.error));
  assert.deepEqual(refusal(new Uint8Array()), ["the file is empty"]);
  assert.match(refusal(new TextEncoder().encode(ca.ca.cert))[0], /no complete -----BEGIN X509 CRL----- block/);
  const pem = new TextDecoder().decode((await ca.crl({ name: "pem-cut" })).bytes);
  const cut = pem + pem.slice(0, pem.length / 2);
  assert.deepEqual(refusal(new TextEncoder().encode(cut)), ["ok", "PEM block without its -----END X509 CRL----- line"]);
  const badBase64 = pem.replace(/\n[A-Za-z0-9+/]{10}/, "\n!!!!!!!!!!");
  assert.deepEqual(refusal(new TextEncoder().encode(badBase64)), ["cannot parse: the PEM block is not valid base64"]);
});
