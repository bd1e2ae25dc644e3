/**
 * GET .../deployments?watch=true through the whole app over a MemoryCache:
 * the SSE framing, the snapshot, live events, resuming with Last-Event-ID,
 * authorization per namespace, the slow-consumer bound, shutdown, and that
 * every way a stream ends gives its slots back.
 */
import assert from "node:assert/strict";
import { createApp } from "../../../src/http/app.ts";
import { createRouter } from "../../../src/http/router.ts";
import type { RequestContext } from "../../../src/http/types.ts";
import { createApiRoutes } from "../../../src/handlers/routes.ts";
import { createCacheView } from "../../../src/handlers/cache_view.ts";
import { defaultStreamingDeps, type StreamingDeps } from "../../../src/handlers/streaming.ts";
import { MemoryCache } from "../../../src/kube/cache/memory_cache.ts";
import type { DeploymentRecord } from "../../../src/kube/cache/deployment_record.ts";
import type { Scaler } from "../../../src/kube/writes/scaler.ts";
import { createStreamLimiter } from "../../../src/limits/stream_limiter.ts";
import { createConcurrencyLimiter } from "../../../src/limits/concurrency_limiter.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import { createAuthorizer } from "../../../src/authz/authorizer.ts";
import { parsePolicy } from "../../../src/authz/policy.ts";
import { createReloadableAuthorizer } from "../../../src/authz/reloadable_authorizer.ts";

const rec = (namespace: string, name: string, resourceVersion: string, replicas = 1): DeploymentRecord => ({
  namespace,
  name,
  replicas,
  readyReplicas: 0,
  availableReplicas: 0,
  resourceVersion,
});

interface SseEvent {
  event?: string;
  id?: string;
  data?: string;
}

/** Reads a text/event-stream incrementally, per the WHATWG parsing rules we rely on (fields, comments, blank line dispatch). */
class SseReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buffer = "";
  #decoder = new TextDecoder();
  comments: string[] = [];
  retry?: string;
  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.getReader();
  }
  /** The next event (or undefined at the end of the stream). */
  async next(timeoutMs = 2000): Promise<SseEvent | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = this.#buffer.indexOf("\n\n");
      if (end !== -1) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        const event: SseEvent = {};
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) this.comments.push(line.slice(1).trim());
          else {
            const colon = line.indexOf(":");
            const field = line.slice(0, colon);
            const value = line.slice(colon + 1).replace(/^ /, "");
            if (field === "retry") this.retry = value;
            else (event as Record<string, string>)[field] = value;
          }
        }
        if (event.data !== undefined || event.event !== undefined) return event;
        continue;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const result = await Promise.race([
        this.#reader.read(),
        new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error("no event in time")), deadline - Date.now())),
      ]);
      clearTimeout(timer);
      if (result.done) return undefined;
      this.#buffer += this.#decoder.decode(result.value, { stream: true });
    }
  }
  cancel() {
    return this.#reader.cancel();
  }
}

function harness(options: Partial<StreamingDeps> & { policy?: string; historySize?: number; maxConcurrent?: number } = {}) {
  const cache = new MemoryCache({ namespaces: ["prod", "dev"], historySize: options.historySize, listedAt: "100" });
  cache.put(rec("prod", "web", "101", 3));
  cache.put(rec("dev", "web", "102"));
  cache.put(rec("prod", "api", "103", 2));
  const shutdown = new AbortController();
  const ends: string[] = [];
  const concurrency = createConcurrencyLimiter({ max: options.maxConcurrent ?? 10 });
  const streaming = defaultStreamingDeps({
    streams: createStreamLimiter({ max: 5, maxPerClient: 3 }),
    shutdown: shutdown.signal,
    concurrency,
    metrics: { opened: () => {}, closed: (kind, reason) => ends.push(`${kind}:${reason}`), refused: () => {} },
    ...options,
  });
  const view = createCacheView({ cache, staleAfterMs: 120_000 });
  const authorizer = options.policy ? createReloadableAuthorizer(createAuthorizer(parsePolicy(options.policy, "policy.json"))) : undefined;
  const app = createApp({
    router: createRouter(createApiRoutes({ view, scaler: {} as Scaler, maxReplicas: 1000, streaming, authorizer })),
    log: createLogger({ sink: () => {} }),
    accessLog: false,
  });
  const context: RequestContext = {
    remoteAddr: "127.0.0.1:1",
    params: {},
    client: { cn: "alice", organizations: ["sre"], fingerprint256: "AA" },
  };
  const send = (path: string, headers: Record<string, string> = {}) =>
    Promise.resolve(app(new Request(`https://localhost${path}`, { headers }), context));
  const open = async (path: string, headers: Record<string, string> = {}) => {
    const response = await send(path, headers);
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
    assert.equal(response.headers.get("cache-control"), "no-store");
    return new SseReader(response.body!);
  };
  return { cache, send, open, shutdown, streaming, concurrency, ends, authorizer };
}

const settle = () => new Promise((r) => setTimeout(r, 5));

Deno.test("a watch starts with an ADDED event per Deployment, the last carrying the snapshot's id, then streams live changes", async () => {
  const h = harness();
  const sse = await h.open("/api/v1/deployments?watch=true");
  const first = [await sse.next(), await sse.next(), await sse.next()];
  assert.equal(sse.retry, "2000");
  assert.deepEqual(first.map((e) => [e?.event, e?.id, JSON.parse(e!.data!).name, JSON.parse(e!.data!).namespace]), [
    ["ADDED", undefined, "web", "dev"],
    ["ADDED", undefined, "api", "prod"],
    ["ADDED", "103", "web", "prod"],
  ]);
  h.cache.put(rec("prod", "web", "104", 5));
  h.cache.remove("dev", "web", "105");
  const modified = await sse.next();
  assert.equal(modified?.event, "MODIFIED");
  assert.equal(modified?.id, "104");
  assert.deepEqual(JSON.parse(modified!.data!), rec("prod", "web", "104", 5));
  const deleted = await sse.next();
  assert.deepEqual([deleted?.event, deleted?.id, JSON.parse(deleted!.data!).name], ["DELETED", "105", "web"]);
  assert.equal(h.streaming.streams.active, 1);
  assert.equal(h.concurrency.active, 1, "an open stream holds a request slot");
  await sse.cancel();
  assert.equal(h.streaming.streams.active, 0);
  assert.equal(h.concurrency.active, 0);
  assert.deepEqual(h.ends, ["watch:client_closed"]);
});

Deno.test("a namespace's watch sees only that namespace", async () => {
  const h = harness();
  const sse = await h.open("/api/v1/namespaces/dev/deployments?watch=true");
  const snapshot = await sse.next();
  assert.deepEqual([snapshot?.event, snapshot?.id, JSON.parse(snapshot!.data!).namespace], ["ADDED", "103", "dev"]);
  h.cache.put(rec("prod", "web", "104", 5));
  h.cache.put(rec("dev", "web", "105", 2));
  const live = await sse.next();
  assert.deepEqual([live?.id, JSON.parse(live!.data!).namespace], ["105", "dev"]);
  await sse.cancel();
});

Deno.test("a watch across namespaces shows only what the client may read", async () => {
  const policy = JSON.stringify({ rules: [{ subjects: [{ cn: "alice" }], permissions: { read: ["dev"] } }] });
  const h = harness({ policy });
  const sse = await h.open("/api/v1/deployments?watch=true");
  assert.equal(JSON.parse((await sse.next())!.data!).namespace, "dev");
  h.cache.put(rec("prod", "web", "104", 5));
  h.cache.put(rec("dev", "db", "105"));
  const live = await sse.next();
  assert.deepEqual([live?.event, live?.id, JSON.parse(live!.data!).name], ["ADDED", "105", "db"]);
  await sse.cancel();
});

Deno.test("Last-Event-ID resumes after that event without a snapshot; an id older than the history answers 410", async () => {
  const h = harness({ historySize: 3 });
  h.cache.put(rec("prod", "web", "104", 4));
  h.cache.put(rec("prod", "web", "105", 5));
  const sse = await h.open("/api/v1/deployments?watch=true", { "last-event-id": "103" });
  const replayed = [await sse.next(), await sse.next()];
  assert.deepEqual(replayed.map((e) => [e?.event, e?.id]), [["MODIFIED", "104"], ["MODIFIED", "105"]]);
  h.cache.put(rec("dev", "web", "106", 6));
  assert.equal((await sse.next())?.id, "106");
  await sse.cancel();

  // History of 3: 104, 105, 106 are kept, so 103 can still be resumed from; after one more change it cannot.
  h.cache.put(rec("dev", "web", "107", 7));
  const gone = await h.send("/api/v1/deployments?watch=true", { "last-event-id": "103" });
  assert.equal(gone.status, 410);
  assert.equal(gone.headers.get("content-type"), "application/problem+json");
  assert.match((await gone.json()).detail, /list again/);
  // An id from before the last list is gone too; an id ahead of this replica (another replica's) just waits for newer events.
  assert.equal((await h.send("/api/v1/deployments?watch=true", { "last-event-id": "50" })).status, 410);
  const ahead = await h.open("/api/v1/deployments?watch=true", { "last-event-id": "200" });
  h.cache.put(rec("dev", "web", "150"));
  h.cache.put(rec("dev", "web", "201"));
  assert.equal((await ahead.next())?.id, "201");
  await ahead.cancel();
  assert.equal(h.streaming.streams.active, 0);
});

Deno.test("a list names the position it shows (X-Resource-Version), and a watch from there gets exactly the later changes", async () => {
  const h = harness();
  for (const path of ["/api/v1/deployments", "/api/v1/deployments?detail=true", "/api/v1/namespaces/dev/deployments"]) {
    const list = await h.send(path);
    assert.equal(list.status, 200, path);
    assert.equal(list.headers.get("x-resource-version"), "103", path);
    await list.body?.cancel();
  }
  // Another namespace moves the position on while the cached dev list stays the same body: the header follows the feed.
  h.cache.put(rec("prod", "web", "104", 4));
  const devList = await h.send("/api/v1/namespaces/dev/deployments");
  assert.equal(devList.headers.get("x-resource-version"), "104");
  assert.equal((await devList.json()).items.length, 1);
  const all = await h.send("/api/v1/deployments");
  const at = all.headers.get("x-resource-version")!;
  assert.deepEqual((await all.json()).items.map((d: DeploymentRecord) => d.resourceVersion).sort(), ["102", "103", "104"]);
  h.cache.put(rec("dev", "web", "105", 5));
  const sse = await h.open("/api/v1/deployments?watch=true", { "last-event-id": at });
  // No snapshot and no replay of what the list already showed: the first event is the change after it.
  const first = await sse.next();
  assert.deepEqual([first?.event, first?.id, JSON.parse(first!.data!).replicas], ["MODIFIED", "105", 5]);
  await sse.cancel();
  // A policy that hides namespaces still gets the position with its filtered list.
  const policy = JSON.stringify({ rules: [{ subjects: [{ cn: "alice" }], permissions: { read: ["dev"] } }] });
  const filtered = await harness({ policy }).send("/api/v1/deployments");
  assert.equal(filtered.headers.get("x-resource-version"), "103");
  assert.equal((await filtered.json()).items.length, 1);
});

Deno.test("a malformed Last-Event-ID or watch value answers 400", async () => {
  const h = harness();
  for (
    const [path, headers] of [
      ["/api/v1/deployments?watch=true", { "last-event-id": "abc" }],
      ["/api/v1/deployments?watch=yes", {}],
      ["/api/v1/deployments?watch=true&resourceVersion=5", {}],
      ["/api/v1/namespaces/dev/deployments", { "last-event-id": "x1" }],
    ] as const
  ) {
    const response = await h.send(path, headers);
    assert.equal(response.status, 400, path);
    await response.body?.cancel();
  }
  assert.equal(h.streaming.streams.active, 0);
});

Deno.test("a slow consumer gets a final ERROR event with a problem+json body instead of an unbounded backlog, then the close", async () => {
  const h = harness({ bufferBytes: 2_000 });
  const response = await h.send("/api/v1/deployments?watch=true");
  // Nobody reads: events pile up in the stream's buffer until the bound.
  for (let i = 0; i < 100; i++) h.cache.put(rec("prod", "web", String(200 + i), i));
  assert.equal(h.streaming.streams.active, 1, "still open until the final event is read");
  const sse = new SseReader(response.body!);
  const events: SseEvent[] = [];
  for (let e = await sse.next(); e; e = await sse.next()) events.push(e);
  const last = events.at(-1)!;
  assert.equal(last.event, "ERROR");
  const problem = JSON.parse(last.data!);
  assert.equal(problem.status, 503);
  assert.match(problem.detail, /slow consumer: more than 2000 bytes/);
  assert.ok(events.length < 10, `the backlog was dropped, not sent (${events.length} events)`);
  assert.equal(h.streaming.streams.active, 0);
  assert.deepEqual(h.ends, ["watch:slow_consumer"]);
});

Deno.test("a consumer that does not even read its final event is cut off after the grace period", async () => {
  const h = harness({ bufferBytes: 500, drainGraceMs: 50 });
  const response = await h.send("/api/v1/deployments?watch=true");
  for (let i = 0; i < 20; i++) h.cache.put(rec("prod", "web", String(200 + i), i));
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(h.streaming.streams.active, 0);
  assert.equal(h.concurrency.active, 0);
  await assert.rejects(response.body!.getReader().read(), /did not read its final event/);
});

Deno.test("on shutdown every stream gets a final ERROR event and closes; new watches are refused", async () => {
  const h = harness();
  const sse = await h.open("/api/v1/namespaces/dev/deployments?watch=true");
  await sse.next();
  h.shutdown.abort();
  const last = await sse.next();
  assert.equal(last?.event, "ERROR");
  assert.match(JSON.parse(last!.data!).detail, /shutting down/);
  assert.equal(await sse.next(), undefined, "the stream ends after the final event");
  assert.equal(h.streaming.streams.active, 0);
  assert.equal((await h.send("/api/v1/deployments?watch=true")).status, 503);
});

Deno.test("heartbeats are comment lines", async () => {
  const h = harness({ heartbeatMs: 20 });
  const sse = await h.open("/api/v1/namespaces/dev/deployments?watch=true");
  await sse.next();
  await new Promise((r) => setTimeout(r, 50));
  h.cache.put(rec("dev", "web", "104"));
  await sse.next();
  assert.ok(sse.comments.includes("heartbeat"), JSON.stringify(sse.comments));
  await sse.cancel();
});

Deno.test("streams count against MAX_STREAMS_PER_CLIENT (429) and the request concurrency cap (503)", async () => {
  const h = harness({ maxConcurrent: 2 });
  const open = [await h.open("/api/v1/deployments?watch=true"), await h.open("/api/v1/deployments?watch=true")];
  // Each open stream holds a request slot (this app has no guard, so the request itself holds none): the third finds none.
  const refused = await h.send("/api/v1/deployments?watch=true");
  assert.equal(refused.status, 503);
  await refused.body?.cancel();
  await Promise.all(open.map((s) => s.cancel()));
  await settle();
  const h2 = harness();
  const three = [
    await h2.open("/api/v1/deployments?watch=true"),
    await h2.open("/api/v1/deployments?watch=true"),
    await h2.open("/api/v1/deployments?watch=true"),
  ];
  const fourth = await h2.send("/api/v1/deployments?watch=true");
  assert.equal(fourth.status, 429);
  assert.match((await fourth.json()).detail, /MAX_STREAMS_PER_CLIENT/);
  await Promise.all(three.map((s) => s.cancel()));
  assert.equal(h2.streaming.streams.active, 0);
});

Deno.test("a plain list with watch=false is still a list", async () => {
  const h = harness();
  const response = await h.send("/api/v1/deployments?watch=false");
  assert.equal(response.status, 200);
  assert.equal((await response.json()).items.length, 3);
});

Deno.test("a reloaded policy that takes away read ends an open watch with a final 403 ERROR event; one that keeps it does not", async () => {
  const readBoth = `{"rules": [{"subjects": [{"cn": "alice"}], "permissions": {"read": ["prod", "dev"]}}]}`;
  const h = harness({ policy: readBoth });
  const scoped = await h.open("/api/v1/namespaces/prod/deployments?watch=true");
  const all = await h.open("/api/v1/deployments?watch=true");
  for (let i = 0; i < 2; i++) await scoped.next();
  for (let i = 0; i < 3; i++) await all.next();

  // Still readable: nothing ends. Only dev is left, so the all-namespaces stream stops showing prod's events.
  h.authorizer!.replace(
    createAuthorizer(parsePolicy(`{"rules": [{"subjects": [{"cn": "alice"}], "permissions": {"read": ["dev"]}}]}`, "p2")),
  );
  const final = await scoped.next();
  assert.equal(final?.event, "ERROR");
  const problem = JSON.parse(final!.data!);
  assert.equal(problem.status, 403);
  assert.match(problem.detail, /no longer lets CN=alice read in namespace "prod"/);
  assert.equal(await scoped.next(), undefined, "the stream is closed after its final event");

  h.cache.put(rec("prod", "web", "200", 9));
  h.cache.put(rec("dev", "web", "201", 4));
  const next = await all.next();
  assert.deepEqual([next?.event, JSON.parse(next!.data!).namespace], ["MODIFIED", "dev"], "prod's change is no longer shown");

  h.authorizer!.replace(createAuthorizer(parsePolicy(`{"rules": []}`, "p3")));
  const last = await all.next();
  assert.equal(last?.event, "ERROR");
  assert.equal(JSON.parse(last!.data!).status, 403);
  await settle();
  assert.deepEqual(h.ends.sort(), ["watch:forbidden", "watch:forbidden"]);
});

Deno.test("with detail=true the snapshot and the live events carry the detail fields and the rollout as of each event", async () => {
  const h = harness();
  const sse = await h.open("/api/v1/namespaces/dev/deployments?watch=true&detail=true");
  const snapshot = JSON.parse((await sse.next())!.data!);
  assert.deepEqual(snapshot, { ...rec("dev", "web", "102"), paused: false, containers: [] }, "no rollout is known for a hand-put record");
  const status = {
    generation: 2,
    observedGeneration: 1,
    desiredReplicas: 2,
    replicas: 1,
    updatedReplicas: 0,
    readyReplicas: 0,
    availableReplicas: 0,
    conditions: [],
  };
  h.cache.put({ ...rec("dev", "web", "104", 2), paused: true, revision: 2, containers: [{ name: "c", image: "i:1" }] }, status);
  const live = await sse.next();
  assert.equal(live?.event, "MODIFIED");
  const body = JSON.parse(live!.data!);
  assert.equal(body.paused, true);
  assert.equal(body.revision, 2);
  assert.deepEqual(body.containers, [{ name: "c", image: "i:1" }]);
  assert.deepEqual(body.rollout, {
    complete: false,
    generation: 2,
    observedGeneration: 1,
    replicas: 1,
    updatedReplicas: 0,
    readyReplicas: 0,
    availableReplicas: 0,
    reason: "GenerationNotObserved",
    message: "waiting for the deployment spec update to be observed",
  });
  await sse.cancel();
});

Deno.test("without detail a watch's events are the plain records; detail must be true or false", async () => {
  const h = harness();
  const sse = await h.open("/api/v1/namespaces/dev/deployments?watch=true&detail=false");
  assert.equal((await sse.next())!.data, JSON.stringify(rec("dev", "web", "102")));
  await sse.cancel();
  const refused = await h.send("/api/v1/deployments?watch=true&detail=yes");
  assert.equal(refused.status, 400);
  assert.match((await refused.json()).detail, /"detail" must be "true" or "false"/);
});
