/** GET …/history, driven through the app without sockets, over a memory cache and a hand-set history source. */
import assert from "node:assert/strict";
import { createApp } from "../../../src/http/app.ts";
import { createRouter } from "../../../src/http/router.ts";
import type { RequestContext } from "../../../src/http/types.ts";
import { createApiRoutes } from "../../../src/handlers/routes.ts";
import { createCacheView } from "../../../src/handlers/cache_view.ts";
import { MemoryCache } from "../../../src/kube/cache/memory_cache.ts";
import type { HistoryEntry, HistorySource } from "../../../src/kube/cache/history_index.ts";
import type { Scaler } from "../../../src/kube/writes/scaler.ts";
import type { DeploymentWriter } from "../../../src/kube/writes/operations.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import type { Operation } from "../../../src/authz/operations.ts";

const CONTEXT: RequestContext = {
  remoteAddr: "127.0.0.1:1",
  params: {},
  client: { cn: "alice", organizations: ["sre"], fingerprint256: "AA" },
};
const WEB = "/api/v1/namespaces/prod/deployments/web";
const NEWER: HistoryEntry = {
  time: "2026-12-07T10:00:02.000Z",
  reason: "ImageChanged",
  note: "image web: app:1.2 → app:1.3 by CN=alice (O=sre) via replica-api",
  action: "SetImage",
  count: 1,
};
const OLDER: HistoryEntry = {
  time: "2026-12-07T10:00:01.000Z",
  reason: "Scaled",
  note: "replicas 1 → 2 by CN=bob via replica-api",
  action: "Scale",
  count: 1,
};

function harness(options: { operations?: ReadonlySet<Operation>; history?: HistorySource | null; cacheSynced?: boolean } = {}) {
  const now = Date.now();
  const cache = new MemoryCache({ status: { synced: options.cacheSynced ?? true, lastContactAt: now } });
  cache.put({
    namespace: "prod",
    name: "web",
    replicas: 3,
    readyReplicas: 3,
    availableReplicas: 3,
    resourceVersion: "100",
    uid: "uid-web",
  });
  const asked: unknown[][] = [];
  const source = { synced: true, history: (...args: unknown[]) => (asked.push(args), [NEWER, OLDER]) };
  const routes = createApiRoutes({
    view: createCacheView({ cache, staleAfterMs: 120_000, now: () => now }),
    scaler: {} as Scaler,
    writer: {} as DeploymentWriter,
    operations: options.operations ?? new Set<Operation>(["scale", "image"]),
    maxReplicas: 1000,
    history: options.history === null ? undefined : options.history ?? source,
  });
  const app = createApp({ router: createRouter(routes), log: createLogger({ sink: () => {} }), accessLog: false });
  const get = async (path: string) => {
    const response = await app(new Request(`https://localhost${path}`), CONTEXT);
    const text = await response.text();
    return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
  };
  return { get, routes, source, asked };
}

Deno.test("GET history answers the Deployment's Events newest first, as the history keeps them, for its uid", async () => {
  const { get, asked } = harness();
  const r = await get(`${WEB}/history`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get("cache-status") ?? "", /^replica-api; hit/);
  assert.deepEqual(r.json, { namespace: "prod", name: "web", events: [NEWER, OLDER] });
  assert.deepEqual(asked, [["prod", "web", "uid-web"]]);
});

Deno.test("GET history is a read: route get_history with the read permission", () => {
  const { routes } = harness();
  const route = routes.find((r) => r.name === "get_history");
  assert.equal(route?.permission, "read");
  assert.equal(route?.method, "GET");
});

Deno.test("GET history of a Deployment the cache does not have is 404", async () => {
  const { get } = harness();
  const r = await get("/api/v1/namespaces/prod/deployments/nope/history");
  assert.equal(r.status, 404);
  assert.equal(r.headers.get("content-type"), "application/problem+json");
  assert.match(r.json.detail, /deployment "prod\/nope" not found/);
});

Deno.test("GET history before the Events are listed is 503 with Retry-After, not an empty history", async () => {
  const { get } = harness({ history: { synced: false, history: () => [] } });
  const r = await get(`${WEB}/history`);
  assert.equal(r.status, 503);
  assert.equal(r.headers.get("content-type"), "application/problem+json");
  assert.equal(r.headers.get("retry-after"), "2");
  assert.match(r.json.detail, /history .* not loaded yet/);
});

Deno.test("GET history on a read-only server (OPERATIONS=none) is 501 naming the setting", async () => {
  const { get } = harness({ operations: new Set<Operation>(), history: null });
  const r = await get(`${WEB}/history`);
  assert.equal(r.status, 501);
  assert.equal(r.headers.get("content-type"), "application/problem+json");
  assert.match(r.json.detail, /OPERATIONS=none/);
});

Deno.test("GET history refuses query parameters and invalid names with 400", async () => {
  const { get } = harness();
  assert.equal((await get(`${WEB}/history?limit=5`)).status, 400);
  assert.equal((await get("/api/v1/namespaces/NOT_VALID/deployments/web/history")).status, 400);
});

Deno.test("GET history while the Deployment cache is still syncing is 503", async () => {
  const { get } = harness({ cacheSynced: false });
  const r = await get(`${WEB}/history`);
  assert.equal(r.status, 503);
  assert.match(r.json.detail, /Deployment cache is not ready/);
});
