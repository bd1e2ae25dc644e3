/** The heartbeat request createKubeClient builds (src/kube/client.ts), against a stand-in API server over TLS. */
import assert from "node:assert/strict";
import { KubeConfig } from "@kubernetes/client-node";
import { createKubeClient } from "../../../src/kube/client.ts";
import { forceHttp1 } from "../../../src/kube/http1_only.ts";
import { sharedTestPki } from "../../support/pki.ts";
import { startWatchServer, type WatchHandler } from "./_watch_server.ts";

async function withClient(
  handler: WatchHandler,
  options: { tlsServerName?: string },
  test: (
    ctx: { heartbeat: (signal: AbortSignal) => Promise<number>; server: Awaited<ReturnType<typeof startWatchServer>> },
  ) => Promise<void>,
) {
  const pki = await sharedTestPki();
  const server = await startWatchServer(pki, handler);
  try {
    // As loadKubeConfig builds it: client-node on HTTP/1.1 (see http1_only.ts).
    const kc = forceHttp1(new KubeConfig());
    kc.loadFromOptions({
      clusters: [{ name: "c", server: server.url, caData: btoa(pki.ca.cert), skipTLSVerify: false, ...options }],
      users: [{ name: "u", token: "abc" }],
      contexts: [{ name: "x", cluster: "c", user: "u" }],
      currentContext: "x",
    });
    const client = createKubeClient(kc, { watchIdleTimeoutMs: 5000, requestTimeoutMs: 5000 });
    assert.equal(
      client.watchFallbackReason !== undefined,
      options.tlsServerName !== undefined,
      "client-node only when Deno's fetch cannot",
    );
    assert.ok(client.source.heartbeat, "the source has a heartbeat");
    await test({ heartbeat: client.source.heartbeat, server });
  } finally {
    await server.close();
  }
}

Deno.test("the heartbeat GETs /version with the kubeconfig's credentials, on a new connection each time, and returns any status", async () => {
  const statuses = [200, 403, 500];
  await withClient(
    (_req, res) => {
      res.writeHead(statuses.shift() ?? 200, { "content-type": "application/json" });
      res.end('{"major":"1"}');
    },
    {},
    async ({ heartbeat, server }) => {
      const signal = new AbortController().signal;
      assert.equal(await heartbeat(signal), 200);
      assert.equal(await heartbeat(signal), 403, "a refusal is still an answer");
      assert.equal(await heartbeat(signal), 500);
      assert.deepEqual(server.requests.map((r) => r.url.pathname), ["/version", "/version", "/version"]);
      assert.equal(server.requests[0].headers.authorization, "Bearer abc");
      assert.equal(server.requests[0].alpn, "http/1.1");
      await Promise.all(server.requests.map((r) => r.closed)); // each probe's connection is closed after it
    },
  );
});

Deno.test("a heartbeat the API server never answers rejects when its signal aborts, and leaves no connection open", async () => {
  await withClient(() => {/* never answers */}, {}, async ({ heartbeat, server }) => {
    const controller = new AbortController();
    const pending = heartbeat(controller.signal);
    await server.request(0);
    controller.abort(new Error("no answer within 3000 ms"));
    await assert.rejects(pending);
    await server.requests[0].closed;
  });
});

Deno.test("the client-node heartbeat (kubeconfigs Deno's fetch cannot use) also returns any status, and aborts", async () => {
  // tls-server-name is one of the settings Deno's fetch cannot honour (see fetch_credentials.ts).
  const statuses = [200, 403];
  await withClient(
    (_req, res) => {
      const status = statuses.shift();
      if (status === undefined) return; // the third request is never answered
      res.writeHead(status, { "content-type": "application/json" });
      res.end(status === 200 ? '{"major":"1","minor":"35","gitVersion":"v1.35.8"}' : '{"kind":"Status","code":403}');
    },
    { tlsServerName: "localhost" },
    async ({ heartbeat, server }) => {
      assert.equal(await heartbeat(new AbortController().signal), 200);
      assert.equal(await heartbeat(new AbortController().signal), 403);
      const controller = new AbortController();
      const pending = heartbeat(controller.signal);
      await server.request(2);
      controller.abort(new Error("no answer within 3000 ms"));
      await assert.rejects(pending, /no answer within 3000 ms/);
      assert.deepEqual(server.requests.map((r) => r.url.pathname), ["/version", "/version", "/version"]);
    },
  );
});
