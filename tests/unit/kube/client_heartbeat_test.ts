/** The heartbeat request createKubeClient builds (src/kube/client.ts), against a stand-in API server over TLS. */
import assert from "node:assert/strict";
import { createKubeClient } from "../../../src/kube/client.ts";
import { Kubeconfig } from "../../../src/kube/api/kubeconfig.ts";
import { sharedTestPki } from "../../support/pki.ts";
import { startWatchServer, type WatchHandler } from "./api/_watch_server.ts";

async function withClient(
  handler: WatchHandler,
  test: (
    ctx: { heartbeat: (signal: AbortSignal) => Promise<number>; server: Awaited<ReturnType<typeof startWatchServer>> },
  ) => Promise<void>,
) {
  const pki = await sharedTestPki();
  const server = await startWatchServer(pki, handler);
  try {
    const kc = new Kubeconfig();
    kc.loadFromString(JSON.stringify({
      clusters: [{ name: "c", cluster: { server: server.url, "certificate-authority-data": btoa(pki.ca.cert) } }],
      users: [{ name: "u", user: { token: "abc" } }],
      contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
      "current-context": "x",
    }));
    const client = createKubeClient(kc, { watchIdleTimeoutMs: 5000, requestTimeoutMs: 5000 });
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
  await withClient(() => {/* never answers */}, async ({ heartbeat, server }) => {
    const controller = new AbortController();
    const pending = heartbeat(controller.signal);
    await server.request(0);
    controller.abort(new Error("no answer within 3000 ms"));
    await assert.rejects(pending);
    await server.requests[0].closed;
  });
});
