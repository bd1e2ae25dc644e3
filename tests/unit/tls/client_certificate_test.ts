/**
 * What the listener reads from a client certificate: the identity's certificate fields (for whoami) and the
 * onClientCertificate hook (for the expiry histogram), with certificates from `openssl ca`.
 */
import assert from "node:assert/strict";
import https from "node:https";
import { X509Certificate } from "node:crypto";
import type { ClientIdentity } from "../../../src/http/types.ts";
import { createCrlAuthority } from "../../support/pki.ts";
import { request, startHarness } from "./_harness.ts";

Deno.test("the identity carries the certificate's serial, RFC 4514 issuer and validity, as openssl reads them", async () => {
  // A comma in the issuer's CN must come out escaped; a serial with a leading zero byte without it.
  const authority = await createCrlAuthority({ cn: "Team CA, Example" });
  const dora = await authority.issue({ name: "dora", serial: "00F00D" });
  const seen: ClientIdentity[] = [];
  const h = await startHarness((_req, ctx) => {
    seen.push(ctx.client as ClientIdentity);
    return new Response("ok");
  }, { ca: authority.ca.cert });
  try {
    assert.equal((await request(h, { credentials: dora })).status, 200);
    const x509 = new X509Certificate(dora.cert);
    const client = seen[0];
    assert.equal(client.serialNumber, "F00D");
    assert.equal(client.issuer, "CN=Team CA\\, Example");
    assert.equal(client.notBefore, new Date(x509.validFrom).toISOString());
    assert.equal(client.notAfter, new Date(x509.validTo).toISOString());
    assert.ok(Object.isFrozen(client));
  } finally {
    await h.close();
    await authority.cleanup();
  }
});

Deno.test("onClientCertificate is called once per new connection, not per request, with notAfter in epoch ms", async () => {
  const calls: [number, string][] = [];
  const h = await startHarness(() => new Response("ok"), {
    onClientCertificate: (notAfterMs, client) => calls.push([notAfterMs, client.cn]),
  });
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: h.pki.ca.cert, cert: h.pki.alice.cert, key: h.pki.alice.key });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await request(h, { agent })).status, 200);
    const notAfter = new X509Certificate(h.pki.alice.cert).validTo;
    assert.deepEqual(calls, [[Date.parse(notAfter), "alice"]], "three requests on one keep-alive connection: one call");
    assert.equal((await request(h)).status, 200);
    assert.equal(calls.length, 2, "a second connection is a second call");
  } finally {
    agent.destroy();
    await h.close();
  }
});

Deno.test("a throwing onClientCertificate is logged and the connection is still served", async () => {
  const h = await startHarness(() => new Response("ok"), {
    onClientCertificate: () => {
      throw new Error("metrics broke");
    },
  });
  try {
    assert.equal((await request(h)).status, 200);
    assert.ok(h.logs.some((l) => l.level === "error" && l.msg === "onClientCertificate callback failed"));
  } finally {
    await h.close();
  }
});
