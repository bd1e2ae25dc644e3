/**
 * The rollout operations' routes (restart, pause, resume, set image, undo, revisions), driven through the app
 * without sockets, with a writer that records what it is asked: what each route refuses before it writes, what it
 * passes to the writer, and how the writer's answer becomes the response and the Event.
 */
import assert from "node:assert/strict";
import { createApp } from "../../../src/http/app.ts";
import { createRouter } from "../../../src/http/router.ts";
import type { RequestContext } from "../../../src/http/types.ts";
import { createApiRoutes } from "../../../src/handlers/routes.ts";
import { createCacheView } from "../../../src/handlers/cache_view.ts";
import type { ImageVerdict } from "../../../src/handlers/operations.ts";
import { MemoryCache } from "../../../src/kube/cache/memory_cache.ts";
import type { Scaler } from "../../../src/kube/writes/scaler.ts";
import type {
  DeploymentTarget,
  DeploymentWriter,
  ImageResult,
  PauseResult,
  RestartResult,
  UndoResult,
  WriteConditions,
} from "../../../src/kube/writes/operations.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import type { Operation } from "../../../src/authz/operations.ts";

const CONTEXT: RequestContext = {
  remoteAddr: "127.0.0.1:1",
  params: {},
  client: { cn: "alice", organizations: ["sre"], fingerprint256: "AA" },
};
const WEB = "/api/v1/namespaces/prod/deployments/web";
const ALL: ReadonlySet<Operation> = new Set<Operation>(["scale", "restart", "pause", "undo", "image"]);

interface Call {
  readonly op: string;
  readonly target: DeploymentTarget;
  readonly args: readonly unknown[];
  readonly conditions: WriteConditions;
}

/** Answers every operation with `changed`/`observed` as set, recording each call. */
class RecordingWriter implements DeploymentWriter {
  readonly calls: Call[] = [];
  changed = true;
  observed = true;
  fail?: Error;
  #result(conditions: WriteConditions) {
    if (this.fail) throw this.fail;
    return { changed: this.changed, resourceVersion: "201", observed: !conditions.dryRun && this.observed, uid: "uid-web" };
  }
  restart(target: DeploymentTarget, conditions: WriteConditions): Promise<RestartResult> {
    this.calls.push({ op: "restart", target, args: [], conditions });
    return Promise.resolve({
      ...this.#result(conditions),
      restartedAt: "2026-12-07T13:00:00Z",
      previousRestartedAt: "2026-12-01T00:00:00Z",
    });
  }
  setPaused(target: DeploymentTarget, paused: boolean, conditions: WriteConditions): Promise<PauseResult> {
    this.calls.push({ op: "setPaused", target, args: [paused], conditions });
    return Promise.resolve({ ...this.#result(conditions), paused });
  }
  setImage(target: DeploymentTarget, container: string, image: string, conditions: WriteConditions): Promise<ImageResult> {
    this.calls.push({ op: "setImage", target, args: [container, image], conditions });
    return Promise.resolve({ ...this.#result(conditions), container, image, previousImage: "app:1.2" });
  }
  undo(target: DeploymentTarget, toRevision: number | undefined, conditions: WriteConditions): Promise<UndoResult> {
    this.calls.push({ op: "undo", target, args: [toRevision], conditions });
    return Promise.resolve({
      ...this.#result(conditions),
      fromRevision: 3,
      toRevision: toRevision ?? 2,
      images: [{ container: "web", image: "app:1.2" }],
    });
  }
}

function harness(options: { operations?: ReadonlySet<Operation>; imageAllowed?: (image: string) => ImageVerdict } = {}) {
  const now = Date.now();
  const cache = new MemoryCache({ status: { synced: true, lastContactAt: now } });
  cache.put({ namespace: "prod", name: "web", replicas: 3, readyReplicas: 3, availableReplicas: 3, resourceVersion: "100" });
  const writer = new RecordingWriter();
  const changes: Record<string, unknown>[] = [];
  const events = {
    scaled: () => {},
    changed: (change: Record<string, unknown>) => void changes.push(change),
    settle: () => Promise.resolve(),
  };
  const view = createCacheView({ cache, staleAfterMs: 120_000, now: () => now });
  const routes = createApiRoutes({
    view,
    scaler: {} as Scaler,
    writer,
    operations: options.operations ?? ALL,
    maxReplicas: 1000,
    // deno-lint-ignore no-explicit-any
    events: events as any,
    imageAllowed: options.imageAllowed ? (_client, _ns, image) => options.imageAllowed!(image) : undefined,
  });
  const app = createApp({ router: createRouter(routes), log: createLogger({ sink: () => {} }), accessLog: false });
  const send = async (method: string, path: string, init: { body?: string; headers?: Record<string, string> } = {}) => {
    const headers = init.body === undefined ? init.headers : { "content-type": "application/json", ...init.headers };
    const body = init.body === undefined ? undefined : new TextEncoder().encode(init.body);
    const response = await app(new Request(`https://localhost${path}`, { method, body, headers }), CONTEXT);
    const text = await response.text();
    return { status: response.status, headers: response.headers, json: text ? JSON.parse(text) : undefined };
  };
  return { cache, writer, changes, send, routes };
}

Deno.test("an operation this server does not offer answers 501 naming the setting, to everyone, before any check", async () => {
  const { send, writer, routes } = harness({ operations: new Set<Operation>(["scale"]) });
  for (
    const [method, path] of [
      ["POST", `${WEB}/restart`],
      ["POST", `${WEB}/restart?wait=rollout`],
      ["POST", `${WEB}/pause`],
      ["POST", `${WEB}/resume?wait=rollout`],
      ["PUT", `${WEB}/containers/web/image`],
      ["POST", `${WEB}/undo`],
      ["POST", "/api/v1/namespaces/NOT_VALID/deployments/web/undo?bogus=1"],
    ]
  ) {
    const r = await send(method, path);
    assert.equal(r.status, 501, `${method} ${path}`);
    assert.match(
      r.json.detail,
      /operation is not enabled on this replica-api \(OPERATIONS=scale\); enable it with the chart value operations: \[scale, /,
    );
  }
  assert.equal(writer.calls.length, 0);
  // Not offered means no permission to check: the guard would otherwise answer 403 first, blaming the identity.
  assert.ok(routes.filter((r) => r.name.startsWith("restart_")).every((r) => r.permission === undefined));
  assert.equal(routes.find((r) => r.name === "put_replicas")!.permission, "scale");
});

Deno.test("a read-only server (OPERATIONS=none) refuses a scale with 501 too", async () => {
  const { send } = harness({ operations: new Set<Operation>() });
  const r = await send("PUT", `${WEB}/replicas`, { body: `{"replicas": 2}` });
  assert.equal(r.status, 501);
  assert.match(r.json.detail, /the scale operation is not enabled on this replica-api \(OPERATIONS=none\)/);
});

Deno.test("each offered operation's routes carry its own permission; pause and resume share pause", () => {
  const { routes } = harness();
  const permission = (name: string) => routes.find((r) => r.name === name)?.permission;
  assert.equal(permission("restart_deployment"), "restart");
  assert.equal(permission("restart_deployment_wait_rollout"), "restart");
  assert.equal(permission("pause_deployment"), "pause");
  assert.equal(permission("resume_deployment"), "pause");
  assert.equal(permission("set_image"), "image");
  assert.equal(permission("undo_deployment_wait_rollout"), "undo");
  assert.equal(permission("get_revisions"), "read");
});

Deno.test("a restart with no body calls the writer once, answers what it did with the new ETag, and records who did it", async () => {
  const { send, writer, changes } = harness();
  const r = await send("POST", `${WEB}/restart`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("etag"), `"201"`);
  assert.deepEqual(r.json, {
    namespace: "prod",
    name: "web",
    changed: true,
    restartedAt: "2026-12-07T13:00:00Z",
    previousRestartedAt: "2026-12-01T00:00:00Z",
  });
  assert.deepEqual(writer.calls, [{
    op: "restart",
    target: { namespace: "prod", name: "web" },
    args: [],
    conditions: { ifMatch: undefined, dryRun: false },
  }]);
  assert.equal(changes.length, 1);
  assert.equal(changes[0].kind, "restart");
  assert.equal(changes[0].actor, "CN=alice (O=sre)");
  assert.equal(changes[0].uid, "uid-web");
});

Deno.test("a body on restart, pause or resume may only be {}; anything else is refused, never ignored", async () => {
  const { send, writer } = harness();
  assert.equal((await send("POST", `${WEB}/pause`, { body: "{}" })).status, 200);
  const refused = await send("POST", `${WEB}/restart`, { body: `{"replicas": 2}` });
  assert.equal(refused.status, 400);
  assert.match(refused.json.detail, /takes no body/);
  assert.equal((await send("POST", `${WEB}/resume`, { body: "[]" })).status, 400);
  assert.equal((await send("POST", `${WEB}/restart`, { body: "{}", headers: { "content-type": "text/plain" } })).status, 415);
  assert.equal(writer.calls.length, 1);
});

Deno.test("If-Match and dryRun reach the writer; a dry run answers dryRun: true, no ETag, and records no Event", async () => {
  const { send, writer, changes } = harness();
  const r = await send("POST", `${WEB}/resume?dryRun=true`, { headers: { "if-match": `"100"` } });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("etag"), null);
  assert.equal(r.json.dryRun, true);
  assert.equal(r.json.paused, false);
  assert.deepEqual(writer.calls[0].conditions, { ifMatch: ["100"], dryRun: true });
  assert.deepEqual(writer.calls[0].args, [false]);
  assert.equal(changes.length, 0);
  const bad = await send("POST", `${WEB}/restart`, { headers: { "if-match": '"unterminated' } });
  assert.equal(bad.status, 400);
  assert.match(bad.json.detail, /If-Match must be/);
});

Deno.test("nothing to change answers 200 with changed: false and records no Event; a write not yet observed answers 202", async () => {
  const { send, writer, changes } = harness();
  writer.changed = false;
  const same = await send("POST", `${WEB}/pause`);
  assert.equal(same.status, 200);
  assert.equal(same.json.changed, false);
  assert.equal(changes.length, 0);
  writer.changed = true;
  writer.observed = false;
  assert.equal((await send("POST", `${WEB}/pause`)).status, 202);
});

Deno.test("pause refuses wait=rollout (a paused Deployment does not roll out), and dryRun with a wait is refused everywhere", async () => {
  const { send, writer } = harness();
  const pause = await send("POST", `${WEB}/pause?wait=rollout`);
  assert.equal(pause.status, 400);
  assert.match(pause.json.detail, /paused Deployment does not roll out/);
  const both = await send("POST", `${WEB}/restart?wait=rollout&dryRun=true`);
  assert.equal(both.status, 400);
  assert.match(both.json.detail, /dryRun=true changes nothing/);
  assert.equal((await send("POST", `${WEB}/undo?force=true`)).status, 400);
  assert.equal((await send("POST", `${WEB}/restart?dryRun=yes`)).status, 400);
  assert.equal(writer.calls.length, 0);
});

Deno.test("set image checks the container name, the reference and the client's image patterns before it writes", async () => {
  const { send, writer, changes } = harness({
    imageAllowed: (image) =>
      image.startsWith("registry.internal/") ? { allowed: true } : { allowed: false, patterns: ["registry.internal/*"] },
  });
  const put = (container: string, body: string) => send("PUT", `${WEB}/containers/${container}/image`, { body });
  const badName = await put("Web", `{"image": "registry.internal/app:1.3"}`);
  assert.equal(badName.status, 400);
  assert.match(badName.json.detail, /container name "Web"/);
  const untagged = await put("web", `{"image": "registry.internal/app"}`);
  assert.equal(untagged.status, 400);
  assert.match(untagged.json.detail, /give a tag or a digest/);
  assert.equal((await put("web", `{"image": 7}`)).status, 400);
  assert.equal((await put("web", `{"image": "a:1", "tag": "x"}`)).status, 400);
  const outside = await put("web", `{"image": "docker.io/evil/app:1"}`);
  assert.equal(outside.status, 403);
  assert.match(
    outside.json.detail,
    /may not set image "docker.io\/evil\/app:1" in namespace "prod": the policy allows only images matching "registry\.internal\/\*"/,
  );
  assert.equal(writer.calls.length, 0);

  const ok = await put("web", `{"image": "registry.internal/app:1.3"}`);
  assert.equal(ok.status, 200);
  assert.deepEqual(ok.json, {
    namespace: "prod",
    name: "web",
    changed: true,
    container: "web",
    image: "registry.internal/app:1.3",
    previousImage: "app:1.2",
  });
  assert.deepEqual(writer.calls[0].args, ["web", "registry.internal/app:1.3"]);
  assert.equal(changes[0].kind, "image");
  assert.equal(changes[0].from, "app:1.2");
  assert.equal(changes[0].to, "registry.internal/app:1.3");
});

Deno.test("undo takes no body (the previous revision) or a revision number; anything else is a 400 that says how", async () => {
  const { send, writer } = harness();
  assert.equal((await send("POST", `${WEB}/undo`)).status, 200);
  assert.equal((await send("POST", `${WEB}/undo`, { body: "{}" })).status, 200);
  assert.equal((await send("POST", `${WEB}/undo`, { body: `{"toRevision": 5}` })).status, 200);
  assert.deepEqual(writer.calls.map((c) => c.args[0]), [undefined, undefined, 5]);
  for (const body of [`{"toRevision": 0}`, `{"toRevision": "2"}`, `{"toRevision": 1.5}`, `{"revision": 2}`]) {
    const r = await send("POST", `${WEB}/undo`, { body });
    assert.equal(r.status, 400, body);
    assert.match(r.json.detail, /toRevision/, body);
  }
});

Deno.test("an operation on a Deployment the cache does not hold is 404 without a write", async () => {
  const { send, writer } = harness();
  const r = await send("POST", "/api/v1/namespaces/prod/deployments/nope/restart");
  assert.equal(r.status, 404);
  assert.match(r.json.detail, /deployment "prod\/nope" not found/);
  assert.equal(writer.calls.length, 0);
});
