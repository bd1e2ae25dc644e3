/**
 * Long-lived responses through the real mTLS listener: a watch stream to a
 * client that stops reading is bounded by its byte budget (Deno's node:https
 * gives no backpressure to bound it by), and a waiting handler learns when
 * its client's connection closes.
 */
import assert from "node:assert/strict";
import tls from "node:tls";
import { createApp } from "../../../src/http/app.ts";
import { createRouter } from "../../../src/http/router.ts";
import { createApiRoutes } from "../../../src/handlers/routes.ts";
import { createCacheView } from "../../../src/handlers/cache_view.ts";
import { defaultStreamingDeps } from "../../../src/handlers/streaming.ts";
import { MemoryCache } from "../../../src/kube/cache/memory_cache.ts";
import type { Scaler } from "../../../src/kube/writes/scaler.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import { startHarness } from "./_harness.ts";
import { DEFAULT_LISTENER_LIMITS } from "../../../src/limits/listener_limits.ts";

function connect(port: number, pki: Awaited<ReturnType<typeof startHarness>>["pki"]): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      ca: pki.ca.cert,
      cert: pki.alice.cert,
      key: pki.alice.key,
      servername: "localhost",
    });
    socket.once("secureConnect", () => resolve(socket));
    socket.once("error", reject);
  });
}

const until = async (check: () => boolean, what: string, timeoutMs = 5000) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

Deno.test("a watch stream to a client that stops reading ends at its byte budget with a final event", async () => {
  const cache = new MemoryCache({ namespaces: ["prod"] });
  const ends: string[] = [];
  const streaming = defaultStreamingDeps({
    bufferBytes: 64 * 1024,
    budgetBytes: 256 * 1024,
    drainGraceMs: 200,
    metrics: { opened: () => {}, closed: (_, reason) => ends.push(reason), refused: () => {} },
  });
  const app = createApp({
    router: createRouter(
      createApiRoutes({ view: createCacheView({ cache, staleAfterMs: 120_000 }), scaler: {} as Scaler, maxReplicas: 1000, streaming }),
    ),
    log: createLogger({ sink: () => {} }),
    accessLog: false,
  });
  const h = await startHarness(app, { limits: { ...DEFAULT_LISTENER_LIMITS, idleTimeoutMs: 500 } });
  const socket = await connect(h.port, h.pki);
  try {
    socket.write("GET /api/v1/namespaces/prod/deployments?watch=true HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let received = 0;
    socket.on("data", (chunk: Uint8Array) => received += chunk.length);
    await until(() => received > 0, "the response headers");
    socket.pause();
    const event = (i: number) => ({
      namespace: "prod",
      name: `d${i % 50}`,
      replicas: i % 7,
      readyReplicas: 0,
      availableReplicas: 0,
      resourceVersion: String(1000 + i),
    });
    // Paced, ~30 KB per 10 ms: far below the 64 KiB bound per tick, so only backpressure from the socket can fill the
    // stream's buffer. A reading client keeps up with this pace (checked below), so the drop is the pause's doing.
    let sent = 0;
    const produce = async (stop: () => boolean, maxMs: number) => {
      const deadline = Date.now() + maxMs;
      while (!stop() && Date.now() < deadline) {
        for (let j = 0; j < 200; j++) cache.put(event(sent++));
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    // Deno 2.9.6's node:https reports every write as done at once (what the client has not read waits in its TLS
    // layer), so a client that stops reading is bounded by the stream's byte budget, not by backpressure.
    let closedByServer = false;
    socket.on("close", () => closedByServer = true);
    socket.pause();
    await produce(() => ends.length > 0, 20_000);
    assert.deepEqual(ends, ["budget"]);
    const producedKiB = Math.round(sent * 150 / 1024);
    assert.ok(producedKiB < 256 + 2 * 64, `ended after ~${producedKiB} KiB of events`);
    await until(() => streaming.streams.active === 0, "the stream's slot to be released");
    // Once the client reads again it gets the backlog, the final event, and then the idle timeout closes the connection.
    let text = "";
    socket.removeAllListeners("data");
    socket.on("data", (chunk: Uint8Array) => text = (text + new TextDecoder().decode(chunk)).slice(-4096));
    socket.resume();
    await until(() => closedByServer, "the server to close the idle connection", 5000);
    assert.match(text, /event: ERROR\ndata: \{[^\n]*sent its budget of 262144 bytes/);
    console.log(`  a paused client's stream ended after ~${producedKiB} KiB of events (budget 256 KiB)`);
  } finally {
    socket.destroy();
    await h.close();
  }
});

Deno.test("the request context's closed signal fires when the client's connection closes", async () => {
  let aborted = false;
  const started = Promise.withResolvers<void>();
  const h = await startHarness((_request, context) => {
    const signal = context.closed!();
    started.resolve();
    return new Promise((resolve) => {
      signal.addEventListener("abort", () => {
        aborted = true;
        resolve(new Response("never seen", { headers: { "content-type": "application/json" } }));
      });
    });
  });
  const socket = await connect(h.port, h.pki);
  socket.write("GET /wait HTTP/1.1\r\nHost: localhost\r\n\r\n");
  await started.promise;
  assert.equal(aborted, false);
  socket.destroy();
  await until(() => aborted, "the closed signal");
  await h.close();
});
