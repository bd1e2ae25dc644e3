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

Deno.test("an unrevoked keep-alive connection stays open and usable across a list update that revokes another", async () => {
  await using t = await setup();
  const carol = await t.authority.issue({ name: "carol" });
  const agentOf = (cert: { cert: string; key: string }) =>
    new https.Agent({ keepAlive: true, maxSockets: 1, ca: t.harness.pki.ca.cert, cert: cert.cert, key: cert.key });
  const aliceAgent = agentOf(t.alice);
  const carolAgent = agentOf(carol);
  const connections: string[] = [];
  try {
    // Distinct local ports = distinct connections; a kept connection keeps its port.
    const portOf = async (agent: https.Agent) => {
      const res = await request(t.harness, { agent });
      assert.equal(res.status, 200);
      const sockets = Object.values(agent.freeSockets).flat();
      return String(sockets[0]?.localPort);
    };
    connections.push(await portOf(aliceAgent), await portOf(carolAgent));
    assert.match(connections[0], /^\d+$/, "the agent kept the connection");

    await t.authority.revoke(carol);
    const crl = await t.authority.crl({ name: "later" });
    t.harness.server.updateRevocations(await loadRevocationList([crl.path], { caPem: t.authority.ca.cert }));

    assert.equal(await portOf(aliceAgent), connections[0], "alice's connection was kept, not replaced");
    assert.deepEqual(t.revoked, ["open"]);
    assert.ok(t.harness.logs.some((l) => l.msg === "connection of a revoked client certificate closed" && l.cn === "carol"));
  } finally {
    aliceAgent.destroy();
    carolAgent.destroy();
  }
});

Deno.test("a listener started without a list checks nothing until updateRevocations gives it one", async () => {
  const authority = await createCrlAuthority();
  try {
    const erin = await authority.issue({ name: "erin" });
    const revoked: string[] = [];
    const h = await startHarness(ok, { ca: authority.ca.cert, onRevoked: (when) => revoked.push(when) });
    try {
      await authority.revoke(erin);
      assert.equal((await request(h, { credentials: erin })).status, 200, "no list: not checked");
      const crl = await authority.crl();
      h.server.updateRevocations(await loadRevocationList([crl.path], { caPem: authority.ca.cert }));
      await assert.rejects(request(h, { credentials: erin }));
      assert.deepEqual(revoked, ["handshake"]);
    } finally {
      await h.close();
    }
  } finally {
    await authority.cleanup();
  }
});
