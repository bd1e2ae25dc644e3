/**
 * What the listener will do with the module, on a real node:tls mTLS connection in Deno: read the peer certificate's
 * issuer and serial from `getPeerCertificate().raw` (or `getPeerX509Certificate()`) and look them up. Also pins the
 * reason this module exists: Deno 2.9.6 takes a `crl` option and still authorizes the revoked client.
 */
import assert from "node:assert/strict";
import type { X509Certificate } from "node:crypto";
import tls from "node:tls";
import { buildRevocationList, issuerAndSerialOf, normalizeSerial } from "../../../../src/tls/revocation/mod.ts";
import { createCrlAuthority, createTestPki } from "../../../support/pki.ts";

interface Seen {
  readonly authorized: boolean;
  readonly raw: Uint8Array;
  readonly serialNumber: string;
  readonly x509?: X509Certificate;
}

/** One handshake: what the server saw of the client certificate. */
async function handshake(server: { cert: string; key: string; ca: string; crl: string }, client: tls.ConnectionOptions): Promise<Seen> {
  const seen = Promise.withResolvers<Seen>();
  const listener = tls.createServer({ ...server, requestCert: true, rejectUnauthorized: true, minVersion: "TLSv1.3" }, (socket) => {
    const peer = socket.getPeerCertificate();
    seen.resolve({ authorized: socket.authorized, raw: peer.raw, serialNumber: peer.serialNumber, x509: socket.getPeerX509Certificate() });
    socket.end();
  });
  listener.on("tlsClientError", (err) => seen.reject(err));
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const { port } = listener.address() as { port: number };
  const socket = tls.connect({ ...client, port, host: "127.0.0.1", servername: "localhost" });
  const closed = new Promise((resolve) => socket.on("close", resolve));
  socket.on("error", (err) => seen.reject(err));
  socket.resume();
  try {
    return await seen.promise;
  } finally {
    socket.end();
    await closed;
    await new Promise((resolve) => listener.close(resolve));
  }
}

Deno.test("a revoked client is recognised from getPeerCertificate().raw on an mTLS connection, though node:tls authorizes it", async () => {
  const [pki, clients] = await Promise.all([createTestPki(), createCrlAuthority({ cn: "client CA" })]);
  try {
    // A 20-byte serial with the top bit set: DER adds a zero byte, Node prints none.
    const alice = await clients.issue({ name: "alice", serial: "80" + "00".repeat(18) + "01" });
    await clients.revoke(alice);
    const crl = await clients.crl();
    const list = await buildRevocationList({ files: [{ path: "crl.pem", bytes: crl.bytes }], caPem: clients.ca.cert, now: new Date() });
    const seen = await handshake(
      { cert: pki.server.cert, key: pki.server.key, ca: clients.ca.cert, crl: new TextDecoder().decode(crl.bytes) },
      { cert: alice.cert, key: alice.key, ca: pki.ca.cert },
    );
    assert.equal(seen.authorized, true, "Deno's node:tls ignores crl: if this fails, Deno enforces CRLs itself now");
    assert.ok(seen.raw instanceof Uint8Array);
    const fromRaw = issuerAndSerialOf(seen.raw);
    assert.equal(seen.serialNumber, "80" + "00".repeat(18) + "01");
    assert.equal(fromRaw.serial, normalizeSerial(seen.serialNumber));
    assert.equal(fromRaw.issuerName, "CN=client CA");
    assert.equal(list.isRevoked(seen.serialNumber, fromRaw.issuer), true);
    const fromX509 = issuerAndSerialOf(seen.x509!.raw);
    assert.equal(list.isRevoked(fromX509.serial, fromX509.issuer), true, "getPeerX509Certificate().raw works the same");
  } finally {
    await Promise.all([pki.cleanup(), clients.cleanup()]);
  }
});
