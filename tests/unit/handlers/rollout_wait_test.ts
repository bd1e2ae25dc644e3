/**
 * ?wait=rollout on the replicas endpoints and NotOlderThan reads, driven
 * through the whole app over a MemoryCache: waits end on cache changes,
 * timeouts, the client leaving and shutdown, and always give their slot back.
 */
import assert from "node:assert/strict";
import { createApp } from "../../../src/http/app.ts";
import { createRouter } from "../../../src/http/router.ts";
import type { RequestContext } from "../../../src/http/types.ts";
import { createApiRoutes } from "../../../src/handlers/routes.ts";
import { createCacheView } from "../../../src/handlers/cache_view.ts";
import { defaultStreamingDeps } from "../../../src/handlers/streaming.ts";
import { MemoryCache } from "../../../src/kube/cache/memory_cache.ts";
import type { DeploymentRecord } from "../../../src/kube/cache/deployment_record.ts";
import type { RolloutStatus } from "../../../src/kube/cache/rollout.ts";
import type { Scaler } from "../../../src/kube/writes/scaler.ts";
import { createStreamLimiter } from "../../../src/limits/stream_limiter.ts";
import { createLogger } from "../../../src/observability/logger.ts";

const WEB: DeploymentRecord = {
  namespace: "prod",
  name: "web",
  replicas: 3,
  readyReplicas: 1,
  availableReplicas: 1,
  resourceVersion: "100",
};
const REPLICAS = "/api/v1/namespaces/prod/deployments/web/replicas";

/** A rollout of `desired` replicas with `done` of them updated, ready and available. */
function rollout(desired: number, done: number, extra: Partial<RolloutStatus> = {}): RolloutStatus {
  return {
    generation: 2,
    observedGeneration: 2,
    desiredReplicas: desired,
    replicas: desired,
    updatedReplicas: done,
    readyReplicas: done,
    availableReplicas: done,
    conditions: [],
    ...extra,
  };
}

function harness(options: { maxPerClient?: number; scaler?: Scaler; writeSyncTimeoutMs?: number } = {}) {
  const cache = new MemoryCache({ namespaces: ["prod"] });
  cache.put(WEB, rollout(3, 1));
  const shutdown = new AbortController();
  const closed = new AbortController();
  const streams = createStreamLimiter({ max: 10, maxPerClient: options.maxPerClient ?? 5 });
  const ends: string[] = [];
  const streaming = defaultStreamingDeps({
    streams,
    shutdown: shutdown.signal,
    writeSyncTimeoutMs: options.writeSyncTimeoutMs ?? 200,
    metrics: { opened: () => {}, closed: (kind, reason) => ends.push(`${kind}:${reason}`), refused: () => {} },
  });
  const view = createCacheView({ cache, staleAfterMs: 120_000 });
  const app = createApp({
    router: createRouter(createApiRoutes({ view, scaler: options.scaler ?? ({} as Scaler), maxReplicas: 1000, streaming })),
    log: createLogger({ sink: () => {} }),
    accessLog: false,
  });
  const context: RequestContext = {
    remoteAddr: "127.0.0.1:1",
    params: {},
    client: { cn: "alice", organizations: ["sre"], fingerprint256: "AA" },
    closed: () => closed.signal,
  };
  const send = (path: string, init?: RequestInit) => Promise.resolve(app(new Request(`https://localhost${path}`, init), context));
  return { cache, send, streams, shutdown, closed, ends };
}

async function body(response: Response, status: number) {
  const text = await response.text();
  assert.equal(response.status, status, text);
  return JSON.parse(text);
}

Deno.test("GET replicas?wait=rollout answers 200 at once when the rollout is already complete", async () => {
  const h = harness();
  h.cache.put({ ...WEB, readyReplicas: 3, availableReplicas: 3, resourceVersion: "101" }, rollout(3, 3));
  const b = await body(await h.send(`${REPLICAS}?wait=rollout&timeout=5s`), 200);
  assert.deepEqual(b.rollout, {
    complete: true,
    generation: 2,
    observedGeneration: 2,
    replicas: 3,
    updatedReplicas: 3,
    readyReplicas: 3,
    availableReplicas: 3,
  });
  assert.equal(b.replicas, 3);
  assert.equal(h.streams.active, 0);
});

Deno.test("GET replicas?wait=rollout answers 200 when a cache change completes the rollout", async () => {
  const h = harness();
  const pending = h.send(`${REPLICAS}?wait=rollout&timeout=10s`);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(h.streams.active, 1, "the wait holds a stream slot");
  h.cache.put({ ...WEB, readyReplicas: 2, resourceVersion: "101" }, rollout(3, 2));
  h.cache.put({ ...WEB, readyReplicas: 3, availableReplicas: 3, resourceVersion: "102" }, rollout(3, 3));
  const response = await pending;
  const b = await body(response, 200);
  assert.equal(b.rollout.complete, true);
  assert.equal(b.readyReplicas, 3);
  assert.equal(response.headers.get("etag"), `"102"`);
  assert.equal(h.streams.active, 0);
  assert.deepEqual(h.ends, ["wait:completed"]);
});

Deno.test("GET replicas?wait=rollout answers 202 with the counts so far and the condition's reason when the timeout runs out", async () => {
  const h = harness();
  h.cache.put(
    { ...WEB, resourceVersion: "101" },
    rollout(3, 1, {
      conditions: [
        {
          type: "Available",
          status: "False",
          reason: "MinimumReplicasUnavailable",
          message: "Deployment does not have minimum availability.",
        },
        {
          type: "Progressing",
          status: "False",
          reason: "ProgressDeadlineExceeded",
          message: `ReplicaSet "web-1" has timed out progressing.`,
        },
      ],
    }),
  );
  const started = Date.now();
  const b = await body(await h.send(`${REPLICAS}?wait=rollout&timeout=150ms`), 202);
  assert.ok(Date.now() - started >= 140);
  assert.equal(b.rollout.complete, false);
  assert.equal(b.rollout.reason, "ProgressDeadlineExceeded");
  assert.match(b.rollout.message, /timed out progressing/);
  assert.equal(b.rollout.updatedReplicas, 1);
  assert.deepEqual(h.ends, ["wait:timeout"]);
});

Deno.test("GET replicas?wait=rollout rejects a bad wait or timeout with 400", async () => {
  const h = harness();
  for (
    const query of ["wait=ready", "wait=", "timeout=5", "wait=rollout&timeout=5", "wait=rollout&timeout=11m", "wait=rollout&timeout=-1s"]
  ) {
    const response = await h.send(`${REPLICAS}?${query}`);
    assert.equal(response.status, 400, query);
    assert.equal(response.headers.get("content-type"), "application/problem+json");
    await response.body?.cancel();
  }
  assert.equal(h.streams.active, 0);
});

Deno.test("a rollout wait stops and frees its slot when the client goes away", async () => {
  const h = harness();
  const pending = h.send(`${REPLICAS}?wait=rollout&timeout=10m`);
  await new Promise((r) => setTimeout(r, 10));
  assert.equal(h.streams.active, 1);
  h.closed.abort();
  await (await pending).body?.cancel();
  assert.equal(h.streams.active, 0);
  assert.deepEqual(h.ends, ["wait:client_closed"]);
});

Deno.test("a rollout wait answers 202 with what it has when the service shuts down", async () => {
  const h = harness();
  const pending = h.send(`${REPLICAS}?wait=rollout&timeout=10m`);
  await new Promise((r) => setTimeout(r, 10));
  h.shutdown.abort();
  const b = await body(await pending, 202);
  assert.equal(b.rollout.complete, false);
  assert.equal(b.rollout.reason, "UpdatedReplicasPending");
  assert.deepEqual(h.ends, ["wait:shutdown"]);
  // New waits are refused once shutdown has begun.
  assert.equal((await h.send(`${REPLICAS}?wait=rollout`)).status, 503);
});

Deno.test("rollout waits beyond MAX_STREAMS_PER_CLIENT are answered 429", async () => {
  const h = harness({ maxPerClient: 1 });
  const first = h.send(`${REPLICAS}?wait=rollout&timeout=10m`);
  await new Promise((r) => setTimeout(r, 10));
  const second = await h.send(`${REPLICAS}?wait=rollout&timeout=10m`);
  assert.equal(second.status, 429);
  assert.match((await second.json()).detail, /MAX_STREAMS_PER_CLIENT/);
  h.closed.abort();
  await (await first).body?.cancel();
});

Deno.test("a Deployment deleted during a rollout wait answers 404", async () => {
  const h = harness();
  const pending = h.send(`${REPLICAS}?wait=rollout&timeout=10s`);
  await new Promise((r) => setTimeout(r, 10));
  h.cache.remove("prod", "web", "150");
  assert.equal((await pending).status, 404);
  assert.equal(h.streams.active, 0);
});

Deno.test("PUT replicas?wait=rollout scales, ignores the rollout state from before the write, and answers 200 once it completes", async () => {
  const calls: number[] = [];
  // deno-lint-ignore prefer-const -- the scaler below needs the harness it is part of
  let h!: ReturnType<typeof harness>;
  const scaler: Scaler = {
    scale(request) {
      calls.push(request.replicas);
      // The cache still says "complete" for the old spec; the write's own version arrives later.
      h.cache.put({ ...WEB, replicas: 3, readyReplicas: 3, availableReplicas: 3, resourceVersion: "101" }, rollout(3, 3));
      setTimeout(
        () => h.cache.put({ ...WEB, replicas: 5, resourceVersion: "110" }, rollout(5, 3, { generation: 3, observedGeneration: 2 })),
        20,
      );
      setTimeout(
        () =>
          h.cache.put(
            { ...WEB, replicas: 5, readyReplicas: 5, availableReplicas: 5, resourceVersion: "111" },
            rollout(5, 5, { generation: 3, observedGeneration: 3 }),
          ),
        40,
      );
      return Promise.resolve({ previousReplicas: 3, replicas: 5, resourceVersion: "110", observed: true });
    },
  };
  h = harness({ scaler });
  const response = await h.send(`${REPLICAS}?wait=rollout&timeout=5s`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ replicas: 5 }),
  });
  const b = await body(response, 200);
  assert.deepEqual(calls, [5]);
  assert.equal(b.previousReplicas, 3);
  assert.equal(b.replicas, 5);
  assert.equal(b.rollout.complete, true);
  assert.equal(b.rollout.generation, 3);
  assert.equal(response.headers.get("etag"), `"110"`);
});

Deno.test("PUT replicas?wait=rollout answers 202 with the write not yet observed when the timeout runs out first", async () => {
  const h = harness({
    scaler: { scale: () => Promise.resolve({ previousReplicas: 3, replicas: 5, resourceVersion: "200", observed: false }) },
  });
  h.cache.put({ ...WEB, readyReplicas: 3, availableReplicas: 3, resourceVersion: "101" }, rollout(3, 3));
  const b = await body(
    await h.send(`${REPLICAS}?wait=rollout&timeout=50ms`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ replicas: 5 }),
    }),
    202,
  );
  assert.equal(b.rollout.complete, false);
  assert.equal(b.rollout.reason, "WriteNotObserved");
});

Deno.test("PUT replicas with a bad wait is refused with 400 before anything is scaled", async () => {
  let scaled = false;
  const h = harness({ scaler: { scale: () => (scaled = true, Promise.reject(new Error("no"))) } });
  const response = await h.send(`${REPLICAS}?wait=forever`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ replicas: 5 }),
  });
  assert.equal(response.status, 400);
  await response.body?.cancel();
  assert.equal(scaled, false);
});

Deno.test("a NotOlderThan read the cache has reached is answered at once", async () => {
  const h = harness();
  const b = await body(await h.send(`${REPLICAS}?resourceVersion=100&resourceVersionMatch=NotOlderThan`), 200);
  assert.equal(b.replicas, 3);
  // The ETag of a PUT, quotes and all, is accepted as the version.
  assert.equal((await h.send(`/api/v1/namespaces/prod/deployments/web?resourceVersion=%2299%22`)).status, 200);
});

Deno.test("a NotOlderThan read waits until the cache reaches the version, then answers with the newer value", async () => {
  const h = harness({ writeSyncTimeoutMs: 2_000 });
  const pending = h.send(`${REPLICAS}?resourceVersion=120&resourceVersionMatch=NotOlderThan`);
  await new Promise((r) => setTimeout(r, 20));
  h.cache.put({ ...WEB, replicas: 7, resourceVersion: "120" });
  const response = await pending;
  assert.equal((await body(response, 200)).replicas, 7);
  assert.equal(response.headers.get("etag"), `"120"`);
  // A list waits the same way; a bookmark (no change) is enough to reach a version.
  const list = h.send(`/api/v1/namespaces/prod/deployments?resourceVersion=130&resourceVersionMatch=NotOlderThan`);
  await new Promise((r) => setTimeout(r, 20));
  h.cache.bookmark("130");
  assert.equal((await body(await list, 200)).items[0].replicas, 7);
});

Deno.test("a NotOlderThan read answers 504 with Retry-After when the cache does not reach the version within WRITE_SYNC_TIMEOUT", async () => {
  const h = harness({ writeSyncTimeoutMs: 50 });
  const response = await h.send(`${REPLICAS}?resourceVersion=999&resourceVersionMatch=NotOlderThan`);
  const b = await body(response, 504);
  assert.match(b.detail, /has not reached resourceVersion 999 within 50 ms/);
  assert.equal(response.headers.get("retry-after"), "1");
});

Deno.test("NotOlderThan parameters are validated with 400", async () => {
  const h = harness();
  for (
    const query of [
      "resourceVersion=abc",
      "resourceVersion=-1",
      "resourceVersion=012",
      "resourceVersion=W/5",
      "resourceVersion=%225",
      "resourceVersionMatch=NotOlderThan",
      "resourceVersion=5&resourceVersionMatch=Exact",
      "resourceVersion=5&resourceVersionMatch=newer",
    ]
  ) {
    for (const path of [REPLICAS, "/api/v1/deployments", "/api/v1/namespaces/prod/deployments/web"]) {
      const response = await h.send(`${path}?${query}`);
      assert.equal(response.status, 400, `${path}?${query}`);
      await response.body?.cancel();
    }
  }
});
