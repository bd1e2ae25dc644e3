/**
 * The change feed and rollout judgement on their own, and the informer cache
 * feeding them from a fake list/watch: event types, positions, relists,
 * rollout fields and how far the cache has got (NotOlderThan).
 */
import assert from "node:assert/strict";
import { type ChangeEvent, ChangeLog } from "../../../../src/kube/cache/change_feed.ts";
import { assessRollout, toRolloutStatus } from "../../../../src/kube/cache/rollout.ts";
import { InformerCache } from "../../../../src/kube/informer/informer_cache.ts";
import { createLogger } from "../../../../src/observability/logger.ts";
import { createStreamLimiter } from "../../../../src/limits/stream_limiter.ts";
import { eventually, FakeKube, httpError } from "../../../support/fake_kube.ts";
import { ManualClock, settle } from "../../../support/manual_clock.ts";

const record = (resourceVersion: string) => ({
  namespace: "ns",
  name: "d",
  replicas: 1,
  readyReplicas: 0,
  availableReplicas: 0,
  resourceVersion,
});
const event = (position: string): ChangeEvent => ({ type: "MODIFIED", record: record(position), position });

Deno.test("the change log replays events after a position, and answers undefined once its bounded history no longer reaches back", () => {
  const log = new ChangeLog({ capacity: 3 });
  assert.equal(log.since("5"), undefined, "nothing can be resumed before the first list");
  log.relisted("10");
  for (const p of ["11", "12", "13"]) log.publish(event(p));
  assert.deepEqual(log.since("10")?.map((e) => e.position), ["11", "12", "13"]);
  assert.deepEqual(log.since("12")?.map((e) => e.position), ["13"]);
  assert.deepEqual(log.since("99"), [], "a position ahead of the feed has nothing to replay yet");
  log.publish(event("14"));
  assert.equal(log.since("10"), undefined, "11 fell out of the history");
  assert.deepEqual(log.since("11")?.map((e) => e.position), ["12", "13", "14"]);
  assert.equal(log.head, "14");
  log.relisted("20");
  assert.equal(log.since("14"), undefined, "a relist starts the history again");
  assert.deepEqual(log.since("20"), []);
  assert.equal(log.since("abc"), undefined);
});

Deno.test("the change log drops a listener that throws and keeps serving the others", () => {
  const errors: unknown[] = [];
  const log = new ChangeLog({ onListenerError: (e) => errors.push(e) });
  log.relisted("1");
  const seen: string[] = [];
  log.subscribe(() => {
    throw new Error("bad listener");
  });
  const off = log.subscribe((e) => seen.push(e.position));
  log.publish(event("2"));
  log.publish(event("3"));
  off();
  log.publish(event("4"));
  assert.deepEqual(seen, ["2", "3"]);
  assert.equal(errors.length, 1);
});

Deno.test("a rollout is complete only when the generation is observed and updated, available and ready replicas equal spec.replicas", () => {
  const base = {
    metadata: { generation: 4 },
    spec: { replicas: 3 },
    status: { observedGeneration: 4, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 },
  };
  assert.deepEqual(assessRollout(toRolloutStatus(base)), { complete: true });
  const cases: [Record<string, unknown>, string][] = [
    [{ observedGeneration: 3 }, "GenerationNotObserved"],
    [{ updatedReplicas: 2 }, "UpdatedReplicasPending"],
    [{ replicas: 4 }, "OldReplicasPending"],
    [{ availableReplicas: 2 }, "ReplicasNotAvailable"],
    [{ readyReplicas: 2 }, "ReplicasNotReady"],
  ];
  for (const [status, reason] of cases) {
    const verdict = assessRollout(toRolloutStatus({ ...base, status: { ...base.status, ...status } }));
    assert.equal(verdict.complete, false, reason);
    assert.equal(verdict.reason, reason);
    assert.ok(verdict.message);
  }
  const stuck = toRolloutStatus({
    ...base,
    status: {
      ...base.status,
      availableReplicas: 1,
      conditions: [{ type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: "timed out progressing" }],
    },
  });
  assert.deepEqual(assessRollout(stuck), {
    complete: false,
    reason: "ProgressDeadlineExceeded",
    message: "timed out progressing (1 of 3 updated replicas are available)",
  });
  // Absent fields (a Deployment the controller has not touched) are pending, not complete.
  assert.equal(assessRollout(toRolloutStatus({ metadata: { generation: 1 }, spec: { replicas: 1 } })).complete, false);
});

Deno.test("the stream limiter bounds streams per client and in total, and forgets clients without streams", () => {
  const limiter = createStreamLimiter({ max: 3, maxPerClient: 2 });
  const a1 = limiter.tryAcquire("a");
  const a2 = limiter.tryAcquire("a");
  assert.deepEqual(limiter.tryAcquire("a"), { admitted: false, reason: "per_client" });
  const b1 = limiter.tryAcquire("b");
  assert.deepEqual(limiter.tryAcquire("c"), { admitted: false, reason: "total" });
  for (const s of [a1, a2, b1]) if (s.admitted) s.release(), s.release();
  assert.equal(limiter.active, 0);
  assert.equal(limiter.tryAcquire("a").admitted, true);
});

function informer(namespaces: string[] = []) {
  const kube = new FakeKube();
  const cache = new InformerCache({
    source: kube,
    namespaces,
    watchTimeoutSeconds: 60,
    clock: new ManualClock(),
    log: createLogger({ sink: () => {} }),
  });
  return { kube, cache };
}

Deno.test("the informer cache publishes ADDED, MODIFIED and DELETED with the object's resourceVersion and keeps rollout fields", async () => {
  const { kube, cache } = informer();
  kube.put({ metadata: { name: "prod" } }, "namespaces");
  await cache.start();
  const seen: string[] = [];
  cache.changes.subscribe((e) => seen.push(`${e.type} ${e.record.name} ${e.position}`));
  const obj = kube.deployment("prod", "web", 3);
  obj.metadata.generation = 2;
  obj.status = {
    observedGeneration: 1,
    replicas: 3,
    updatedReplicas: 1,
    conditions: [{ type: "Available", status: "False", reason: "MinimumReplicasUnavailable", message: "m", lastUpdateTime: "x" }],
  };
  const added = kube.put(obj).metadata.resourceVersion;
  const modified = kube.put(structuredClone(obj)).metadata.resourceVersion;
  kube.delete("prod", "web");
  await settle();
  assert.equal(seen.length, 3);
  assert.deepEqual(seen.slice(0, 2), [`ADDED web ${added}`, `MODIFIED web ${modified}`]);
  assert.match(seen[2], /^DELETED web \d+$/);
  await cache.stop();

  const again = informer();
  again.kube.put(obj);
  await again.cache.start();
  assert.deepEqual(again.cache.rollout("prod", "web"), {
    generation: 2,
    observedGeneration: 1,
    desiredReplicas: 3,
    replicas: 3,
    updatedReplicas: 1,
    readyReplicas: 0,
    availableReplicas: 0,
    conditions: [{ type: "Available", status: "False", reason: "MinimumReplicasUnavailable", message: "m" }],
  });
  await again.cache.stop();
});

Deno.test("the informer cache reaches a resourceVersion by events and bookmarks, and a 410 relist restarts the resumable history", async () => {
  const { kube, cache } = informer();
  kube.put(kube.deployment("prod", "web", 1));
  await cache.start();
  const listedAt = cache.changes.head!;
  assert.ok(await cache.waitForResourceVersion(listedAt, 0));
  const target = String(Number(listedAt) + 2);
  const waiting = cache.waitForResourceVersion(target, 2_000);
  kube.put(kube.deployment("prod", "api", 1)); // +2 (deployment() and put() each take a version)
  assert.equal(await waiting, true);
  kube.bookmark();
  await eventually(() => assert.equal(cache.changes.head, String(Number(target) + 1)));
  assert.equal(await cache.waitForResourceVersion("999999", 20), false);
  assert.ok(cache.changes.since(listedAt), "resumable from the first list");

  // A 410: the watch closes, the cache relists, and ids from before the relist can no longer be resumed.
  kube.delete("prod", "web");
  const seen: string[] = [];
  cache.changes.subscribe((e) => seen.push(`${e.type} ${e.position}`));
  kube.open().find((w) => w.path === "/apis/apps/v1/deployments")!.close(httpError(410));
  await eventually(() => assert.ok(kube.open().some((w) => w.path === "/apis/apps/v1/deployments")));
  await settle();
  assert.equal(cache.changes.since(listedAt), undefined);
  assert.deepEqual(cache.changes.since(cache.changes.head!), []);
  await cache.stop();
  assert.deepEqual(seen, [], "the delete was seen on the watch before the relist; the relist found no difference");
});

Deno.test("with WATCH_NAMESPACES a NotOlderThan wait follows the namespace's own watch; a wait across namespaces needs every watch there", async () => {
  const { kube, cache } = informer(["prod", "dev"]);
  await cache.start();
  const prodWatch = () => kube.open().find((w) => w.path === "/apis/apps/v1/namespaces/prod/deployments")!;
  const obj = kube.put(kube.deployment("prod", "web", 1)); // seen only by the prod watch
  const version = obj.metadata.resourceVersion;
  assert.equal(await cache.waitForResourceVersion(version, 1_000, { namespace: "prod" }), true);
  assert.equal(await cache.waitForResourceVersion(version, 20, { namespace: "dev" }), false, "dev's watch has not got there");
  assert.equal(await cache.waitForResourceVersion(version, 20), false, "a list across namespaces waits for every watch");
  const both = cache.waitForResourceVersion(version, 1_000);
  for (const w of kube.open()) w.emit("BOOKMARK", { kind: "Deployment", metadata: { resourceVersion: String(Number(version) + 1) } });
  assert.equal(await both, true);
  assert.ok(prodWatch());
  await cache.stop();
});
