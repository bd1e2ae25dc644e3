/**
 * The file loader on top of buildRevocationList: `TLS_CLIENT_CRL_FILE`'s comma-separated paths, real files, and a
 * file that goes missing between loads.
 */
import assert from "node:assert/strict";
import { crlPathsFromSetting, issuerAndSerialOf, loadRevocationList } from "../../../../src/tls/revocation/mod.ts";
import { createCrlAuthority } from "../../../support/pki.ts";

Deno.test("crlPathsFromSetting splits comma-separated paths, trims them, and treats an empty value as no CRL", () => {
  assert.deepEqual(crlPathsFromSetting("/etc/crl/a.pem, /etc/crl/b.crl"), ["/etc/crl/a.pem", "/etc/crl/b.crl"]);
  assert.deepEqual(crlPathsFromSetting("a.pem,a.pem"), ["a.pem"]);
  assert.deepEqual(crlPathsFromSetting(""), []);
  assert.deepEqual(crlPathsFromSetting(undefined), []);
});

Deno.test("crlPathsFromSetting refuses an empty entry, naming the setting", () => {
  assert.throws(() => crlPathsFromSetting("a.pem,,b.pem"), /^TypeError: TLS_CLIENT_CRL_FILE: empty path in "a.pem,,b.pem"/);
  assert.throws(() => crlPathsFromSetting("a.pem,"), /TLS_CLIENT_CRL_FILE/);
});

Deno.test("loadRevocationList reads every file; a missing one is refused and reported while the others load", async () => {
  const ca = await createCrlAuthority({ cn: "loader CA" });
  try {
    const cert = await ca.issue({ name: "loaded" });
    await ca.revoke(cert);
    const crl = await ca.crl({ name: "loaded" });
    const missing = `${ca.dir}/missing.pem`;
    const list = await loadRevocationList([crl.path, missing], { caPem: ca.ca.cert });
    const { serial, issuer } = issuerAndSerialOf(cert.der);
    assert.equal(list.isRevoked(serial, issuer), true);
    assert.deepEqual(list.status.map((s) => [s.file, s.state]), [[crl.path, "current"], [missing, "refused"]]);
    assert.match(list.problems[0], new RegExp(`^${missing} file: cannot read: `));
  } finally {
    await ca.cleanup();
  }
});

Deno.test("loadRevocationList keeps a file's CRL in force when the file disappears, and judges staleness at `now`", async () => {
  const ca = await createCrlAuthority({ cn: "loader CA" });
  try {
    const cert = await ca.issue({ name: "vanishing" });
    await ca.revoke(cert);
    const crl = await ca.crl({ name: "vanishing" });
    const first = await loadRevocationList([crl.path], { caPem: ca.ca.cert });
    await Deno.remove(crl.path);
    const later = new Date(Date.now() + 2 * 86_400_000); // past the CRL's nextUpdate (one day)
    const second = await loadRevocationList([crl.path], { caPem: ca.ca.cert, previous: first, now: later });
    const { serial, issuer } = issuerAndSerialOf(cert.der);
    assert.equal(second.isRevoked(serial, issuer), true);
    assert.deepEqual(second.status.map((s) => s.state), ["refused", "previous"]);
    assert.equal(second.builtAt, later);
    assert.match(second.status[1].problems.join("\n"), /past its nextUpdate since/);
  } finally {
    await ca.cleanup();
  }
});
