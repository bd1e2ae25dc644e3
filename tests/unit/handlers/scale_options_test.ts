/**
 * PUT replicas beyond the plain scale: autoscaler awareness (409 unless ?force=true), dry runs, the "who scaled"
 * Event, and validation that does not wait for the cache. Driven through the app without sockets.
 */
import assert from "node:assert/strict";
import { createApp } from "../../../src/http/app.ts";
import { createRouter } from "../../../src/http/router.ts";
import type { RequestContext } from "../../../src/http/types.ts";
import { createApiRoutes } from "../../../src/handlers/routes.ts";
import { createCacheView } from "../../../src/handlers/cache_view.ts";
import { actorOf } from "../../../src/handlers/write_request.ts";
import { MemoryCache } from "../../../src/kube/cache/memory_cache.ts";
import { createScaler, type ScaleApi, type ScaleState } from "../../../src/kube/writes/scaler.ts";
import type { ScaledEvent, ScaleEventRecorder } from "../../../src/kube/writes/scale_events.ts";
import { createLogger } from "../../../src/observability/logger.ts";

const CONTEXT: RequestContext = {
  remoteAddr: "127.0.0.1:1",
  params: {},
  client: { cn: "alice", organizations: ["sre"], fingerprint256: "AA" },
};
const WEB = "/api/v1/namespaces/prod/deployments/web";
const REPLICAS = `${WEB}/replicas`;
const HPA = { name: "web-hpa", minReplicas: 2, maxReplicas: 10 };

interface Patch {
  readonly replicas: number;
  readonly resourceVersion: string;
  readonly dryRun: boolean;
}

/** The scale subresource with a dry-run switch, as the API server treats it: validated, not persisted. */
class FakeScaleApi implements ScaleApi {
  readonly patches: Patch[] = [];
  state: ScaleState = { replicas: 3, resourceVersion: "100", uid: "uid-web" };
  onPatched?: (state: ScaleState) => void;
  #version = 1000;

  readScale(): Promise<ScaleState> {
    return Promise.resolve(this.state);
  }

  patchScale(_ns: string, _name: string, replicas: number, resourceVersion: string, options?: { dryRun?: boolean }): Promise<ScaleState> {
    const dryRun = options?.dryRun ?? false;
    this.patches.push({ replicas, resourceVersion, dryRun });
    if (dryRun) return Promise.resolve({ ...this.state, replicas });
    this.state = { replicas, resourceVersion: String(++this.#version), uid: "uid-web" };
    this.onPatched?.(this.state);
    return Promise.resolve(this.state);
  }
}

function harness(options: { synced?: boolean; autoscaler?: boolean; writeSyncTimeoutMs?: number } = {}) {
  const now = Date.now();
  const cache = new MemoryCache({ status: { synced: options.synced ?? true, lastContactAt: now } });
  cache.put({ namespace: "prod", name: "web", replicas: 3, readyReplicas: 3, availableReplicas: 3, resourceVersion: "100" });
  cache.put({ namespace: "prod", name: "api", replicas: 2, readyReplicas: 2, availableReplicas: 2, resourceVersion: "101" });
  if (options.autoscaler ?? true) {
    cache.putAutoscaler({
      metadata: { namespace: "prod", name: HPA.name },
      spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, minReplicas: 2, maxReplicas: 10 },
    });
  }
  const api = new FakeScaleApi();
  api.onPatched = (state) => {
    const record = cache.get("prod", "web")!;
    cache.put({ ...record, replicas: state.replicas, resourceVersion: state.resourceVersion });
  };
  const scaled: ScaledEvent[] = [];
  const events: ScaleEventRecorder = { scaled: (e) => void scaled.push(e), changed: () => {}, settle: () => Promise.resolve() };
  const scaler = createScaler({ api, cache, writeSyncTimeoutMs: options.writeSyncTimeoutMs ?? 2_000 });
  const view = createCacheView({ cache, staleAfterMs: 120_000, now: () => now });
  const app = createApp({
    router: createRouter(createApiRoutes({ view, scaler, maxReplicas: 1000, events })),
    log: createLogger({ sink: () => {} }),
    accessLog: false,
  });
  const send = async (path: string, init?: RequestInit) => {
    const response = await app(new Request(`https://localhost${path}`, init), CONTEXT);
    const text = await response.text();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined };
  };
  const put = (path: string, body: unknown = { replicas: 5 }, headers: Record<string, string> = {}) =>
    send(path, {
      method: "PUT",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });
  return { cache, api, scaled, send, put };
}

// --- Autoscalers -------------------------------------------------------------------------------------------------

Deno.test("the Deployment and replicas views show the autoscaler that scales the Deployment, and only there", async () => {
  const { send } = harness();
  assert.deepEqual((await send(WEB)).body.autoscaler, HPA);
  assert.deepEqual((await send(REPLICAS)).body, {
    namespace: "prod",
    name: "web",
    replicas: 3,
    readyReplicas: 3,
    availableReplicas: 3,
    autoscaler: HPA,
  });
  const items = (await send("/api/v1/namespaces/prod/deployments")).body.items;
  assert.deepEqual(items.map((d: { name: string; autoscaler?: unknown }) => [d.name, d.autoscaler]), [["api", undefined], ["web", HPA]]);
  assert.equal("autoscaler" in (await send("/api/v1/namespaces/prod/deployments/api/replicas")).body, false);
});

Deno.test("PUT replicas on a Deployment an HPA scales answers 409 naming the HPA and sends no patch", async () => {
  const { put, api, scaled } = harness();
  const r = await put(REPLICAS);
  assert.equal(r.status, 409);
  assert.equal(r.headers.get("content-type"), "application/problem+json");
  assert.match(r.body.detail, /HorizontalPodAutoscaler "web-hpa" \(minReplicas 2, maxReplicas 10\), which would undo this change/);
  assert.match(r.body.detail, /\?force=true/);
  assert.deepEqual(api.patches, []);
  assert.deepEqual(scaled, []);
});

Deno.test("PUT replicas with ?force=true scales past the HPA and says which autoscaler it overrode", async () => {
  const { put, api, scaled } = harness();
  const r = await put(`${REPLICAS}?force=true`, { replicas: 7 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, { namespace: "prod", name: "web", replicas: 7, previousReplicas: 3, autoscaler: HPA });
  assert.deepEqual(api.patches, [{ replicas: 7, resourceVersion: "100", dryRun: false }]);
  assert.equal(scaled[0].forcedPast, "web-hpa");
});

Deno.test("PUT replicas with ?force=false on an autoscaled Deployment is still 409; without an HPA force changes nothing", async () => {
  const { put } = harness();
  assert.equal((await put(`${REPLICAS}?force=false`)).status, 409);
  const plain = harness({ autoscaler: false });
  const r = await plain.put(`${REPLICAS}?force=true`);
  assert.deepEqual(r.body, { namespace: "prod", name: "web", replicas: 5, previousReplicas: 3 });
  assert.equal(plain.scaled[0].forcedPast, undefined, "nothing was forced past");
});

Deno.test("an HPA deleted after a 409 lets the next PUT through without force", async () => {
  const { put, cache } = harness();
  assert.equal((await put(REPLICAS)).status, 409);
  cache.removeAutoscaler("prod", HPA.name);
  assert.equal((await put(REPLICAS)).status, 200);
});

Deno.test("PUT replicas rejects anything but true or false for force and dryRun with 400, before any patch", async (t) => {
  const { put, api } = harness();
  const cases = [
    ["?force=yes", /"force" must be "true" or "false", got "yes"/],
    ["?force=", /"force" must be "true" or "false", got ""/],
    ["?force", /"force" must be "true" or "false"/],
    ["?force=TRUE", /"force" must be/],
    ["?force=true&force=false", /"force" is given 2 times/],
    ["?dryRun=All", /"dryRun" must be "true" or "false", got "All"/],
    ["?dryRun=1", /"dryRun" must be/],
    ["?dryrun=true", /unknown query parameter "dryrun"; supported: force, dryRun/],
    ["?force=true&watch=true", /unknown query parameter "watch"/],
  ] as const;
  for (const [query, detail] of cases) {
    await t.step(query, async () => {
      const r = await put(`${REPLICAS}${query}`);
      assert.equal(r.status, 400);
      assert.match(r.body.detail, detail);
    });
  }
  assert.deepEqual(api.patches, []);
});

Deno.test("GET replicas refuses PUT's switches such as force with 400", async () => {
  const { send } = harness();
  assert.equal((await send(`${REPLICAS}?force=true`)).status, 400);
});

// --- Dry run -----------------------------------------------------------------------------------------------------

Deno.test("PUT replicas ?dryRun=true sends a dry-run patch, answers 200 marked as a dry run, and changes nothing", async () => {
  const { put, api, scaled, send } = harness({ autoscaler: false, writeSyncTimeoutMs: 10_000 });
  const started = performance.now();
  const r = await put(`${REPLICAS}?dryRun=true`, { replicas: 9 });
  const elapsed = performance.now() - started;
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body, { namespace: "prod", name: "web", replicas: 9, previousReplicas: 3, dryRun: true });
  assert.equal(r.headers.get("etag"), null, "no new version to name");
  assert.deepEqual(api.patches, [{ replicas: 9, resourceVersion: "100", dryRun: true }]);
  assert.ok(elapsed < 1_000, `a dry run does not wait for the cache (took ${elapsed} ms)`);
  assert.deepEqual(scaled, [], "no Event for a change that did not happen");
  assert.equal((await send(REPLICAS)).body.replicas, 3);
});

Deno.test("PUT replicas with dryRun=true and wait=rollout answers 400 before any patch: a dry run has no rollout", async () => {
  const { put, api, scaled } = harness({ autoscaler: false });
  const r = await put(`${REPLICAS}?dryRun=true&wait=rollout&timeout=1s`);
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.match(r.body.detail, /dryRun/);
  assert.deepEqual(api.patches, []);
  assert.deepEqual(scaled, []);
});

Deno.test("PUT replicas with wait=rollout records who scaled, like a PUT without it", async () => {
  const { put, scaled, cache, api } = harness({ autoscaler: false });
  // The informer stores a rollout status with every Deployment; this fake's controller finishes rollouts at once.
  api.onPatched = (state) => {
    const record = cache.get("prod", "web")!;
    const n = state.replicas;
    cache.put({ ...record, replicas: n, readyReplicas: n, availableReplicas: n, resourceVersion: state.resourceVersion }, {
      generation: 2,
      observedGeneration: 2,
      desiredReplicas: n,
      replicas: n,
      updatedReplicas: n,
      readyReplicas: n,
      availableReplicas: n,
      conditions: [],
    });
  };
  const r = await put(`${REPLICAS}?wait=rollout&timeout=5s`, { replicas: 4 });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.rollout.complete, true);
  assert.equal(r.body.previousReplicas, 3);
  assert.ok(r.body.rollout, "the answer carries the rollout progress");
  assert.deepEqual(scaled.map((e) => [e.from, e.to, e.actor]), [[3, 4, "CN=alice (O=sre)"]]);
});

Deno.test("a dry run on an autoscaled Deployment predicts the real answer: 409 without force, 200 with it", async () => {
  const { put, api } = harness();
  assert.equal((await put(`${REPLICAS}?dryRun=true`)).status, 409);
  const forced = await put(`${REPLICAS}?dryRun=true&force=true`);
  assert.equal(forced.status, 200);
  assert.equal(forced.body.dryRun, true);
  assert.deepEqual(forced.body.autoscaler, HPA);
  assert.deepEqual(api.patches.map((p) => p.dryRun), [true]);
});

Deno.test("a dry run keeps If-Match: a stale ETag is 412 without any patch", async () => {
  const { put, api } = harness({ autoscaler: false });
  const r = await put(`${REPLICAS}?dryRun=true`, { replicas: 4 }, { "if-match": '"99"' });
  assert.equal(r.status, 412);
  assert.deepEqual(api.patches, []);
});

// --- Who scaled --------------------------------------------------------------------------------------------------

Deno.test("a successful PUT hands the recorder who scaled what from and to, with the Deployment's uid", async () => {
  const { put, scaled } = harness({ autoscaler: false });
  assert.equal((await put(REPLICAS, { replicas: 5 })).status, 200);
  assert.deepEqual(scaled, [{
    namespace: "prod",
    name: "web",
    uid: "uid-web",
    from: 3,
    to: 5,
    actor: "CN=alice (O=sre)",
    forcedPast: undefined,
  }]);
});

Deno.test("no Event is recorded for a failed PUT", async () => {
  const { put, scaled } = harness({ autoscaler: false });
  assert.equal((await put(REPLICAS, { replicas: -1 })).status, 400);
  assert.equal((await put(REPLICAS, { replicas: 4 }, { "if-match": '"1"' })).status, 412);
  assert.deepEqual(scaled, []);
});

Deno.test("actorOf names the certificate subject as the Event note shows it", () => {
  assert.equal(actorOf({ cn: "alice", organizations: ["sre", "oncall"], fingerprint256: "x" }), "CN=alice (O=sre, O=oncall)");
  assert.equal(actorOf({ cn: "bob", organizations: [], fingerprint256: "x" }), "CN=bob");
  assert.equal(actorOf({ cn: "", organizations: ["ops"], fingerprint256: "x" }), "CN=(none) (O=ops)");
  assert.equal(actorOf(undefined), "an unauthenticated client");
});

// --- Validation before the cache is synced --------------------------------------------------------------------------

Deno.test("before the first sync a malformed PUT answers 400, and only a valid one 503", async (t) => {
  const { put, api } = harness({ synced: false });
  const malformed: [string, string, unknown, Record<string, string>?][] = [
    ["invalid JSON", REPLICAS, "{not json"],
    ["negative replicas", REPLICAS, { replicas: -1 }],
    ["unknown field", REPLICAS, { replicas: 1, extra: true }],
    ["malformed If-Match", REPLICAS, { replicas: 1 }, { "if-match": "not a tag!" }],
    ["unknown query parameter", `${REPLICAS}?namespace=x`, { replicas: 1 }],
    ["bad force value", `${REPLICAS}?force=maybe`, { replicas: 1 }],
    ["invalid namespace", "/api/v1/namespaces/Prod/deployments/web/replicas", { replicas: 1 }],
    ["invalid name", "/api/v1/namespaces/prod/deployments/Web_1/replicas", { replicas: 1 }],
  ];
  for (const [what, path, body, headers] of malformed) {
    await t.step(what, async () => {
      const r = await put(path, body, headers);
      assert.equal(r.status, 400, JSON.stringify(r.body));
    });
  }
  await t.step("wrong content type is 415", async () => {
    const r = await put(REPLICAS, { replicas: 1 }, { "content-type": "text/plain" });
    assert.equal(r.status, 415);
  });
  await t.step("a valid PUT is 503 with Retry-After", async () => {
    const r = await put(REPLICAS, { replicas: 1 });
    assert.equal(r.status, 503);
    assert.equal(r.headers.get("retry-after"), "2");
  });
  assert.deepEqual(api.patches, []);
});
