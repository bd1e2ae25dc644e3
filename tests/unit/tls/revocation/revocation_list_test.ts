/**
 * Which CRLs are in force, kept or refused, and what the list then says about a certificate. CRLs come from real
 * `openssl ca` authorities of each key type; the list is built from bytes, the CA PEM and a time, so no test needs a
 * file watcher or a clock.
 */
import assert from "node:assert/strict";
import {
  buildRevocationList,
  type CrlFile,
  type CrlStatus,
  issuerAndSerialOf,
  type RevocationList,
} from "../../../../src/tls/revocation/mod.ts";
import { type CaKeyType, createCrlAuthority, type CrlAuthority, type RevocableCert } from "../../../support/pki.ts";

const authorities = new Map<string, Promise<CrlAuthority>>();
/** One authority per role for the module, created on first use, removed when the process unloads. */
function authority(role: string, options: { keyType?: CaKeyType; cn?: string } = {}): Promise<CrlAuthority> {
  if (!authorities.has(role)) {
    const created = createCrlAuthority({ cn: `${role} CA`, ...options });
    created.then((a) => globalThis.addEventListener("unload", () => Deno.removeSync(a.dir, { recursive: true })));
    authorities.set(role, created);
  }
  return authorities.get(role)!;
}
/** The dev PKI's shape: an ECDSA P-256 CA. */
const devCa = () => authority("dev", { keyType: "ec-p256" });

const NOW = new Date();

function isRevoked(list: RevocationList, cert: RevocableCert): boolean {
  const { issuer, serial } = issuerAndSerialOf(cert.der);
  return list.isRevoked(serial, issuer);
}

function build(files: CrlFile[], caPem: string | string[], previous?: RevocationList, now = NOW): Promise<RevocationList> {
  return buildRevocationList({ files, caPem, now, previous });
}

/** The status fields a test asserts on, without the dates. */
const summary = (s: CrlStatus) => ({ file: s.file, state: s.state, issuer: s.issuer, count: s.count, problems: s.problems });

function pemToDer(pem: Uint8Array): Uint8Array {
  const body = new TextDecoder().decode(pem).replace(/-----[A-Z0-9 ]+-----/g, "").replace(/\s+/g, "");
  return Uint8Array.from(atob(body), (c) => c.charCodeAt(0));
}

Deno.test("a certificate listed in a CRL of the configured CA is revoked, an unlisted one is not", async () => {
  const ca = await devCa();
  const [revoked, fine] = await Promise.all([ca.issue({ name: "listed" }), ca.issue({ name: "unlisted" })]);
  await ca.revoke(revoked, "keyCompromise");
  const crl = await ca.crl({ name: "listed" });
  const list = await build([{ path: "crl.pem", bytes: crl.bytes }], ca.ca.cert);
  assert.equal(isRevoked(list, revoked), true);
  assert.equal(isRevoked(list, fine), false);
  const { issuer, serial } = issuerAndSerialOf(revoked.der);
  assert.deepEqual(
    { ...list.revocationOf(serial, issuer), revokedAt: undefined },
    { serial, reason: "keyCompromise", file: "crl.pem", revokedAt: undefined },
  );
  assert.deepEqual(list.problems, []);
  assert.equal(list.status[0].state, "current");
});

Deno.test("an empty CRL revokes nothing and reports its issuer, update times and count", async () => {
  const ca = await authority("empty");
  const cert = await ca.issue({ name: "anyone" });
  const crl = await ca.crl({ name: "empty" });
  const list = await build([{ path: "empty.pem", bytes: crl.bytes }], ca.ca.cert);
  assert.equal(isRevoked(list, cert), false);
  assert.equal(list.size, 0);
  assert.deepEqual(list.status.map(summary), [
    { file: "empty.pem", state: "current", issuer: "CN=empty CA", count: 0, problems: [] },
  ]);
  assert.ok(list.status[0].thisUpdate! <= new Date() && list.status[0].nextUpdate! > new Date());
});

Deno.test("a serial matches whatever its padding: a DER leading zero byte, 20-byte serials, openssl's and Node's forms", async () => {
  const ca = await authority("serials");
  const certs = await Promise.all([
    ca.issue({ name: "high-bit", serial: "FF00000000000001" }), // DER: 00 FF 00 …
    ca.issue({ name: "twenty-bytes", serial: "7F" + "AB".repeat(19) }),
    ca.issue({ name: "twenty-bytes-high-bit", serial: "80" + "CD".repeat(19) }), // 21 bytes of DER
    ca.issue({ name: "small", serial: "1000" }),
  ]);
  for (const cert of certs) await ca.revoke(cert);
  const list = await build([{ path: "serials.pem", bytes: (await ca.crl({ name: "serials" })).bytes }], ca.ca.cert);
  const { issuer } = issuerAndSerialOf(certs[0].der);
  for (const cert of certs) {
    assert.equal(isRevoked(list, cert), true, cert.certPath);
    assert.equal(list.isRevoked(cert.serial, issuer), true, `openssl's form ${cert.serial}`);
    assert.equal(list.isRevoked("00" + cert.serial.toLowerCase(), issuer), true, "padded and lowercase");
  }
  assert.equal(list.isRevoked("1000", issuer), true, "Node keeps trailing zeros: 1000 stays 1000");
  assert.equal(list.isRevoked("100", issuer), false);
  assert.equal(list.isRevoked("FF00000000000001", issuer), true, "without the DER sign byte");
  assert.equal(list.isRevoked("ff:00:00:00:00:00:00:01", issuer), true, "colon-separated");
  assert.throws(() => list.isRevoked("not-hex", issuer), TypeError);
});

for (
  const [keyType, digest] of [
    ["ec-p256", "sha384"],
    ["ec-p384", "sha384"],
    ["ec-p384", "sha256"],
    ["rsa", "sha256"],
    ["rsa", "sha512"],
    ["ed25519", undefined],
  ] as const
) {
  Deno.test(`a CRL of a ${keyType} CA signed with ${digest ?? "its own digest"} verifies and takes effect`, async () => {
    const ca = await authority(`${keyType}`, { keyType });
    const cert = await ca.issue({ name: `${keyType}-${digest}` });
    await ca.revoke(cert);
    const crl = await ca.crl({ name: `${keyType}-${digest}`, ...(digest ? { digest } : {}) });
    const list = await build([{ path: "crl.pem", bytes: crl.bytes }], ca.ca.cert);
    assert.deepEqual(list.problems, []);
    assert.equal(isRevoked(list, cert), true);
  });
}

Deno.test("a CRL from another CA is refused: its issuer is not the configured CA", async () => {
  const [ca, other] = await Promise.all([devCa(), authority("other")]);
  const cert = await other.issue({ name: "foreign" });
  await other.revoke(cert);
  const list = await build([{ path: "other.pem", bytes: (await other.crl({ name: "other" })).bytes }], ca.ca.cert);
  assert.equal(list.status[0].state, "refused");
  assert.deepEqual(list.status[0].problems, ['issuer is not the configured CA (CRL issuer "CN=other CA", CA "CN=dev CA")']);
  assert.equal(list.size, 0);
});

Deno.test("a CRL that names the configured CA but was signed with another key is refused", async () => {
  const [ca, impostor] = await Promise.all([devCa(), authority("impostor", { cn: "dev CA" })]);
  const list = await build([{ path: "impostor.pem", bytes: (await impostor.crl({ name: "impostor" })).bytes }], ca.ca.cert);
  assert.equal(list.status[0].state, "refused");
  assert.deepEqual(list.status[0].problems, [
    "signature does not verify against the configured CA (the ecdsa-with-SHA256 signature does not verify)",
  ]);
});

Deno.test("a tampered CRL is refused: changing a revoked serial breaks the signature", async () => {
  const ca = await authority("tamper");
  const cert = await ca.issue({ name: "tampered", serial: "0A0B0C0D0E0F1011" });
  await ca.revoke(cert);
  const der = pemToDer((await ca.crl({ name: "tampered" })).bytes);
  const at = der.findIndex((_, i) => der.subarray(i, i + 8).every((b, j) => b === [10, 11, 12, 13, 14, 15, 16, 17][j]));
  assert.ok(at > 0);
  der[at + 7] ^= 1;
  const list = await build([{ path: "tampered.der", bytes: der }], ca.ca.cert);
  assert.equal(list.status[0].state, "refused");
  assert.match(list.status[0].problems[0], /^signature does not verify against the configured CA/);
  assert.equal(list.isRevoked("0A0B0C0D0E0F1010", issuerAndSerialOf(cert.der).issuer), false, "the forged serial is not revoked");
});

Deno.test("a CRL past its nextUpdate stays in force and is reported as stale", async () => {
  const ca = await authority("stale");
  const cert = await ca.issue({ name: "stale" });
  await ca.revoke(cert);
  const crl = await ca.crl({ name: "stale", lastUpdate: "20200101000000Z", nextUpdate: "20200108000000Z" });
  const list = await build([{ path: "stale.pem", bytes: crl.bytes }], ca.ca.cert);
  assert.equal(isRevoked(list, cert), true);
  assert.equal(list.status[0].state, "current");
  assert.deepEqual(list.problems, ["stale.pem CRL 1 of 1 (PEM block on line 1): past its nextUpdate since 2020-01-08T00:00:00.000Z"]);
});

Deno.test("when a file's new content is refused, the CRL it held before stays in force and both are reported", async () => {
  const ca = await authority("keep");
  const cert = await ca.issue({ name: "kept" });
  await ca.revoke(cert);
  const good = await ca.crl({ name: "keep" });
  const first = await build([{ path: "crl.pem", bytes: good.bytes }], ca.ca.cert);
  const broken = good.bytes.slice(0, good.bytes.length - 80);
  for (const replacement of [{ path: "crl.pem", bytes: broken }, { path: "crl.pem", readError: "No such file or directory" }]) {
    const second = await build([replacement], ca.ca.cert, first);
    assert.equal(isRevoked(second, cert), true, "revocations are never dropped by a bad copy");
    assert.deepEqual(second.status.map((s) => s.state), ["refused", "previous"]);
    assert.match(second.status[1].problems[0], /^kept from an earlier load/);
    // And again on top of that: the CRL kept from the first load is still the one in force.
    const third = await build([replacement], ca.ca.cert, second);
    assert.equal(isRevoked(third, cert), true);
  }
});

Deno.test("a good new copy of a file replaces the old one: new revocations take effect", async () => {
  const ca = await authority("replace");
  const [early, late] = await Promise.all([ca.issue({ name: "early" }), ca.issue({ name: "late" })]);
  await ca.revoke(early);
  const first = await build([{ path: "crl.pem", bytes: (await ca.crl({ name: "v1" })).bytes }], ca.ca.cert);
  await ca.revoke(late);
  const second = await build([{ path: "crl.pem", bytes: (await ca.crl({ name: "v2" })).bytes }], ca.ca.cert, first);
  assert.deepEqual([isRevoked(first, late), isRevoked(second, early), isRevoked(second, late)], [false, true, true]);
  assert.deepEqual(second.status.map((s) => s.state), ["current"]);
});

Deno.test("a replacement older than the CRL in force is refused, so a file cannot be rolled back before a revocation", async () => {
  const ca = await authority("rollback");
  const cert = await ca.issue({ name: "rollback" });
  const old = await ca.crl({ name: "old", lastUpdate: "20200101000000Z", nextUpdate: "20600101000000Z" });
  await ca.revoke(cert);
  const current = await build([{ path: "crl.pem", bytes: (await ca.crl({ name: "new" })).bytes }], ca.ca.cert);
  const rolledBack = await build([{ path: "crl.pem", bytes: old.bytes }], ca.ca.cert, current);
  assert.equal(isRevoked(rolledBack, cert), true);
  assert.deepEqual(rolledBack.status.map((s) => s.state), ["refused", "previous"]);
  assert.match(rolledBack.status[0].problems[0], /^older than the CRL in force for this issuer \(thisUpdate 2020-01-01T00:00:00\.000Z < /);
});

Deno.test("CRLs of several CAs in several files combine, and a serial is only revoked under the issuer that listed it", async () => {
  const [a, b] = await Promise.all([authority("combine-a"), authority("combine-b", { keyType: "rsa" })]);
  // The same serial from both CAs: only A revokes it.
  const [fromA, fromB, alsoA] = await Promise.all([
    a.issue({ name: "same-serial", serial: "5E5E5E5E" }),
    b.issue({ name: "same-serial", serial: "5E5E5E5E" }),
    a.issue({ name: "also-a" }),
  ]);
  await a.revoke(fromA);
  const [aCrl, bCrl] = await Promise.all([a.crl({ name: "a1" }), b.crl({ name: "b1" })]);
  await a.revoke(alsoA);
  const aNewer = await a.crl({ name: "a2" });
  const bundle = new Uint8Array([...aCrl.bytes, ...bCrl.bytes]);
  const list = await build([{ path: "both.pem", bytes: bundle }, { path: "a.pem", bytes: aNewer.bytes }], [a.ca.cert, b.ca.cert]);
  assert.deepEqual(list.problems, []);
  assert.deepEqual([isRevoked(list, fromA), isRevoked(list, fromB), isRevoked(list, alsoA)], [true, false, true]);
  assert.deepEqual(list.status.map((s) => [s.file, s.issuer, s.count]), [
    ["both.pem", "CN=combine-a CA", 1],
    ["both.pem", "CN=combine-b CA", 0],
    ["a.pem", "CN=combine-a CA", 2],
  ]);
  assert.equal(list.size, 2);
});

Deno.test("in a file with two CRLs, a refused one keeps only its own issuer's previous CRL", async () => {
  const [a, b, stranger] = await Promise.all([authority("pair-a"), authority("pair-b"), authority("pair-stranger")]);
  const [certA, certB] = await Promise.all([a.issue({ name: "pair" }), b.issue({ name: "pair" })]);
  await Promise.all([a.revoke(certA), b.revoke(certB)]);
  const [a1, b1] = await Promise.all([a.crl({ name: "a1" }), b.crl({ name: "b1" })]);
  const cas = [a.ca.cert, b.ca.cert];
  const first = await build([{ path: "pair.pem", bytes: new Uint8Array([...a1.bytes, ...b1.bytes]) }], cas);
  // B's CRL is replaced by one from a CA nobody configured; A's stays good.
  const s1 = await stranger.crl({ name: "s1" });
  const second = await build([{ path: "pair.pem", bytes: new Uint8Array([...a1.bytes, ...s1.bytes]) }], cas, first);
  assert.deepEqual(second.status.map((s) => [s.state, s.issuer]), [
    ["current", "CN=pair-a CA"],
    ["refused", "CN=pair-stranger CA"],
    ["previous", "CN=pair-b CA"],
  ]);
  assert.deepEqual([isRevoked(second, certA), isRevoked(second, certB)], [true, true]);
});

Deno.test("a CRL is checked against the CA of the bundle that it names", async () => {
  const [a, b] = await Promise.all([authority("bundle-a"), authority("bundle-b", { keyType: "ed25519" })]);
  const bundle = a.ca.cert + b.ca.cert;
  const [aCrl, bCrl] = await Promise.all([a.crl({ name: "bundle" }), b.crl({ name: "bundle" })]);
  const list = await build([{ path: "a.pem", bytes: aCrl.bytes }, { path: "b.pem", bytes: bCrl.bytes }], bundle);
  assert.deepEqual(list.status.map((s) => s.state), ["current", "current"]);
});

Deno.test("a CA PEM without any certificate is a configuration error, not an empty list", async () => {
  await assert.rejects(() => build([], "not a certificate"), TypeError);
});
