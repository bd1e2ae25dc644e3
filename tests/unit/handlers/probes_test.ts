/** The plain-HTTP probe app (/livez, /readyz), driven without sockets. */
import assert from "node:assert/strict";
import { createApp } from "../../../src/http/app.ts";
import { createRouter } from "../../../src/http/router.ts";
import { createProbeRoutes } from "../../../src/handlers/routes.ts";
import { createCacheView } from "../../../src/handlers/cache_view.ts";
import { MemoryCache } from "../../../src/kube/cache/memory_cache.ts";
import type { CacheStatus } from "../../../src/kube/cache/cache.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import { Registry } from "../../../src/observability/metrics.ts";
import { startProbeServer } from "../../../src/http/probe_server.ts";

const T0 = 1_700_000_000_000;
const STALE_AFTER_MS = 120_000;

function probes(
  options: { status?: Partial<Omit<CacheStatus, "deployments">>; ageMs?: number; shuttingDown?: boolean; warnings?: string[] } = {},
) {
  const cache = new MemoryCache({ namespaces: ["prod"], status: { lastContactAt: T0, ...options.status } });
  const lifecycle = { shuttingDown: options.shuttingDown ?? false };
  const view = createCacheView({ cache, staleAfterMs: STALE_AFTER_MS, now: () => T0 + (options.ageMs ?? 1_000) });
  const app = createApp({
    router: createRouter(createProbeRoutes({ view, lifecycle, registry: new Registry(), warnings: () => options.warnings ?? [] })),
    log: createLogger({ sink: () => {} }),
    accessLog: false,
  });
  // The probe listener passes no client identity.
  const get = async (path: string) => {
    const response = await app(new Request(`http://10.0.0.5:8081${path}`), { remoteAddr: "10.0.0.1:5000", params: {} });
    return { status: response.status, body: await response.json() as Record<string, unknown>, headers: response.headers };
  };
  return { cache, lifecycle, get };
}

Deno.test("/livez answers 200 whatever the cache state", async (t) => {
  const states: [string, Parameters<typeof probes>[0]][] = [
    ["live", {}],
    ["unsynced", { status: { synced: false, connected: false, lastContactAt: undefined, error: "forbidden" } }],
    ["disconnected", { status: { connected: false, error: "EOF" } }],
    ["stale by age", { ageMs: 10 * STALE_AFTER_MS }],
    ["shutting down", { shuttingDown: true }],
  ];
  for (const [name, options] of states) {
    await t.step(name, async () => {
      const { status, body } = await probes(options).get("/livez");
      assert.equal(status, 200);
      assert.deepEqual(body, { status: "alive" });
    });
  }
});

Deno.test("/readyz answers 200 when the cache is live", async () => {
  const { status, body } = await probes().get("/readyz");
  assert.equal(status, 200);
  assert.deepEqual(body, { status: "ready" });
});

Deno.test("/readyz stays 200 and lists what an operator must see, such as a revocation list past its nextUpdate", async () => {
  const warning = "revocation list: /crl/ca.crl DER: past its nextUpdate since 2026-12-01T00:00:00.000Z";
  const { status, body } = await probes({ warnings: [warning] }).get("/readyz");
  assert.equal(status, 200);
  assert.deepEqual(body, { status: "ready", warnings: [warning] });
});

Deno.test("/readyz answers 503 with the reason while the first sync runs", async () => {
  const { status, body } = await probes({ status: { synced: false, connected: false, lastContactAt: undefined } }).get("/readyz");
  assert.equal(status, 503);
  assert.deepEqual(body, { status: "not ready", reason: "initial sync not complete" });
});

Deno.test("/readyz answers 503 with the reason when the watch is disconnected", async () => {
  const { status, body } = await probes({ status: { connected: false, error: "connection reset" } }).get("/readyz");
  assert.equal(status, 503);
  assert.deepEqual(body, { status: "not ready", reason: "watch disconnected: connection reset" });
});

Deno.test("/readyz answers 503 when the API server has been silent longer than CACHE_STALE_AFTER", async (t) => {
  await t.step("just within the limit is ready", async () => {
    assert.equal((await probes({ ageMs: STALE_AFTER_MS }).get("/readyz")).status, 200);
  });
  await t.step("past the limit is not", async () => {
    const { status, body } = await probes({ ageMs: STALE_AFTER_MS + 500 }).get("/readyz");
    assert.equal(status, 503);
    assert.deepEqual(body, { status: "not ready", reason: "no contact with the Kubernetes API for 120.5 s" });
  });
});

Deno.test("/readyz answers 503 once shutdown has begun, even with a live cache", async () => {
  const { get, lifecycle } = probes();
  assert.equal((await get("/readyz")).status, 200);
  lifecycle.shuttingDown = true;
  const { status, body } = await get("/readyz");
  assert.equal(status, 503);
  assert.deepEqual(body, { status: "not ready", reason: "shutting down" });
});

Deno.test("/readyz follows the cache as it recovers", async () => {
  const { get, cache } = probes({ status: { synced: false, connected: false, lastContactAt: undefined } });
  assert.equal((await get("/readyz")).status, 503);
  cache.setStatus({ synced: true, connected: true, lastContactAt: T0 });
  assert.equal((await get("/readyz")).status, 200);
  cache.setStatus({ connected: false, error: "EOF" });
  assert.equal((await get("/readyz")).status, 503);
});

Deno.test("probe routes are only /livez and /readyz", async () => {
  const { get } = probes();
  const { status, headers } = await get("/api/v1/health");
  assert.equal(status, 404);
  assert.equal(headers.get("content-type"), "application/problem+json");
});

Deno.test("the probe listener (Deno.serve) sends each answer's content type and request id", async () => {
  const cache = new MemoryCache({ namespaces: ["prod"], status: { lastContactAt: Date.now() } });
  const view = createCacheView({ cache, staleAfterMs: STALE_AFTER_MS });
  const registry = new Registry();
  registry.counter("demo_total", "A demo counter.").inc();
  const app = createApp({
    router: createRouter(createProbeRoutes({ view, lifecycle: { shuttingDown: false }, registry })),
    log: createLogger({ sink: () => {} }),
    accessLog: false,
    newRequestId: () => "req-1",
  });
  const server = startProbeServer({ hostname: "127.0.0.1", port: 0, handler: app, log: createLogger({ sink: () => {} }) });
  try {
    for (
      const [path, type] of [["/readyz", "application/json"], ["/livez", "application/json"], [
        "/metrics",
        "text/plain; version=0.0.4; charset=utf-8",
      ]]
    ) {
      const response = await fetch(`http://127.0.0.1:${server.port}${path}`);
      const text = await response.text();
      assert.equal(response.status, 200, `${path}: ${text}`);
      assert.equal(response.headers.get("content-type"), type, path);
      assert.equal(response.headers.get("x-request-id"), "req-1", path);
    }
  } finally {
    await server.close();
  }
});
