/**
 * Revocation on the real listener, with certificates and CRLs from `openssl ca`: Deno's node:tls ignores CRLs, so
 * the listener's own check is what stands between a revoked certificate and the API.
 */
import assert from "node:assert/strict";
import https from "node:https";
import { loadRevocationList } from "../../../src/tls/mod.ts";
import { createCrlAuthority } from "../../support/pki.ts";
import { request, startHarness } from "./_harness.ts";

const ok = () => new Response("ok");

async function setup() {
  const authority = await createCrlAuthority();
  const alice = await authority.issue({ name: "alice" });
  const bob = await authority.issue({ name: "bob" });
  await authority.revoke(bob);
  const crl = await authority.crl({ name: "start" });
  const revoked: string[] = [];
  const harness = await startHarness(ok, {
    ca: authority.ca.cert,
    revocations: await loadRevocationList([crl.path], { caPem: authority.ca.cert }),
    onRevoked: (when) => revoked.push(when),
  });
  return {
    authority,
    alice,
    bob,
    harness,
    revoked,
    async [Symbol.asyncDispose]() {
      await harness.close();
      await authority.cleanup();
    },
  };
}

Deno.test("a certificate revoked in the CRL is refused before any request is served; others are served", async () => {
  await using t = await setup();
  assert.equal((await request(t.harness, { credentials: t.alice })).status, 200);
  await assert.rejects(request(t.harness, { credentials: t.bob }), "bob's connection is closed without an answer");
  assert.deepEqual(t.revoked, ["handshake"]);
  assert.ok(t.harness.logs.some((l) => l.msg === "revoked client certificate refused" && l.cn === "bob"));
});

Deno.test("an open keep-alive connection is closed when a new list revokes its certificate, and cannot come back", async () => {
  await using t = await setup();
  const carol = await t.authority.issue({ name: "carol" });
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: t.harness.pki.ca.cert, cert: carol.cert, key: carol.key });
  try {
    assert.equal((await request(t.harness, { agent })).status, 200);
    assert.equal((await request(t.harness, { credentials: t.alice })).status, 200);

    await t.authority.revoke(carol);
    const crl = await t.authority.crl({ name: "later" });
    t.harness.server.updateRevocations(await loadRevocationList([crl.path], { caPem: t.authority.ca.cert }));
    assert.deepEqual(t.revoked, ["open"], "carol's open connection was closed at the update");

    await assert.rejects(request(t.harness, { agent }), "a new connection of carol's is refused");
    assert.deepEqual(t.revoked, ["open", "handshake"]);
    assert.equal((await request(t.harness, { credentials: t.alice })).status, 200, "alice is not affected");
  } finally {
    agent.destroy();
  }
});
