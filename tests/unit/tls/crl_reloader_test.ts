/** Revocation lists reloaded while the service runs, with real CRLs from `openssl ca`. */
import assert from "node:assert/strict";
import { type CrlReloadOutcome, loadRevocationList, type RevocationList, startCrlReloader } from "../../../src/tls/mod.ts";
import { issuerAndSerialOf } from "../../../src/tls/revocation/mod.ts";
import { createLogger } from "../../../src/observability/mod.ts";
import { createCrlAuthority } from "../../support/pki.ts";

async function setup(options: { now?: () => Date } = {}) {
  const authority = await createCrlAuthority();
  const alice = await authority.issue({ name: "alice" });
  const crlPath = `${authority.dir}/in-force.crl`;
  await Deno.writeFile(crlPath, (await authority.crl({ name: "empty" })).bytes);
  const applied: RevocationList[] = [];
  const outcomes: CrlReloadOutcome[] = [];
  const logs: Record<string, unknown>[] = [];
  const initial = await loadRevocationList([crlPath], { caPem: authority.ca.cert });
  const reloader = startCrlReloader({
    paths: [crlPath],
    caPem: () => authority.ca.cert,
    initial,
    apply: (list) => applied.push(list),
    log: createLogger({ sink: (line) => logs.push(JSON.parse(line)) }),
    onOutcome: (outcome) => outcomes.push(outcome),
    pollIntervalMs: 0,
    watch: false,
    now: options.now,
  });
  const { issuer, serial } = issuerAndSerialOf(alice.der);
  return {
    authority,
    crlPath,
    reloader,
    applied,
    outcomes,
    logs,
    aliceRevoked: () => reloader.current.isRevoked(serial, issuer),
    async [Symbol.asyncDispose]() {
      await reloader.close();
      await authority.cleanup();
    },
  };
}

Deno.test("a new CRL that revokes a certificate is put in force, and the same file again changes nothing", async () => {
  await using t = await setup();
  assert.equal(t.aliceRevoked(), false);
  await t.authority.revoke(await t.authority.issue({ name: "unused" }));
  const alice = await t.authority.issue({ name: "alice2" });
  await t.authority.revoke(alice);
  await Deno.writeFile(t.crlPath, (await t.authority.crl({ name: "second" })).bytes);
  assert.equal(await t.reloader.check(), "reloaded");
  assert.equal(t.applied.length, 1);
  const { issuer, serial } = issuerAndSerialOf(alice.der);
  assert.equal(t.reloader.current.isRevoked(serial, issuer), true);
  assert.equal(await t.reloader.check(), "unchanged");
  assert.deepEqual(t.outcomes, ["reloaded"]);
});

Deno.test("a tampered CRL is refused and the revocations in force stay: never fail open", async () => {
  await using t = await setup();
  const bob = await t.authority.issue({ name: "bob" });
  await t.authority.revoke(bob);
  await Deno.writeFile(t.crlPath, (await t.authority.crl({ name: "revokes-bob" })).bytes);
  assert.equal(await t.reloader.check(), "reloaded");
  const bobKey = issuerAndSerialOf(bob.der);
  assert.equal(t.reloader.current.isRevoked(bobKey.serial, bobKey.issuer), true);

  const good = await Deno.readFile(t.crlPath);
  const tampered = new TextEncoder().encode(
    new TextDecoder().decode(good).replace(/[A-Za-z](?=[A-Za-z0-9+/=]*\n-----END)/, (c) => c === "A" ? "B" : "A"),
  );
  await Deno.writeFile(t.crlPath, tampered);
  assert.equal(await t.reloader.check(), "invalid");
  assert.equal(t.reloader.current.isRevoked(bobKey.serial, bobKey.issuer), true, "bob stays revoked");
  assert.ok(t.logs.some((l) => l.level === "error"), "the refusal is logged");
  assert.equal(await t.reloader.check(), "unchanged", "reported once, not on every poll");
});

Deno.test("a CRL past its nextUpdate stays in force and is reported", async () => {
  // The CRLs here are valid for a day; this reloader's clock is two days ahead.
  let now = new Date();
  await using t = await setup({ now: () => now });
  const carol = await t.authority.issue({ name: "carol" });
  await t.authority.revoke(carol);
  await Deno.writeFile(t.crlPath, (await t.authority.crl({ name: "revokes-carol" })).bytes);
  assert.equal(await t.reloader.check(), "reloaded");
  now = new Date(Date.now() + 2 * 86_400_000);
  await t.reloader.check();
  const key = issuerAndSerialOf(carol.der);
  assert.equal(t.reloader.current.isRevoked(key.serial, key.issuer), true, "still revoked");
  assert.ok(t.reloader.current.problems.some((p) => /nextUpdate/.test(p)), t.reloader.current.problems.join("\n"));
  assert.ok(t.logs.some((l) => l.level === "warn"), "reported in the log");
});
