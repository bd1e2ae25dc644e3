/** Certificates and transport failures: each one a single line that says what to check, exit 1, no stack trace. */
import assert from "node:assert/strict";
import { cli, type FakeApi, json, startFakeApi } from "./_fake_api.ts";

let shared: FakeApi | undefined;
async function fake(): Promise<FakeApi> {
  return shared ??= await startFakeApi(() => json({ items: [] }));
}

Deno.test("connection failures are one clear line each", async (t) => {
  const api = await fake();
  const { pki } = api;
  try {
    await t.step("the dev defaults work when the files exist (sanity check of the fixture)", async () => {
      const run = await cli(["list"], api.env);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "", "nothing on stdout for an empty list");
      assert.equal(run.stderr, "No Deployments found.");
    });

    await t.step("a server certificate from another CA", async () => {
      const run = await cli(["list"], { ...api.env, REPLICA_API_CACERT: pki.otherCa.certPath });
      assert.equal(run.code, 1);
      assert.equal(
        run.stderr,
        `error: cannot connect to ${api.url}: its certificate is not signed by the CA in REPLICA_API_CACERT / --cacert`,
      );
    });

    await t.step("a host name the server certificate does not cover", async () => {
      // The test server certificate covers localhost and 127.0.0.1; 127.0.0.2 is loopback too, but not in it.
      const other = await startFakeApi(() => json({ items: [] }), "127.0.0.2");
      try {
        const run = await cli(["list", "--url", other.url], api.env);
        assert.equal(run.code, 1);
        assert.match(
          run.stderr,
          /^error: cannot connect to https:\/\/127\.0\.0\.2:\d+: its certificate is not valid for that host name \(it is valid for .*localhost/,
        );
        assert.equal(other.requests.length, 0);
      } finally {
        await other.close();
      }
    });

    await t.step("a client certificate the server does not accept", async () => {
      for (const client of [pki.foreignClient, pki.expiredClient, pki.serverAuthOnlyClient]) {
        const run = await cli(["list"], { ...api.env, REPLICA_API_CERT: client.certPath, REPLICA_API_KEY: client.keyPath });
        assert.equal(run.code, 1);
        assert.equal(
          run.stderr,
          `error: cannot connect to ${api.url}: the server refused our client certificate (REPLICA_API_CERT / --cert: not issued by the ` +
            "server's client CA, expired, or without clientAuth usage)",
          client.certPath,
        );
      }
    });

    await t.step("nothing listening", async () => {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = (listener.addr as Deno.NetAddr).port;
      listener.close();
      const run = await cli(["list", "--url", `https://localhost:${port}`], api.env);
      assert.equal(run.code, 1);
      assert.equal(
        run.stderr,
        `error: cannot connect to https://localhost:${port}: connection refused (is replica-api running there? set REPLICA_API_URL or --url)`,
      );
    });

    await t.step("a missing certificate file names the file and its setting", async () => {
      const run = await cli(["list", "--cert", "/nonexistent/me.crt"], api.env);
      assert.equal(run.code, 1);
      assert.equal(run.stderr, "error: cannot read the client certificate /nonexistent/me.crt (--cert): no such file");
    });

    await t.step("a missing default certificate suggests make certs", async () => {
      const run = await cli(["list"], { REPLICA_API_URL: api.url });
      assert.equal(run.code, 1);
      assert.equal(
        run.stderr,
        "error: cannot read the client certificate /nonexistent/certs/client.crt (default): no such file; run `make certs` for the dev " +
          "PKI, or set REPLICA_API_CERT or --cert",
      );
    });

    await t.step("a key file that holds a certificate", async () => {
      const run = await cli(["list"], { ...api.env, REPLICA_API_KEY: pki.alice.certPath });
      assert.equal(run.code, 1);
      assert.equal(run.stderr, `error: the client key ${pki.alice.certPath} (REPLICA_API_KEY) holds no PEM key`);
    });

    await t.step("a key that does not belong to the certificate", async () => {
      const run = await cli(["list"], { ...api.env, REPLICA_API_KEY: pki.ca.keyPath });
      assert.equal(run.code, 1);
      assert.match(
        run.stderr,
        /^error: the client certificate .*alice\.crt \(REPLICA_API_CERT\) and key .*ca\.key \(REPLICA_API_KEY\) cannot be used together/,
      );
      assert.equal(run.stderr.split("\n").length, 1);
    });

    await t.step("a CA file that holds no certificate", async () => {
      const run = await cli(["list"], { ...api.env, REPLICA_API_CACERT: pki.alice.keyPath });
      assert.equal(run.code, 1);
      assert.equal(run.stderr, `error: the CA certificate ${pki.alice.keyPath} (REPLICA_API_CACERT) holds no PEM certificate`);
    });

    await t.step("no answer within the timeout", async () => {
      // A listener that accepts TCP but never speaks TLS: the request can only time out.
      const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const held: Deno.Conn[] = [];
      const accepting = (async () => {
        for await (const conn of silent) held.push(conn);
      })();
      const port = (silent.addr as Deno.NetAddr).port;
      const { ApiClient } = await import("../../../src/cli/api_client.ts");
      const { openConnection } = await import("../../../src/cli/connection.ts");
      const { parseArgs } = await import("../../../src/cli/args.ts");
      const { connection } = parseArgs(["list", "--url", `https://localhost:${port}`], { env: api.env, cwd: "/", defaultCertDir: "/" });
      assert.ok(connection);
      const transport = await openConnection(connection);
      try {
        const client = new ApiClient({ baseUrl: connection.url, fetch: transport.fetch, requestTimeoutMs: 200 });
        await assert.rejects(client.list(), { name: "ConnectionError", message: `https://localhost:${port} did not answer within 0.2 s` });
      } finally {
        transport.close();
        silent.close();
        await accepting.catch(() => {});
        for (const conn of held) conn.close();
      }
    });
  } finally {
    await api.close();
  }
});
