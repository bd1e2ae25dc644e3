/**
 * The informer cache on the real Deno-fetch watch against a stand-in API server: what the reflector makes of
 * the watch's errors (410 relists, a dropped connection disconnects at once and resumes) on real time.
 */
import assert from "node:assert/strict";
import { InformerCache } from "../../../../src/kube/informer/informer_cache.ts";
import { createDenoWatch } from "../../../../src/kube/api/deno_watch.ts";
import { createBackoff } from "../../../../src/kube/informer/backoff.ts";
import type { ListResult } from "../../../../src/kube/api/mod.ts";
import { createLogger } from "../../../../src/observability/logger.ts";
import { eventually } from "../../../support/fake_kube.ts";
import { sharedTestPki } from "../../../support/pki.ts";
import { deployment, eventLine, startWatchServer, type WatchHandler, type WatchServer } from "../api/_watch_server.ts";

const sharedPki = sharedTestPki;

/** Handlers for the first, second, ... watch request; later requests get a stream that stays open and silent. */
function scripted(...handlers: WatchHandler[]): WatchHandler {
  let n = 0;
  return (req, res, seen) => {
    const handler = handlers[n++];
    if (handler) return handler(req, res, seen);
    res.writeHead(200, { "content-type": "application/json" });
    res.write("\n");
  };
}

const gone: WatchHandler = (_req, res) => {
  res.writeHead(410, { "content-type": "application/json" });
  res.end(
    JSON.stringify({ kind: "Status", status: "Failure", reason: "Expired", code: 410, message: "too old resource version: 10 (30)" }),
  );
};

/** Lists answer with these results in turn (the last one repeats). */
async function withInformer(
  handler: WatchHandler,
  lists: ListResult[],
  test: (ctx: { cache: InformerCache; server: WatchServer; listCalls: () => number; restartedAt: number[] }) => Promise<void>,
): Promise<void> {
  const pki = await sharedPki();
  const server = await startWatchServer(pki, handler);
  let listCalls = 0;
  const restartedAt: number[] = [];
  const cache = new InformerCache({
    source: {
      listDeployments: () => Promise.resolve(structuredClone(lists[Math.min(listCalls++, lists.length - 1)])),
      listNamespaces: () => Promise.reject(new Error("not used with a namespace list")),
      watch: createDenoWatch({
        credentials: () => Promise.resolve({ server: server.url, headers: { Authorization: "Bearer t" }, caCerts: [pki.ca.cert] }),
        idleTimeoutMs: 60_000,
      }),
    },
    namespaces: ["prod"],
    watchTimeoutSeconds: 60,
    // Long enough for a test to see the disconnected state before the restart, short enough not to wait long.
    newBackoff: () => createBackoff({ baseMs: 400, capMs: 400 }),
    log: createLogger({ level: "error", sink: () => {} }),
    events: () => ({ restart: () => restartedAt.push(performance.now()) }),
  });
  try {
    await test({ cache, server, listCalls: () => listCalls, restartedAt });
  } finally {
    await cache.stop();
    // The aborted watch closes its connection and its HttpClient on its own; wait for that before the leak check.
    await Promise.all(server.requests.map((r) => r.closed));
    await server.close();
  }
}

function list(resourceVersion: string, replicas: number): ListResult {
  return { metadata: { resourceVersion }, items: [deployment("prod", "web", replicas, resourceVersion)] };
}

Deno.test("with the Deno watch, a 410 Gone answer relists and watches on from the new list", async () => {
  const streamAfterRelist: WatchHandler = (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.write(eventLine("MODIFIED", deployment("prod", "web", 5, "31")));
  };
  await withInformer(scripted(gone, streamAfterRelist), [list("10", 1), list("30", 2)], async ({ cache, server, listCalls }) => {
    await cache.start();
    await eventually(() => assert.equal(cache.get("prod", "web")?.replicas, 5), 3000);
    assert.equal(listCalls(), 2, "relisted once");
    assert.equal(server.requests[0].url.searchParams.get("resourceVersion"), "10");
    assert.equal(server.requests[1].url.searchParams.get("resourceVersion"), "30", "watches from the new list");
    assert.equal(cache.status().connected, true);
    assert.equal(cache.status().restarts, 0, "410 is a relist, not a failure");
  });
});

Deno.test("with the Deno watch, an in-stream 410 ERROR event relists when the server ends the stream", async () => {
  const expireInStream: WatchHandler = (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(eventLine("ERROR", { kind: "Status", status: "Failure", reason: "Expired", code: 410, message: "too old" }));
  };
  await withInformer(scripted(expireInStream), [list("10", 1), list("30", 2)], async ({ cache, server, listCalls }) => {
    await cache.start();
    await eventually(() => assert.equal(server.requests.length, 2), 3000);
    assert.equal(listCalls(), 2);
    assert.equal(server.requests[1].url.searchParams.get("resourceVersion"), "30");
    assert.equal(cache.get("prod", "web")?.replicas, 2);
    assert.equal(cache.status().restarts, 0);
  });
});

Deno.test("with the Deno watch, a dropped connection disconnects the cache within 2 s; it resumes from the last event", async () => {
  const oneEvent: WatchHandler = (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.write(eventLine("MODIFIED", deployment("prod", "web", 3, "11")));
  };
  await withInformer(scripted(oneEvent), [list("10", 1)], async ({ cache, server, listCalls, restartedAt }) => {
    await cache.start();
    await eventually(() => assert.equal(cache.get("prod", "web")?.replicas, 3), 3000);
    assert.equal(cache.status().connected, true);
    const cut = performance.now();
    server.cutConnections();
    await eventually(() => assert.equal(cache.status().connected, false), 2000);
    assert.equal(restartedAt.length, 1, "one failure, one restart scheduled");
    assert.ok(restartedAt[0] - cut < 2000, `disconnected ${restartedAt[0] - cut} ms after the cut`);
    await eventually(() => assert.equal(cache.status().connected, true), 3000);
    assert.equal(server.requests[1].url.searchParams.get("resourceVersion"), "11", "resumes where the stream broke off");
    assert.equal(listCalls(), 1, "no relist needed");
    assert.equal(cache.get("prod", "web")?.replicas, 3, "reads kept the last known data");
  });
});
