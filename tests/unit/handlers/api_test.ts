/**
 * The whole mTLS API driven without sockets: app -> router -> handlers -> cache
 * view / scaler, over a MemoryCache and a fake scale subresource.
 */
import assert from "node:assert/strict";
import { createApp } from "../../../src/http/app.ts";
import { createRouter } from "../../../src/http/router.ts";
import type { RequestContext } from "../../../src/http/types.ts";
import { createApiRoutes } from "../../../src/handlers/routes.ts";
import { createCacheView } from "../../../src/handlers/cache_view.ts";
import { MemoryCache } from "../../../src/kube/cache/memory_cache.ts";
import type { CacheStatus, DeploymentCache } from "../../../src/kube/cache/cache.ts";
import type { DeploymentRecord } from "../../../src/kube/cache/deployment_record.ts";
import { createScaler, type ScaleApi, type Scaler, type ScaleState } from "../../../src/kube/writes/scaler.ts";
import { KubeApiError } from "../../../src/kube/api/kube_api_error.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import { createServiceMetrics } from "../../../src/observability/service_metrics.ts";

const CONTEXT: RequestContext = {
  remoteAddr: "127.0.0.1:1",
  params: {},
  client: { cn: "alice", organizations: ["sre"], fingerprint256: "AA" },
};

/** Epoch ms of the cache's last contact with the API server in these tests. */
const T0 = 1_700_000_000_000;
const STALE_AFTER_MS = 120_000;

const PROD_WEB: DeploymentRecord = {
  namespace: "prod",
  name: "web",
  replicas: 3,
  readyReplicas: 3,
  availableReplicas: 2,
  resourceVersion: "100",
};
const PROD_API: DeploymentRecord = {
  namespace: "prod",
  name: "api",
  replicas: 2,
  readyReplicas: 2,
  availableReplicas: 2,
  resourceVersion: "101",
};
const DEV_WEB: DeploymentRecord = {
  namespace: "dev",
  name: "web",
  replicas: 1,
  readyReplicas: 0,
  availableReplicas: 0,
  resourceVersion: "50",
};
/** Deliberately not in sorted order. */
const RECORDS = [PROD_WEB, DEV_WEB, PROD_API];

interface ScaleCall {
  readonly op: "readScale" | "patchScale";
  readonly namespace: string;
  readonly name: string;
  readonly replicas?: number;
  readonly resourceVersion?: string;
}

/**
 * The scale subresource in memory: records every call, enforces the
 * resourceVersion precondition like the API server (409 on mismatch), and can
 * be told to fail the next calls with any error.
 */
class FakeScaleApi implements ScaleApi {
  readonly calls: ScaleCall[] = [];
  /** Thrown, in order, by the next patchScale / readScale calls before anything else happens. */
  readonly failNextPatch: Error[] = [];
  readonly failNextRead: Error[] = [];
  /** Runs after a successful patch; the informer's view of the change. Unset = the cache never hears of it. */
  onPatched?: (namespace: string, name: string, state: ScaleState) => void;
  readonly #state = new Map<string, ScaleState>();
  #lastVersion = 1000;

  set(namespace: string, name: string, state: ScaleState): void {
    this.#state.set(`${namespace}/${name}`, state);
  }

  /** Someone else scales the Deployment: a new resourceVersion the cache has not seen. */
  changeBehindOurBack(namespace: string, name: string, replicas: number): ScaleState {
    const state = { replicas, resourceVersion: String(++this.#lastVersion) };
    this.set(namespace, name, state);
    return state;
  }

  readScale(namespace: string, name: string): Promise<ScaleState> {
    this.calls.push({ op: "readScale", namespace, name });
    const failure = this.failNextRead.shift();
    if (failure) return Promise.reject(failure);
    const state = this.#state.get(`${namespace}/${name}`);
    return state ? Promise.resolve(state) : Promise.reject(notFound(name));
  }

  patchScale(namespace: string, name: string, replicas: number, resourceVersion: string): Promise<ScaleState> {
    this.calls.push({ op: "patchScale", namespace, name, replicas, resourceVersion });
    const failure = this.failNextPatch.shift();
    if (failure) return Promise.reject(failure);
    const current = this.#state.get(`${namespace}/${name}`);
    if (!current) return Promise.reject(notFound(name));
    if (current.resourceVersion !== resourceVersion) return Promise.reject(conflict(name));
    const next = { replicas, resourceVersion: String(++this.#lastVersion) };
    this.set(namespace, name, next);
    this.onPatched?.(namespace, name, next);
    return Promise.resolve(next);
  }

  patches(): ScaleCall[] {
    return this.calls.filter((c) => c.op === "patchScale");
  }
}

const notFound = (name: string) => new KubeApiError(404, `deployments.apps "${name}" not found`, "NotFound");
const conflict = (name: string) =>
  new KubeApiError(
    409,
    `Operation cannot be fulfilled on deployments.apps "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    "Conflict",
  );

/** Puts the patched state into the cache, as the informer would on the watch event. */
function reflectInto(cache: MemoryCache) {
  return (namespace: string, name: string, state: ScaleState) => {
    const record = cache.get(namespace, name);
    if (record) cache.put({ ...record, replicas: state.replicas, resourceVersion: state.resourceVersion });
  };
}

interface HarnessOptions {
  /** Overrides of the MemoryCache status; lastContactAt defaults to T0. */
  status?: Partial<Omit<CacheStatus, "deployments">>;
  /** Milliseconds since T0 at which every request is served. */
  ageMs?: number;
  writeSyncTimeoutMs?: number;
  scaler?: Scaler;
  /** Serve from this cache instead of the seeded MemoryCache. */
  cache?: DeploymentCache;
  /** Seed the MemoryCache and the fake API with RECORDS (default true). */
  seed?: boolean;
}

function harness(options: HarnessOptions = {}) {
  const cache = new MemoryCache({ namespaces: options.seed === false ? [] : ["empty"], status: { lastContactAt: T0, ...options.status } });
  const api = new FakeScaleApi();
  for (const record of RECORDS) {
    if (options.seed !== false) cache.put(record);
    api.set(record.namespace, record.name, { replicas: record.replicas, resourceVersion: record.resourceVersion });
  }
  api.onPatched = reflectInto(cache);
  const served = options.cache ?? cache;
  const scaler = options.scaler ?? createScaler({ api, cache: served, writeSyncTimeoutMs: options.writeSyncTimeoutMs ?? 2_000 });
  const lines: string[] = [];
  const view = createCacheView({ cache: served, staleAfterMs: STALE_AFTER_MS, now: () => T0 + (options.ageMs ?? 1_500) });
  const app = createApp({
    router: createRouter(createApiRoutes({ view, scaler, maxReplicas: 1000 })),
    log: createLogger({ sink: (line) => lines.push(line) }),
    accessLog: true,
  });
  const send = (path: string, init?: RequestInit) => app(new Request(`https://localhost${path}`, init), CONTEXT);
  const put = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    send(path, { method: "PUT", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  const logs = () => lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  return { cache, api, send, put, logs };
}

const REPLICAS = "/api/v1/namespaces/prod/deployments/web/replicas";

/** Reads a problem+json response and checks its shape. */
async function problem(response: Response, status: number): Promise<{ detail: string; status: number; title: string }> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  const body = JSON.parse(text);
  assert.equal(body.status, status);
  assert.equal(body.type, "about:blank");
  return body;
}

async function json(response: Response, status = 200): Promise<unknown> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  assert.equal(response.headers.get("content-type"), "application/json");
  return JSON.parse(text);
}

// --- Lists -------------------------------------------------------------------------------------------------

Deno.test("GET /api/v1/deployments lists every Deployment sorted by namespace, then name", async () => {
  const { send } = harness();
  assert.deepEqual(await json(await send("/api/v1/deployments")), { items: [DEV_WEB, PROD_API, PROD_WEB] });
});

Deno.test("GET /api/v1/deployments?namespace= lists one namespace", async () => {
  const { send } = harness();
  assert.deepEqual(await json(await send("/api/v1/deployments?namespace=prod")), { items: [PROD_API, PROD_WEB] });
});

Deno.test("GET /api/v1/namespaces/:namespace/deployments lists one namespace", async () => {
  const { send } = harness();
  assert.deepEqual(await json(await send("/api/v1/namespaces/prod/deployments")), { items: [PROD_API, PROD_WEB] });
  assert.deepEqual(await json(await send("/api/v1/namespaces/dev/deployments")), { items: [DEV_WEB] });
});

Deno.test("repeated lists answer the same text until a Deployment changes, and then the change", async () => {
  const { send, cache } = harness();
  const paths = ["/api/v1/deployments", "/api/v1/namespaces/prod/deployments"];
  const before = await Promise.all(paths.map(async (p) => await (await send(p)).text()));
  assert.deepEqual(await Promise.all(paths.map(async (p) => await (await send(p)).text())), before);
  const scaled = { ...PROD_WEB, replicas: 7, resourceVersion: "200" };
  cache.put(scaled);
  assert.deepEqual(await json(await send(paths[0])), { items: [DEV_WEB, PROD_API, scaled] });
  assert.deepEqual(await json(await send(paths[1])), { items: [PROD_API, scaled] });
  cache.remove("prod", "api");
  assert.deepEqual(await json(await send(paths[1])), { items: [scaled] });
});

Deno.test("listing a namespace that exists but has no Deployments answers an empty list", async () => {
  const { send } = harness();
  assert.deepEqual(await json(await send("/api/v1/deployments?namespace=empty")), { items: [] });
  assert.deepEqual(await json(await send("/api/v1/namespaces/empty/deployments")), { items: [] });
});

Deno.test("listing an unknown namespace answers 404, not an empty list", async (t) => {
  const { send } = harness();
  for (const path of ["/api/v1/deployments?namespace=nope", "/api/v1/namespaces/nope/deployments"]) {
    await t.step(path, async () => {
      const body = await problem(await send(path), 404);
      assert.match(body.detail, /namespace "nope" does not exist/);
    });
  }
});

Deno.test("listing with an invalid namespace answers 400", async (t) => {
  const { send } = harness();
  for (const path of ["/api/v1/deployments?namespace=Prod", "/api/v1/namespaces/Prod/deployments", "/api/v1/deployments?namespace="]) {
    await t.step(path, async () => {
      await problem(await send(path), 400);
    });
  }
});

Deno.test("an unknown query parameter answers 400 on every endpoint", async (t) => {
  const { send } = harness();
  const paths = [
    "/api/v1/deployments?namepsace=prod",
    "/api/v1/namespaces/prod/deployments?namespace=prod",
    "/api/v1/namespaces/prod/deployments/web?watch=true",
    `${REPLICAS}?replicas=3`,
    "/api/v1/health?verbose=1",
  ];
  for (const path of paths) {
    await t.step(path, async () => {
      const body = await problem(await send(path), 400);
      assert.match(body.detail, /unknown query parameter/);
    });
  }
});

// --- Single Deployment and replicas reads ----------------------------------------------------------------------

Deno.test("GET one Deployment answers exactly the record's six fields with its ETag", async () => {
  const { send } = harness();
  const response = await send("/api/v1/namespaces/prod/deployments/web");
  assert.equal(response.headers.get("etag"), '"100"');
  const body = await json(response) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ["availableReplicas", "name", "namespace", "readyReplicas", "replicas", "resourceVersion"]);
  assert.deepEqual(body, { namespace: "prod", name: "web", replicas: 3, readyReplicas: 3, availableReplicas: 2, resourceVersion: "100" });
});

Deno.test("GET one Deployment answers 404 when it or its namespace is missing, and 400 for an invalid name", async (t) => {
  const { send } = harness();
  await t.step("missing deployment", async () => {
    assert.match((await problem(await send("/api/v1/namespaces/prod/deployments/ghost"), 404)).detail, /"prod\/ghost" not found/);
  });
  await t.step("missing namespace", async () => {
    assert.match((await problem(await send("/api/v1/namespaces/nope/deployments/web"), 404)).detail, /namespace "nope"/);
  });
  await t.step("invalid name", async () => {
    await problem(await send("/api/v1/namespaces/prod/deployments/Web_1"), 400);
  });
  await t.step("invalid name on replicas", async () => {
    await problem(await send("/api/v1/namespaces/prod/deployments/-web/replicas"), 400);
  });
  await t.step("missing deployment on replicas", async () => {
    await problem(await send("/api/v1/namespaces/prod/deployments/ghost/replicas"), 404);
  });
});

Deno.test("GET replicas answers the replica counts with the resourceVersion as a quoted ETag", async () => {
  const { send } = harness();
  const response = await send(REPLICAS);
  assert.equal(response.headers.get("etag"), '"100"');
  assert.deepEqual(await json(response), { namespace: "prod", name: "web", replicas: 3, readyReplicas: 3, availableReplicas: 2 });
});

Deno.test("GET replicas answers 304 with no body to a matching If-None-Match", async (t) => {
  const { send } = harness();
  for (const header of ['"100"', '"99", "100"', "100"]) {
    await t.step(header, async () => {
      const response = await send(REPLICAS, { headers: { "if-none-match": header } });
      assert.equal(response.status, 304);
      assert.equal(response.headers.get("etag"), '"100"');
      assert.equal(await response.text(), "");
    });
  }
  await t.step("not matching", async () => {
    const response = await send(REPLICAS, { headers: { "if-none-match": '"99"' } });
    assert.equal((await json(response) as { replicas: number }).replicas, 3);
  });
});

Deno.test("GET replicas answers 304 to If-None-Match: * when the Deployment exists", async () => {
  // RFC 9110 §13.1.2: "*" matches any current representation.
  const { send } = harness();
  const response = await send(REPLICAS, { headers: { "if-none-match": "*" } });
  await response.body?.cancel();
  assert.equal(response.status, 304);
});

Deno.test("GET replicas answers 304 to a weak If-None-Match tag with the same version", async () => {
  // RFC 9110 §13.1.2: If-None-Match uses the weak comparison, so W/"100" matches ETag "100".
  const { send } = harness();
  const response = await send(REPLICAS, { headers: { "if-none-match": 'W/"100"' } });
  await response.body?.cancel();
  assert.equal(response.status, 304);
});

Deno.test("HEAD on a GET endpoint is answered by the GET route", async () => {
  const { send } = harness();
  const response = await send(REPLICAS, { method: "HEAD" });
  await response.body?.cancel();
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("etag"), '"100"');
});

// --- PUT replicas -------------------------------------------------------------------------------------------------

Deno.test("PUT replicas patches with the cached resourceVersion and answers 200 once the cache has seen the write", async () => {
  const { put, send, api } = harness();
  const response = await put(REPLICAS, { replicas: 5 });
  assert.equal(response.headers.get("etag"), '"1001"');
  assert.deepEqual(await json(response), { namespace: "prod", name: "web", replicas: 5, previousReplicas: 3 });
  assert.deepEqual(api.calls, [{ op: "patchScale", namespace: "prod", name: "web", replicas: 5, resourceVersion: "100" }]);
  // Read-your-writes: the next GET already shows the new count.
  assert.equal((await json(await send(REPLICAS)) as { replicas: number }).replicas, 5);
});

Deno.test("PUT replicas accepts 0 and the maximum", async (t) => {
  for (const replicas of [0, 1000]) {
    await t.step(String(replicas), async () => {
      const { put } = harness();
      assert.deepEqual(await json(await put(REPLICAS, { replicas })), { namespace: "prod", name: "web", replicas, previousReplicas: 3 });
    });
  }
});

Deno.test("PUT replicas answers 202 when the cache does not see the write within WRITE_SYNC_TIMEOUT", async () => {
  const { put, api } = harness({ writeSyncTimeoutMs: 50 });
  api.onPatched = undefined; // the API accepted the change, but no watch event ever reaches the cache
  const started = performance.now();
  const response = await put(REPLICAS, { replicas: 5 });
  const elapsed = performance.now() - started;
  assert.equal(response.headers.get("etag"), '"1001"');
  assert.deepEqual(await json(response, 202), { namespace: "prod", name: "web", replicas: 5, previousReplicas: 3 });
  assert.ok(elapsed >= 45, `answered after ${elapsed} ms, before the 50 ms timeout`);
  assert.equal(api.patches().length, 1);
});

Deno.test("PUT replicas answers 200 when the cache sees the write shortly after the patch", async () => {
  const { put, api, cache } = harness({ writeSyncTimeoutMs: 5_000 });
  const reflect = reflectInto(cache);
  api.onPatched = (namespace, name, state) => setTimeout(() => reflect(namespace, name, state), 30);
  const started = performance.now();
  const response = await put(REPLICAS, { replicas: 7 });
  const elapsed = performance.now() - started;
  assert.deepEqual(await json(response, 200), { namespace: "prod", name: "web", replicas: 7, previousReplicas: 3 });
  assert.ok(elapsed < 2_000, `waited ${elapsed} ms although the cache saw the write after 30 ms`);
  assert.equal(cache.get("prod", "web")?.resourceVersion, "1001");
});

Deno.test("PUT replicas with a matching If-Match answers 200", async (t) => {
  // A quoted tag may contain a comma (RFC 9110 etagc): the list is scanned, not split on commas.
  for (const header of ['"100"', '"99", "100"', "*", '"a,b"\t,\t"100"']) {
    await t.step(header, async () => {
      const { put, api } = harness();
      assert.deepEqual(await json(await put(REPLICAS, { replicas: 4 }, { "if-match": header })), {
        namespace: "prod",
        name: "web",
        replicas: 4,
        previousReplicas: 3,
      });
      assert.deepEqual(api.patches().map((c) => c.resourceVersion), ["100"]);
    });
  }
});

Deno.test("PUT replicas with a stale If-Match answers 412 and sends no patch", async () => {
  const { put, api } = harness();
  const response = await put(REPLICAS, { replicas: 4 }, { "if-match": '"99"' });
  assert.equal(response.headers.get("etag"), '"100"');
  assert.match((await problem(response, 412)).detail, /If-Match does not match/);
  assert.deepEqual(api.patches(), []);
});

Deno.test("PUT replicas with a malformed If-Match answers 400 and calls nothing", async (t) => {
  for (const header of ['"unterminated', "two words", "", '"a", ,"b"', 'W/"100" garbage', '"100",', ',"100"']) {
    await t.step(JSON.stringify(header), async () => {
      const { put, api } = harness();
      assert.match((await problem(await put(REPLICAS, { replicas: 4 }, { "if-match": header }), 400)).detail, /If-Match/);
      assert.deepEqual(api.calls, []);
    });
  }
});

Deno.test("PUT replicas without If-Match retries a 409 on a fresh readScale", async () => {
  const { put, api } = harness();
  const theirs = api.changeBehindOurBack("prod", "web", 4); // the cache still holds version 100
  const response = await put(REPLICAS, { replicas: 6 });
  assert.deepEqual(await json(response), { namespace: "prod", name: "web", replicas: 6, previousReplicas: 4 });
  assert.deepEqual(api.calls, [
    { op: "patchScale", namespace: "prod", name: "web", replicas: 6, resourceVersion: "100" },
    { op: "readScale", namespace: "prod", name: "web" },
    { op: "patchScale", namespace: "prod", name: "web", replicas: 6, resourceVersion: theirs.resourceVersion },
  ]);
});

Deno.test("PUT replicas answers 409 when conflicts persist after the retries", async () => {
  const { put, api } = harness();
  for (let i = 0; i < 10; i++) api.failNextPatch.push(conflict("web"));
  const body = await problem(await put(REPLICAS, { replicas: 6 }), 409);
  assert.match(body.detail, /the object has been modified/);
  assert.equal(api.patches().length, 6, "one attempt plus five retries, spaced by the backoff");
});

Deno.test("PUT replicas with If-Match answers 412 when the API server reports a conflict", async () => {
  const { put, api } = harness();
  api.changeBehindOurBack("prod", "web", 4); // the cache (and so the If-Match check) still sees version 100
  await problem(await put(REPLICAS, { replicas: 6 }, { "if-match": '"100"' }), 412);
  assert.deepEqual(api.calls.map((c) => c.op), ["patchScale"], "no retry may override the caller's precondition");
});

Deno.test("PUT replicas of a Deployment the API server does not have answers 404", async () => {
  const { put, api } = harness();
  const body = await problem(await put("/api/v1/namespaces/prod/deployments/ghost/replicas", { replicas: 1 }), 404);
  assert.match(body.detail, /deployments\.apps "ghost" not found/);
  assert.deepEqual(api.calls, [{ op: "readScale", namespace: "prod", name: "ghost" }]);
});

Deno.test("PUT replicas in an unknown namespace answers 404 without calling the API", async () => {
  const { put, api } = harness();
  await problem(await put("/api/v1/namespaces/nope/deployments/web/replicas", { replicas: 1 }), 404);
  assert.deepEqual(api.calls, []);
});

Deno.test("PUT replicas maps Kubernetes API failures", async (t) => {
  const cases: [string, KubeApiError, number, string | null][] = [
    [
      "422 passes the API server's message through",
      new KubeApiError(422, "spec.replicas: Invalid value: 5: quota exceeded", "Invalid"),
      422,
      null,
    ],
    ["unreachable answers 503 with Retry-After", new KubeApiError(0, "connect ECONNREFUSED 10.96.0.1:443"), 503, "5"],
    ["throttled answers 503 with Retry-After", new KubeApiError(429, "too many requests", "TooManyRequests", 3), 503, "3"],
    ["forbidden answers 502", new KubeApiError(403, "cannot patch resource deployments/scale", "Forbidden"), 502, null],
  ];
  for (const [name, error, status, retryAfter] of cases) {
    await t.step(name, async () => {
      const { put, api } = harness();
      api.failNextPatch.push(error);
      const response = await put(REPLICAS, { replicas: 5 });
      assert.equal(response.headers.get("retry-after"), retryAfter);
      assert.ok((await problem(response, status)).detail.includes(error.message));
    });
  }
});

Deno.test("PUT replicas rejects a bad body before calling the API", async (t) => {
  const json = { "content-type": "application/json" };
  const cases: [string, RequestInit, number][] = [
    ["text/plain answers 415", { headers: { "content-type": "text/plain" }, body: '{"replicas":3}' }, 415],
    ["no content type answers 415", { body: new TextEncoder().encode('{"replicas":3}') }, 415],
    ["Content-Length over 64 KiB answers 413", { headers: { ...json, "content-length": "70000" }, body: '{"replicas":3}' }, 413],
    [
      "a streamed body over 64 KiB answers 413",
      { headers: json, body: new Blob([new Uint8Array(200 * 1024).fill(0x20)]).stream() },
      413,
    ],
    ["invalid JSON answers 400", { headers: json, body: '{"replicas":' }, 400],
    ["trailing data answers 400", { headers: json, body: '{"replicas":1} x' }, 400],
    ["a repeated replicas key answers 400", { headers: json, body: '{"replicas":1,"replicas":2}' }, 400],
    ["a repeated key spelled with an escape answers 400", { headers: json, body: '{"replicas":1,"re\\u0070licas":2}' }, 400],
    ["empty body answers 400", { headers: json, body: "" }, 400],
    ["a negative count answers 400", { headers: json, body: '{"replicas":-1}' }, 400],
    ["a string count answers 400", { headers: json, body: '{"replicas":"3"}' }, 400],
    ["a fractional count answers 400", { headers: json, body: '{"replicas":1.5}' }, 400],
    ["a count above MAX_REPLICAS answers 400", { headers: json, body: '{"replicas":1001}' }, 400],
    ["an unknown field answers 400", { headers: json, body: '{"replicas":1,"paused":true}' }, 400],
  ];
  for (const [name, init, status] of cases) {
    await t.step(name, async () => {
      const { send, api } = harness();
      await problem(await send(REPLICAS, { method: "PUT", ...init }), status);
      assert.deepEqual(api.calls, []);
    });
  }
});

Deno.test("PUT replicas normalises -0 to 0", async () => {
  const { send, api } = harness();
  const response = await send(REPLICAS, { method: "PUT", headers: { "content-type": "application/json" }, body: '{"replicas":-0}' });
  assert.equal(await response.text(), '{"namespace":"prod","name":"web","replicas":0,"previousReplicas":3}');
  assert.ok(Object.is(api.patches()[0].replicas, 0));
});

Deno.test("PUT replicas before the first sync answers 503 with Retry-After, not 404", async () => {
  // Before the first list the cache knows no namespaces; "does not exist" would be a false, permanent-looking answer.
  const { put } = harness({ seed: false, status: { synced: false, connected: false, lastContactAt: undefined } });
  const response = await put(REPLICAS, { replicas: 5 });
  const retryAfter = response.headers.get("retry-after");
  await problem(response, 503);
  assert.equal(retryAfter, "2");
});

// --- Query strings ---------------------------------------------------------------------------------------------------

/** Every route's query parameters with a valid value each. */
const PARAMETERS_BY_ROUTE: [method: string, path: string, parameters: string[]][] = [
  ["GET", "/api/v1/deployments", [
    "namespace=prod",
    "watch=true",
    "watch=false",
    "detail=true",
    "detail=false",
    "resourceVersion=1",
    "resourceVersionMatch=NotOlderThan",
  ]],
  ["GET", "/api/v1/namespaces/prod/deployments", [
    "watch=true",
    "watch=false",
    "detail=true",
    "detail=false",
    "resourceVersion=1",
    "resourceVersionMatch=NotOlderThan",
  ]],
  ["GET", "/api/v1/namespaces/prod/deployments/web", [
    "detail=true",
    "detail=false",
    "resourceVersion=1",
    "resourceVersionMatch=NotOlderThan",
  ]],
  ["GET", REPLICAS, ["wait=rollout", "timeout=1s", "resourceVersion=1", "resourceVersionMatch=NotOlderThan"]],
  ["PUT", REPLICAS, ["force=true", "dryRun=true", "dryRun=false", "wait=rollout", "timeout=1s"]],
];

Deno.test("a query parameter given twice answers 400 naming it, for every parameter on every route", async (t) => {
  const { send, put, api } = harness();
  for (const [method, path, parameters] of PARAMETERS_BY_ROUTE) {
    for (const parameter of parameters) {
      const name = parameter.split("=")[0];
      // The same value twice, and then another value after it: neither is "the" value.
      for (const query of [`${parameter}&${parameter}`, `${parameter}&${name}=x`]) {
        await t.step(`${method} ${path}?${query}`, async () => {
          const target = `${path}?${query}`;
          const response = method === "PUT" ? await put(target, { replicas: 4 }) : await send(target);
          const body = await problem(response, 400);
          assert.equal(body.detail, `query parameter "${name}" is given 2 times; give it once`);
        });
      }
    }
  }
  assert.deepEqual(api.patches(), [], "nothing was scaled");
});

Deno.test("boolean query parameters take exactly true or false on every route; 1, 0, yes, TRUE or nothing answer 400", async (t) => {
  const { send, put } = harness();
  const cases: [string, string][] = [
    ["GET", "/api/v1/deployments?watch="],
    ["GET", "/api/v1/deployments?watch=1"],
    ["GET", "/api/v1/namespaces/prod/deployments?watch=0"],
    ["GET", "/api/v1/namespaces/prod/deployments?watch=TRUE"],
    ["GET", "/api/v1/deployments?watch"],
    ["PUT", `${REPLICAS}?force=1`],
    ["PUT", `${REPLICAS}?dryRun=yes`],
  ];
  for (const [method, target] of cases) {
    await t.step(`${method} ${target}`, async () => {
      const response = method === "PUT" ? await put(target, { replicas: 4 }) : await send(target);
      assert.match((await problem(response, 400)).detail, /^query parameter "(watch|force|dryRun)" must be "true" or "false", got "/);
    });
  }
  await t.step("false is the same as absent", async () => {
    assert.deepEqual(await json(await send("/api/v1/namespaces/prod/deployments?watch=false")), { items: [PROD_API, PROD_WEB] });
  });
});

/** Requests with a parameter (or header) that has no effect in the combination given, and what the 400 names. */
const NO_EFFECT: [method: string, target: string, headers: Record<string, string>, names: RegExp][] = [
  ["GET", `${REPLICAS}?timeout=5s`, {}, /^query parameter "timeout" has no effect without wait=rollout/],
  ["PUT", `${REPLICAS}?timeout=5s`, {}, /^query parameter "timeout" has no effect without wait=rollout/],
  ["PUT", `${REPLICAS}?dryRun=true&wait=rollout`, {}, /^dryRun=true changes nothing, so there is no rollout to wait for/],
  ["GET", `${REPLICAS}?resourceVersionMatch=NotOlderThan`, {}, /^resourceVersionMatch=NotOlderThan needs resourceVersion/],
  ["GET", "/api/v1/deployments?watch=true&resourceVersion=5", {}, /^query parameter "resourceVersion" has no effect on a watch/],
  [
    "GET",
    "/api/v1/namespaces/prod/deployments?watch=true&resourceVersionMatch=NotOlderThan",
    {},
    /^query parameter "resourceVersionMatch" has no effect on a watch/,
  ],
  ["GET", "/api/v1/deployments", { "last-event-id": "5" }, /^the Last-Event-ID header has no effect without watch=true/],
  ["GET", "/api/v1/deployments?watch=false", { "last-event-id": "5" }, /^the Last-Event-ID header has no effect without watch=true/],
  ["GET", "/api/v1/namespaces/prod/deployments?resourceVersion=1", { "last-event-id": "5" }, /^the Last-Event-ID header has no effect/],
  ["GET", `${REPLICAS}?force=true`, {}, /^unknown query parameter "force"/],
  ["GET", `${REPLICAS}?dryRun=false`, {}, /^unknown query parameter "dryRun"/],
  ["GET", "/api/v1/openapi.json?format=yaml", {}, /^unknown query parameter "format"; this endpoint takes none/],
];

Deno.test("a parameter that has no effect in the combination given answers 400 naming it", async (t) => {
  const { send, put, api } = harness();
  for (const [method, target, headers, names] of NO_EFFECT) {
    await t.step(`${method} ${target} ${JSON.stringify(headers)}`, async () => {
      const response = method === "PUT" ? await put(target, { replicas: 4 }, headers) : await send(target, { headers });
      assert.match((await problem(response, 400)).detail, names);
    });
  }
  assert.deepEqual(api.patches(), [], "nothing was scaled");
  await t.step("before the first sync too: 400, not 503", async () => {
    const unsynced = harness({ seed: false, status: { synced: false, connected: false, lastContactAt: undefined } });
    for (const [method, target, headers] of NO_EFFECT) {
      const response = method === "PUT" ? await unsynced.put(target, { replicas: 4 }, headers) : await unsynced.send(target, { headers });
      await problem(response, 400);
    }
  });
  await t.step("an empty Last-Event-ID is absent, as EventSource may send it", async () => {
    assert.deepEqual(await json(await send("/api/v1/namespaces/dev/deployments", { headers: { "last-event-id": " " } })), {
      items: [DEV_WEB],
    });
  });
});

// --- Methods and paths --------------------------------------------------------------------------------------------

Deno.test("a wrong method answers 405 with an Allow header", async (t) => {
  const { send } = harness();
  const cases: [string, string, string][] = [
    ["DELETE", REPLICAS, "GET, HEAD, PUT"],
    ["POST", REPLICAS, "GET, HEAD, PUT"],
    ["PUT", "/api/v1/namespaces/prod/deployments/web", "GET, HEAD"],
    ["POST", "/api/v1/deployments", "GET, HEAD"],
    ["DELETE", "/api/v1/health", "GET, HEAD"],
  ];
  for (const [method, path, allow] of cases) {
    await t.step(`${method} ${path}`, async () => {
      const response = await send(path, { method });
      assert.equal(response.headers.get("allow"), allow);
      await problem(response, 405);
    });
  }
});

Deno.test("an unknown path answers 404 problem+json", async (t) => {
  const { send } = harness();
  for (const path of ["/", "/api/v1/deployments/", "/api/v2/deployments", `${REPLICAS}/`, "/api/v1/namespaces/prod"]) {
    await t.step(path, async () => {
      const body = await problem(await send(path), 404);
      assert.equal((body as unknown as { instance: string }).instance, path);
    });
  }
});

Deno.test("a PUT to an unknown path answers 404 and releases the body", async () => {
  const { send } = harness();
  let cancelled = false;
  const body = new ReadableStream({ cancel: () => void (cancelled = true) });
  await problem(await send("/api/v1/nope", { method: "PUT", headers: { "content-type": "application/json" }, body }), 404);
  assert.ok(cancelled);
});

// --- Freshness --------------------------------------------------------------------------------------------------------

Deno.test("reads before the first sync answer 503 with Retry-After", async (t) => {
  const { send } = harness({ status: { synced: false, connected: false, lastContactAt: undefined } });
  const paths = [
    "/api/v1/deployments",
    "/api/v1/deployments?namespace=prod",
    "/api/v1/namespaces/prod/deployments",
    "/api/v1/namespaces/prod/deployments/web",
    REPLICAS,
  ];
  for (const path of paths) {
    await t.step(path, async () => {
      const response = await send(path);
      assert.equal(response.headers.get("retry-after"), "2");
      assert.match((await problem(response, 503)).detail, /not ready/);
    });
  }
});

Deno.test("a malformed namespace or name answers 400 even before the first sync, on every route", async (t) => {
  // 503 says "retry shortly": wrong for a request that can never succeed.
  const { send, put } = harness({ seed: false, status: { synced: false, connected: false, lastContactAt: undefined } });
  const paths = [
    "/api/v1/deployments?namespace=Prod",
    "/api/v1/namespaces/Prod/deployments",
    "/api/v1/namespaces/Prod/deployments/web",
    "/api/v1/namespaces/prod/deployments/Web",
    "/api/v1/namespaces/Prod/deployments/web/replicas",
  ];
  for (const path of paths) {
    await t.step(`GET ${path}`, async () => {
      await problem(await send(path), 400);
    });
  }
  await t.step("PUT", async () => {
    await problem(await put("/api/v1/namespaces/Prod/deployments/web/replicas", { replicas: 1 }), 400);
  });
});

Deno.test("every route in one namespace answers 404 for an unknown namespace, before it waits for a resourceVersion", async (t) => {
  const { send, put } = harness({ writeSyncTimeoutMs: 60_000 });
  const far = "resourceVersion=999999";
  const paths = [
    `/api/v1/deployments?namespace=nope&${far}`,
    `/api/v1/namespaces/nope/deployments?${far}`,
    `/api/v1/namespaces/nope/deployments/web?${far}`,
    `/api/v1/namespaces/nope/deployments/web/replicas?${far}`,
    `/api/v1/namespaces/nope/deployments/web/replicas?wait=rollout&${far}`,
    "/api/v1/namespaces/nope/deployments?watch=true",
  ];
  for (const path of paths) {
    await t.step(`GET ${path}`, async () => {
      assert.match((await problem(await send(path), 404)).detail, /namespace "nope" does not exist or is not watched/);
    });
  }
  await t.step("PUT", async () => {
    const response = await put("/api/v1/namespaces/nope/deployments/web/replicas?wait=rollout", { replicas: 1 });
    assert.match((await problem(response, 404)).detail, /namespace "nope" does not exist or is not watched/);
  });
});

Deno.test("reads from a live cache carry Cache-Status with a positive ttl and no Age", async (t) => {
  const { send } = harness({ ageMs: 20_000 });
  for (const path of ["/api/v1/deployments", "/api/v1/namespaces/prod/deployments", "/api/v1/namespaces/prod/deployments/web", REPLICAS]) {
    await t.step(path, async () => {
      const response = await send(path);
      await json(response);
      assert.equal(response.headers.get("cache-status"), "replica-api; hit; ttl=100");
      assert.equal(response.headers.get("age"), null);
    });
  }
});

Deno.test("reads from a disconnected cache still answer 200, labelled stale with a negative ttl and Age", async (t) => {
  const { send } = harness({ ageMs: 30_000, status: { connected: false, error: "watch failed: connection reset" } });
  for (const path of ["/api/v1/deployments", "/api/v1/namespaces/prod/deployments/web", REPLICAS]) {
    await t.step(path, async () => {
      const response = await send(path);
      await json(response);
      const cacheStatus = response.headers.get("cache-status") ?? "";
      assert.match(cacheStatus, /ttl=-\d+/);
      assert.equal(cacheStatus, `replica-api; hit; ttl=-30; detail="watch disconnected: watch failed: connection reset"`);
      assert.equal(response.headers.get("age"), "30");
    });
  }
});

Deno.test("reads from a cache without recent contact are labelled stale", async () => {
  const { send } = harness({ ageMs: STALE_AFTER_MS + 80_000 });
  const response = await send(REPLICAS);
  await json(response);
  assert.match(
    response.headers.get("cache-status") ?? "",
    /^replica-api; hit; ttl=-200; detail="no contact with the Kubernetes API for 200 s"$/,
  );
  assert.equal(response.headers.get("age"), "200");
});

// --- Health -----------------------------------------------------------------------------------------------------------

Deno.test("GET /api/v1/health answers 200 healthy when the cache is live", async () => {
  const { send } = harness({ ageMs: 1_500 });
  const response = await send("/api/v1/health");
  assert.equal(
    await response.text(),
    JSON.stringify({
      status: "healthy",
      kubernetes: "connected",
      cache: { synced: true, deployments: 3, lastEventAgeSeconds: 1.5, restarts: 0 },
    }),
  );
  assert.equal(response.status, 200);
});

Deno.test("GET /api/v1/health answers 503 degraded when the watch is disconnected", async () => {
  const { send } = harness({ ageMs: 10_000, status: { connected: false, error: "connection reset", restarts: 2 } });
  const response = await send("/api/v1/health");
  assert.equal(response.headers.get("retry-after"), "5");
  assert.deepEqual(await json(response, 503), {
    status: "degraded",
    kubernetes: "disconnected",
    cache: { synced: true, deployments: 3, lastEventAgeSeconds: 10, restarts: 2 },
    error: "watch disconnected: connection reset",
  });
});

Deno.test("GET /api/v1/health answers 503 degraded when the API server has been silent too long", async () => {
  const { send } = harness({ ageMs: STALE_AFTER_MS + 1_000 });
  const body = await json(await send("/api/v1/health"), 503) as Record<string, unknown>;
  assert.equal(body.status, "degraded");
  assert.equal(body.kubernetes, "unresponsive");
  assert.equal(body.error, "no contact with the Kubernetes API for 121 s");
});

Deno.test("GET /api/v1/health answers 503 unhealthy with an error before the first sync", async () => {
  const { send } = harness({ seed: false, status: { synced: false, connected: false, lastContactAt: undefined, error: "forbidden" } });
  assert.deepEqual(await json(await send("/api/v1/health"), 503), {
    status: "unhealthy",
    kubernetes: "disconnected",
    cache: { synced: false, deployments: 0, lastEventAgeSeconds: null, restarts: 0 },
    error: "initial sync not complete: forbidden",
  });
});

// --- Errors, request ids and the access log ---------------------------------------------------------------------------

Deno.test("a scaler that throws a plain Error answers a generic 500 and the error is logged with its cause", async () => {
  const scaler: Scaler = {
    scale: () => Promise.reject(new Error("patch exploded: token=s3cret", { cause: new Error("socket hang up") })),
  };
  const { put, logs } = harness({ scaler });
  const response = await put(REPLICAS, { replicas: 5 });
  const requestId = response.headers.get("x-request-id");
  const text = await response.text();
  assert.equal(response.status, 500);
  assert.ok(!text.includes("s3cret") && !text.includes("exploded"), `the response leaks the error: ${text}`);
  assert.equal(JSON.parse(text).detail, "An unexpected error occurred; it has been logged.");
  const errors = logs().filter((line) => line.level === "error");
  assert.equal(errors.length, 1);
  assert.equal(errors[0].requestId, requestId);
  assert.equal(errors[0].status, 500);
  assert.deepEqual(errors[0].error, {
    name: "Error",
    message: "patch exploded: token=s3cret",
    cause: { name: "Error", message: "socket hang up" },
  });
});

Deno.test("a handler that throws synchronously answers a generic 500", async () => {
  const inner = new MemoryCache({ status: { lastContactAt: T0 } });
  const cache: DeploymentCache = {
    get: (namespace, name) => inner.get(namespace, name),
    list: () => {
      throw new TypeError("Cannot read properties of undefined");
    },
    hasNamespace: (namespace) => inner.hasNamespace(namespace),
    status: () => inner.status(),
    waitForVersion: (...args) => inner.waitForVersion(...args),
    rollout: (namespace, name) => inner.rollout(namespace, name),
    changes: inner.changes,
    waitForResourceVersion: (...args) => inner.waitForResourceVersion(...args),
  };
  const { send, logs } = harness({ cache });
  const body = await problem(await send("/api/v1/deployments"), 500);
  assert.doesNotMatch(body.detail, /Cannot read/);
  assert.equal(logs().filter((line) => line.level === "error").length, 1);
});

Deno.test("client errors are not logged as errors", async () => {
  const { send, logs } = harness();
  await (await send("/api/v1/nope")).body?.cancel();
  await (await send(REPLICAS, { method: "DELETE" })).body?.cancel();
  assert.equal(logs().filter((line) => line.level === "error").length, 0);
});

Deno.test("every response carries an x-request-id, unique per request", async () => {
  const scaler: Scaler = { scale: () => Promise.reject(new Error("boom")) };
  const { send, put } = harness({ scaler });
  const responses = [
    await send("/api/v1/deployments"),
    await send(REPLICAS, { headers: { "if-none-match": '"100"' } }),
    await send("/api/v1/deployments?bad=1"),
    await send("/api/v1/nope"),
    await send(REPLICAS, { method: "DELETE" }),
    await put(REPLICAS, { replicas: 1 }),
    await send("/api/v1/health"),
  ];
  assert.deepEqual(responses.map((r) => r.status), [200, 304, 400, 404, 405, 500, 200]);
  const ids = responses.map((r) => r.headers.get("x-request-id"));
  for (const response of responses) await response.body?.cancel();
  for (const id of ids) assert.ok(id && id.length > 0);
  assert.equal(new Set(ids).size, ids.length);
});

Deno.test("a valid incoming X-Request-Id is echoed and an unsafe one replaced", async (t) => {
  const { send } = harness();
  for (const id of ["trace-abc.123:x_y", "0f8fad5b-d9cb-469f-a165-70867728950e", "a".repeat(128)]) {
    await t.step(`echoes ${id.slice(0, 40)}`, async () => {
      const response = await send("/api/v1/health", { headers: { "x-request-id": id } });
      await response.body?.cancel();
      assert.equal(response.headers.get("x-request-id"), id);
    });
  }
  for (const id of ["has space", "a".repeat(129), "<script>", "a\u00e9b", "semi;colon"]) {
    await t.step(`replaces ${JSON.stringify(id.slice(0, 40))}`, async () => {
      const response = await send("/api/v1/health", { headers: { "x-request-id": id } });
      await response.body?.cancel();
      const echoed = response.headers.get("x-request-id");
      assert.ok(echoed && echoed !== id);
      assert.match(echoed, /^[A-Za-z0-9._:-]{1,128}$/);
    });
  }
});

Deno.test("the access log has one line per request with method, route, status, durationMs and clientCN", async () => {
  const { send, put, logs } = harness();
  const first = await send("/api/v1/deployments");
  await first.body?.cancel();
  await (await put(REPLICAS, { replicas: 2 })).body?.cancel();
  await (await send("/api/v1/nope?x=1")).body?.cancel();
  const access = logs().filter((line) => line.msg === "request");
  assert.equal(access.length, 3);
  assert.deepEqual(
    access.map(({ method, route, status, path, clientCN, remoteAddr, level }) => ({
      method,
      route,
      status,
      path,
      clientCN,
      remoteAddr,
      level,
    })),
    [
      {
        method: "GET",
        route: "list_deployments",
        status: 200,
        path: "/api/v1/deployments",
        clientCN: "alice",
        remoteAddr: "127.0.0.1:1",
        level: "info",
      },
      { method: "PUT", route: "put_replicas", status: 200, path: REPLICAS, clientCN: "alice", remoteAddr: "127.0.0.1:1", level: "info" },
      { method: "GET", route: "unmatched", status: 404, path: "/api/v1/nope", clientCN: "alice", remoteAddr: "127.0.0.1:1", level: "info" },
    ],
  );
  for (const line of access) {
    assert.equal(typeof line.durationMs, "number");
    assert.ok((line.durationMs as number) >= 0);
  }
  assert.equal(access[0].requestId, first.headers.get("x-request-id"));
});

Deno.test("watches and rollout waits are routes of their own: the access log and the request metrics name them", async () => {
  const cache = new MemoryCache({ status: { lastContactAt: T0 } });
  for (const record of RECORDS) cache.put(record);
  const api = new FakeScaleApi();
  api.set("prod", "web", { replicas: 3, resourceVersion: "100" });
  api.onPatched = reflectInto(cache);
  const view = createCacheView({ cache, staleAfterMs: STALE_AFTER_MS, now: () => T0 });
  const scaler = createScaler({ api, cache, writeSyncTimeoutMs: 2_000 });
  const metrics = createServiceMetrics();
  const lines: string[] = [];
  const app = createApp({
    router: createRouter(createApiRoutes({ view, scaler, maxReplicas: 1000 })),
    log: createLogger({ sink: (line) => lines.push(line) }),
    accessLog: true,
    metrics: metrics.http,
  });
  const requests: [string, string][] = [
    ["GET", "/api/v1/deployments?watch=true"],
    ["GET", "/api/v1/deployments?watch=false"],
    ["GET", "/api/v1/namespaces/prod/deployments?watch=true"],
    ["GET", "/api/v1/namespaces/prod/deployments"],
    ["GET", `${REPLICAS}?wait=rollout&timeout=0ms`],
    ["GET", REPLICAS],
    ["PUT", `${REPLICAS}?wait=rollout&timeout=0ms`],
    ["PUT", REPLICAS],
  ];
  for (const [method, target] of requests) {
    const init: RequestInit = method === "PUT"
      ? { method, headers: { "content-type": "application/json" }, body: JSON.stringify({ replicas: 4 }) }
      : { method };
    await (await app(new Request(`https://localhost${target}`, init), CONTEXT)).body?.cancel();
  }
  const names = [
    "watch_deployments",
    "list_deployments",
    "watch_namespace_deployments",
    "list_namespace_deployments",
    "get_replicas_wait_rollout",
    "get_replicas",
    "put_replicas_wait_rollout",
    "put_replicas",
  ];
  const access = lines.map((line) => JSON.parse(line)).filter((line) => line.msg === "request");
  assert.deepEqual(access.map((line) => line.route), names);
  const text = metrics.registry.render();
  for (const name of names) {
    assert.match(text, new RegExp(`replica_api_http_request_duration_seconds_count\\{listener="api",route="${name}"\\} 1\\n`), name);
  }
});
