import assert from "node:assert/strict";
import { InformerCache } from "../../../../src/kube/informer/informer_cache.ts";
import { createBackoff } from "../../../../src/kube/informer/backoff.ts";
import { createLogger } from "../../../../src/observability/logger.ts";
import { eventually, FakeKube, httpError } from "../../../support/fake_kube.ts";
import { ManualClock, settle } from "../../../support/manual_clock.ts";

function setup(options: { namespaces?: string[] } = {}) {
  const kube = new FakeKube();
  const clock = new ManualClock();
  const lines: Record<string, unknown>[] = [];
  const events: string[] = [];
  const cache = new InformerCache({
    source: kube,
    namespaces: options.namespaces ?? [],
    watchTimeoutSeconds: 60,
    clock,
    newBackoff: () => createBackoff({ baseMs: 1000, capMs: 8000, random: () => 1 }),
    log: createLogger({ level: "debug", sink: (l) => lines.push(JSON.parse(l)) }),
    events: () => ({
      event: (t) => events.push(t),
      gone: () => events.push("gone"),
      restart: () => events.push("restart"),
      relist: () => events.push("relist"),
    }),
  });
  return { kube, clock, cache, lines, events };
}

function seed(kube: FakeKube) {
  for (const ns of ["prod", "dev", "empty"]) kube.put({ metadata: { name: ns } }, "namespaces");
  kube.put(kube.deployment("prod", "web", 3, { readyReplicas: 2, availableReplicas: 2 }));
  kube.put(kube.deployment("prod", "api", 2));
  kube.put(kube.deployment("dev", "web", 1));
}

function deploymentWatch(kube: FakeKube) {
  const w = kube.open().find((w) => w.path === "/apis/apps/v1/deployments");
  assert.ok(w, "an open Deployment watch");
  return w;
}

Deno.test("informer cache serves the initial list sorted by namespace then name once synced", async () => {
  const { kube, cache } = setup();
  seed(kube);
  assert.equal(cache.status().synced, false);
  await cache.start();
  const status = cache.status();
  assert.equal(status.synced, true);
  assert.equal(status.connected, true);
  assert.equal(status.deployments, 3);
  assert.deepEqual(cache.list().map((d) => `${d.namespace}/${d.name}`), ["dev/web", "prod/api", "prod/web"]);
  assert.deepEqual({ ...cache.get("prod", "web") }, {
    namespace: "prod",
    name: "web",
    replicas: 3,
    readyReplicas: 2,
    availableReplicas: 2,
    resourceVersion: kube.deployments.get("prod/web").metadata.resourceVersion,
    paused: false,
    containers: [],
  });
  assert.ok(Object.isFrozen(cache.get("prod", "web")), "records handed out are immutable");
  assert.equal(cache.get("prod", "missing"), undefined);
  assert.ok(cache.hasNamespace("empty"), "a namespace without Deployments exists");
  assert.equal(cache.hasNamespace("nope"), false);
  await cache.stop();
});

Deno.test("informer cache applies watch add, update and delete events", async () => {
  const { kube, cache } = setup();
  seed(kube);
  await cache.start();
  kube.put(kube.deployment("dev", "new", 5));
  assert.equal(cache.get("dev", "new")?.replicas, 5);
  const web = structuredClone(kube.deployments.get("prod/web"));
  web.spec.replicas = 7;
  kube.put(web);
  assert.equal(cache.get("prod", "web")?.replicas, 7);
  assert.equal(cache.get("prod", "web")?.resourceVersion, web.metadata.resourceVersion);
  kube.delete("prod", "api");
  assert.equal(cache.get("prod", "api"), undefined);
  assert.deepEqual(cache.list("prod").map((d) => d.name), ["web"]);
  kube.put({ metadata: { name: "later" } }, "namespaces");
  assert.ok(cache.hasNamespace("later"));
  await cache.stop();
});

Deno.test("informer watches ask for bookmarks and a server-side timeout", async () => {
  const { kube, cache } = setup();
  await cache.start();
  for (const w of kube.open()) {
    assert.equal(w.params.allowWatchBookmarks, true);
    assert.equal(w.params.timeoutSeconds, 60);
  }
  await cache.stop();
});

Deno.test("a bookmark counts as contact with the API server", async () => {
  const { kube, cache, clock } = setup();
  await cache.start();
  const first = cache.status().lastContactAt!;
  await clock.advance(30_000);
  assert.equal(cache.status().lastContactAt, first, "no contact yet");
  kube.bookmark();
  assert.equal(cache.status().lastContactAt, first + 30_000);
  await cache.stop();
});

Deno.test("a 410 Gone on the watch relists and drops Deployments deleted while disconnected", async () => {
  const { kube, cache, events } = setup();
  seed(kube);
  await cache.start();
  const lists = kube.listCalls.length;
  // Changes the informer never hears about: the watch "missed" them and its resourceVersion is too old now.
  kube.deployments.delete("prod/api");
  const web = kube.deployments.get("prod/web");
  web.spec.replicas = 9;
  web.metadata.resourceVersion = kube.nextVersion();
  deploymentWatch(kube).close(httpError(410, "Gone"));
  await settle();
  assert.equal(kube.listCalls.length, lists + 1, "relisted once");
  assert.equal(cache.get("prod", "api"), undefined, "deleted meanwhile");
  assert.equal(cache.get("prod", "web")?.replicas, 9, "changed meanwhile");
  assert.ok(events.includes("gone"));
  assert.equal(cache.status().connected, true);
  assert.equal(cache.status().restarts, 0, "410 is a relist, not a failure");
  await cache.stop();
});

Deno.test("an in-stream 410 ERROR event relists when the server closes the stream", async () => {
  const { kube, cache } = setup();
  seed(kube);
  await cache.start();
  const lists = kube.listCalls.length;
  kube.deployments.delete("dev/web");
  const w = deploymentWatch(kube);
  w.emit("ERROR", { kind: "Status", code: 410, message: "too old resource version" });
  w.close();
  await settle();
  assert.equal(kube.listCalls.length, lists + 1);
  assert.equal(cache.get("dev", "web"), undefined);
  await cache.stop();
});

Deno.test("a failed watch marks the cache disconnected and restarts with backoff", async () => {
  const { kube, cache, clock, events } = setup();
  seed(kube);
  await cache.start();
  kube.watchFailures.push(httpError(500, "Internal Server Error"));
  deploymentWatch(kube).close(httpError(503, "Service Unavailable"));
  await settle();
  let status = cache.status();
  assert.equal(status.connected, false);
  assert.match(status.error ?? "", /503/);
  assert.equal(status.restarts, 1);
  assert.equal(cache.get("prod", "web")?.replicas, 3, "reads keep the last known data");
  // Backoff: base 1000 ms (random=1 -> full ceiling), then 2000 ms for the second failure.
  await clock.advance(999);
  assert.equal(cache.status().restarts, 1, "not restarted before the backoff delay");
  await clock.advance(1);
  status = cache.status();
  assert.equal(status.restarts, 2, "the restarted watch failed again (queued 500) and was rescheduled");
  assert.match(status.error ?? "", /500/);
  await clock.advance(2000);
  status = cache.status();
  assert.equal(status.connected, true);
  assert.equal(status.error, undefined);
  assert.equal(events.filter((e) => e === "restart").length, 2);
  kube.put(kube.deployment("prod", "after", 4));
  assert.equal(cache.get("prod", "after")?.replicas, 4, "events flow again after the restart");
  await cache.stop();
});

Deno.test("a failing initial list leaves the cache unsynced and retries until it succeeds", async () => {
  const { kube, cache, clock } = setup();
  seed(kube);
  kube.listFailures.push(httpError(403, "Forbidden"));
  await cache.start();
  const status = cache.status();
  assert.equal(status.synced, false);
  assert.match(status.error ?? "", /403|Forbidden/);
  await clock.advance(1000);
  assert.equal(cache.status().synced, true);
  assert.equal(cache.status().deployments, 3);
  await cache.stop();
});

Deno.test("an error thrown before the watch starts restarts instead of escaping", async () => {
  const { kube, cache, clock } = setup();
  seed(kube);
  const realWatch = kube.watch.watch;
  let throws = 1;
  kube.watch.watch = (...args) => {
    if (throws-- > 0) return Promise.reject(new Error("No currently active cluster"));
    return realWatch(...args);
  };
  await cache.start();
  assert.equal(cache.status().connected, false);
  assert.match(cache.status().error ?? "", /No currently active cluster/);
  await clock.advance(1000);
  assert.equal(cache.status().connected, true);
  await cache.stop();
});

Deno.test("an exception while handling one event is logged and later events still apply", async () => {
  const { kube, cache, lines } = setup();
  await cache.start();
  const w = deploymentWatch(kube);
  w.emit("ADDED", {
    get metadata() {
      throw new Error("poisoned object");
    },
  });
  kube.put(kube.deployment("prod", "fine", 2));
  assert.equal(cache.get("prod", "fine")?.replicas, 2);
  assert.ok(lines.some((l) => l.level === "error" && /handler failed/.test(String(l.msg))), "the failure is logged");
  await cache.stop();
});

Deno.test("stop() during ListWatch's reconnect delay never reopens a watch", async () => {
  const { kube, cache, clock } = setup();
  await cache.start();
  // Two clean closes with no events between: ListWatch now waits 1 s (on our clock) before reconnecting.
  deploymentWatch(kube).close();
  await settle();
  deploymentWatch(kube).close();
  await settle();
  assert.equal(kube.open().filter((w) => w.path === "/apis/apps/v1/deployments").length, 0, "waiting to reconnect");
  const opened = kube.watches.length;
  await cache.stop();
  assert.ok(kube.watches.every((w) => w.closed));
  await clock.advance(60_000);
  assert.equal(kube.watches.length, opened, "no watch opened after stop");
});

Deno.test("stop() cancels a pending restart after a failure", async () => {
  const { kube, cache, clock } = setup();
  await cache.start();
  deploymentWatch(kube).close(httpError(500));
  await settle();
  const opened = kube.watches.length;
  await cache.stop();
  await clock.advance(60_000);
  assert.equal(kube.watches.length, opened, "no restart after stop");
  assert.equal(clock.pending, 0, "no timer left behind");
});

Deno.test("with listed namespaces, each is watched on its own and others are unknown", async () => {
  const { kube, cache } = setup({ namespaces: ["prod", "dev"] });
  seed(kube);
  kube.put(kube.deployment("other", "x", 1));
  await cache.start();
  assert.deepEqual(kube.open().map((w) => w.path).sort(), [
    "/apis/apps/v1/namespaces/dev/deployments",
    "/apis/apps/v1/namespaces/prod/deployments",
    "/apis/autoscaling/v2/namespaces/dev/horizontalpodautoscalers",
    "/apis/autoscaling/v2/namespaces/prod/horizontalpodautoscalers",
  ]);
  assert.ok(!kube.listCalls.includes("namespaces"), "Namespace objects are not read (a Role cannot grant it)");
  assert.equal(cache.get("other", "x"), undefined);
  assert.ok(cache.hasNamespace("prod"));
  assert.equal(cache.hasNamespace("other"), false);
  assert.equal(cache.list().length, 3);
  await cache.stop();
});

Deno.test("the cache reports the stalest watch's last contact", async () => {
  const { kube, cache, clock } = setup();
  await cache.start();
  const start = clock.now();
  await clock.advance(10_000);
  // Only the namespaces watch hears something.
  kube.put({ metadata: { name: "x" } }, "namespaces");
  assert.equal(cache.status().lastContactAt, start);
  await cache.stop();
});

Deno.test("read-your-writes: waitForVersion resolves when the watch delivers that version", async () => {
  const { kube, cache } = setup();
  seed(kube);
  await cache.start();
  const web = structuredClone(kube.deployments.get("prod/web"));
  const target = String(Number(web.metadata.resourceVersion) + 1000);
  const waiting = cache.waitForVersion("prod", "web", target, 1000);
  for (let i = 0; i < 1000; i++) kube.nextVersion();
  web.spec.replicas = 4;
  kube.put(web); // resourceVersion becomes target + 1: newer counts too
  const seen = await waiting;
  assert.equal(seen?.replicas, 4);
  await eventually(() => assert.equal(cache.get("prod", "web")?.replicas, 4));
  await cache.stop();
});

Deno.test("a watch that stays open but silent past the stall limit is abandoned and reopened", async () => {
  const { kube, cache, clock, lines } = setup();
  seed(kube);
  await cache.start();
  const first = deploymentWatch(kube);
  // Nothing arrives and the stream never closes (kube-apiserver SIGKILLed under undici-in-Deno).
  await clock.advance(60_000);
  assert.equal(cache.status().connected, true, "still trusted within the stall limit");
  assert.equal(kube.watches.filter((w) => w.path === first.path).length, 1);
  await clock.advance(60_000);
  assert.ok(first.aborted, "the silent watch was abandoned");
  assert.ok(lines.some((l) => l.msg === "watch silent for too long; abandoning it and restarting"));
  await clock.advance(2_000);
  const reopened = kube.open().filter((w) => w.path === first.path);
  assert.equal(reopened.length, 1, "a fresh watch is open");
  assert.notEqual(reopened[0], first);
  assert.equal(reopened[0].params.resourceVersion, first.params.resourceVersion, "resumes from the last resourceVersion");
  assert.equal(cache.status().connected, true);
  kube.put(kube.deployment("prod", "after-stall", 2));
  assert.equal(cache.get("prod", "after-stall")?.replicas, 2, "changes flow again");
  await cache.stop();
});

Deno.test("a watch that reports its abort late, after the watchdog replaced it, does not disturb the new watch", async () => {
  const { kube, cache, clock } = setup();
  seed(kube);
  await cache.start();
  const first = deploymentWatch(kube);
  await clock.advance(122_000);
  assert.ok(first.aborted, "the silent watch was abandoned");
  const reopened = deploymentWatch(kube);
  assert.notEqual(reopened, first);
  const before = cache.status();
  assert.equal(before.connected, true);
  // Deno's fetch watch reports the abort through done(); here it arrives after the new watch started.
  first.close(new DOMException("The signal has been aborted", "AbortError"));
  await settle();
  assert.equal(reopened.aborted, false, "the new watch is left alone");
  assert.deepEqual(cache.status(), before, "no failure, no restart, no new error");
  kube.put(kube.deployment("prod", "after", 2));
  assert.equal(cache.get("prod", "after")?.replicas, 2, "changes still flow");
  await cache.stop();
});

Deno.test("stopping the cache while a watch reports its abort neither restarts nor records an error", async () => {
  const { kube, cache, clock } = setup();
  await cache.start();
  const w = deploymentWatch(kube);
  const opened = kube.watches.length;
  await cache.stop();
  w.close(new DOMException("The signal has been aborted", "AbortError"));
  await clock.advance(60_000);
  assert.equal(kube.watches.length, opened);
  assert.equal(cache.status().error, undefined);
  assert.equal(cache.status().restarts, 0);
});

// --- HorizontalPodAutoscalers ------------------------------------------------------------------------------------

Deno.test("a Deployment an HPA scales carries the autoscaler from the initial list and from watch events", async () => {
  const { kube, cache } = setup();
  seed(kube);
  kube.put(kube.autoscaler("prod", "web-hpa", "web", 2, 10), "horizontalpodautoscalers");
  await cache.start();
  assert.deepEqual(cache.get("prod", "web")?.autoscaler, { name: "web-hpa", minReplicas: 2, maxReplicas: 10 });
  assert.equal(cache.get("prod", "api")?.autoscaler, undefined);
  assert.equal(cache.get("dev", "web")?.autoscaler, undefined, "same name in another namespace is not targeted");

  const hpa = kube.autoscalers.get("prod/web-hpa");
  hpa.spec.maxReplicas = 20;
  kube.put(hpa, "horizontalpodautoscalers");
  assert.deepEqual(cache.get("prod", "web")?.autoscaler, { name: "web-hpa", minReplicas: 2, maxReplicas: 20 });
  assert.deepEqual(cache.list("prod").find((d) => d.name === "web")?.autoscaler?.maxReplicas, 20, "lists show the change");

  // A Deployment event keeps the join: the record is rebuilt from the object, the autoscaler re-attached.
  const web = kube.deployments.get("prod/web");
  web.spec.replicas = 6;
  kube.put(web);
  assert.equal(cache.get("prod", "web")?.replicas, 6);
  assert.equal(cache.get("prod", "web")?.autoscaler?.name, "web-hpa");

  kube.delete("prod", "web-hpa", "horizontalpodautoscalers");
  assert.equal(cache.get("prod", "web")?.autoscaler, undefined);
  assert.ok(!("autoscaler" in cache.get("prod", "web")!), "no autoscaler key at all once it is gone");
  await cache.stop();
});

Deno.test("an HPA created before its Deployment, retargeted, or aimed at something else is joined correctly", async () => {
  const { kube, cache } = setup();
  seed(kube);
  await cache.start();
  kube.put(kube.autoscaler("prod", "later", "later"), "horizontalpodautoscalers");
  kube.put(kube.deployment("prod", "later", 2));
  assert.equal(cache.get("prod", "later")?.autoscaler?.name, "later", "joined when the Deployment arrives after the HPA");

  const hpa = kube.autoscalers.get("prod/later");
  hpa.spec.scaleTargetRef.name = "api";
  kube.put(hpa, "horizontalpodautoscalers");
  assert.equal(cache.get("prod", "later")?.autoscaler, undefined, "the old target is released");
  assert.equal(cache.get("prod", "api")?.autoscaler?.name, "later");

  const statefulSet = kube.autoscaler("prod", "sts", "web");
  statefulSet.spec.scaleTargetRef = { apiVersion: "apps/v1", kind: "StatefulSet", name: "web" };
  kube.put(statefulSet, "horizontalpodautoscalers");
  const otherGroup = kube.autoscaler("prod", "custom", "web");
  otherGroup.spec.scaleTargetRef.apiVersion = "example.com/v1";
  kube.put(otherGroup, "horizontalpodautoscalers");
  assert.equal(cache.get("prod", "web")?.autoscaler, undefined, "only Deployments of the apps group count");

  const beta = kube.autoscaler("prod", "old-api", "web", 1, 3);
  beta.spec.scaleTargetRef.apiVersion = "apps/v1beta2";
  delete beta.spec.minReplicas;
  kube.put(beta, "horizontalpodautoscalers");
  assert.deepEqual(cache.get("prod", "web")?.autoscaler, { name: "old-api", minReplicas: 1, maxReplicas: 3 }, "minReplicas defaults to 1");
  await cache.stop();
});

Deno.test("the cache is synced only once the HPA list is, and a failed HPA watch makes it stale like a Deployment watch", async () => {
  const { kube, cache, clock } = setup();
  seed(kube);
  const listAutoscalers = kube.listAutoscalers.bind(kube);
  const hold = Promise.withResolvers<void>();
  kube.listAutoscalers = async (ns?: string) => {
    await hold.promise;
    return listAutoscalers(ns);
  };
  const started = cache.start();
  await settle();
  assert.equal(cache.status().synced, false, "Deployments listed, autoscalers not yet");
  hold.resolve();
  await started;
  assert.equal(cache.status().synced, true);
  const hpaWatch = kube.open().find((w) => w.path === "/apis/autoscaling/v2/horizontalpodautoscalers");
  assert.ok(hpaWatch);
  hpaWatch.close(httpError(500));
  await settle();
  assert.equal(cache.status().connected, false);
  assert.match(cache.status().error ?? "", /500/);
  await clock.advance(1000);
  assert.equal(cache.status().connected, true, "restarted by the same backoff loop");
  await cache.stop();
});

Deno.test("a silent partition turns the cache stale at the heartbeat's bound, restarts the watches, and recovers", async () => {
  const kube = new FakeKube();
  const clock = new ManualClock();
  const lines: Record<string, unknown>[] = [];
  let partitioned = false;
  const pending: ((status: number) => void)[] = [];
  const cache = new InformerCache({
    source: {
      listDeployments: (ns) => kube.listDeployments(ns),
      listNamespaces: () => kube.listNamespaces(),
      watch: kube.watch,
      // Answers at once, or never while partitioned (no FIN, no RST: only the heartbeat's timeout ends it).
      heartbeat: (signal) =>
        new Promise((resolve, reject) => {
          signal.addEventListener("abort", () => reject(signal.reason), { once: true });
          if (partitioned) pending.push(resolve);
          else resolve(200);
        }),
    },
    namespaces: [],
    watchTimeoutSeconds: 60,
    clock,
    newBackoff: () => createBackoff({ baseMs: 1000, capMs: 8000, random: () => 1 }),
    log: createLogger({ level: "debug", sink: (l) => lines.push(JSON.parse(l)) }),
    heartbeat: { intervalMs: 5_000, timeoutMs: 3_000, unreachableAfterMs: 10_000 },
  });
  seed(kube);
  await cache.start();
  await settle();
  const first = deploymentWatch(kube);
  const partitionAt = clock.now();
  partitioned = true;
  // Lists fail too while partitioned (here: at once, as if their own timeout had passed).
  kube.listFailures = Array.from({ length: 20 }, () => new Error("no answer within 10000 ms"));

  await clock.advance(10_000);
  assert.equal(cache.status().connected, true, "within the bound the watch is trusted");
  await clock.advance(1);
  const stale = cache.status();
  assert.equal(stale.connected, false, `stale ${clock.now() - partitionAt} ms into the partition`);
  assert.match(stale.error ?? "", /^no answer from the Kubernetes API for 10\.0 s \(no answer within 3000 ms\)$/);
  assert.equal(first.aborted, false, "the watch is abandoned by the heartbeat's deadline, a moment later");
  await clock.advance(1_000);
  assert.ok(first.aborted, "the silent watch was abandoned");
  assert.ok(lines.some((l) => l.msg === "the Kubernetes API is unreachable; abandoning the watches"));
  await clock.advance(30_000);
  assert.equal(cache.status().connected, false, "still stale while the partition lasts (lists fail)");
  assert.ok(cache.get("prod", "web"), "reads are still served from the cache");

  // Healed: the heartbeat answers, and the waiting restarts go at once instead of after their backoff.
  partitioned = false;
  kube.listFailures = [];
  for (const resolve of pending.splice(0)) resolve(200);
  await clock.advance(5_000);
  await settle();
  const reopened = kube.open().filter((w) => w.path === first.path);
  assert.equal(reopened.length, 1, "one fresh watch");
  assert.notEqual(reopened[0], first);
  assert.equal(cache.status().connected, true);
  assert.equal(cache.status().error, undefined);
  kube.put(kube.deployment("prod", "after-partition", 2));
  assert.equal(cache.get("prod", "after-partition")?.replicas, 2, "changes flow again");
  await cache.stop();
  assert.equal(clock.pending, 0, "nothing left running");
});

Deno.test("a watch request still pending when the cache stops is aborted once it is answered, not left open", async () => {
  const kube = new FakeKube();
  seed(kube);
  const answered = Promise.withResolvers<void>();
  let aborted = false;
  let requested = 0;
  const cache = new InformerCache({
    source: {
      listDeployments: (ns) => kube.listDeployments(ns),
      listNamespaces: () => kube.listNamespaces(),
      // The API server answers the watch request only after stop(): ListWatch, stopped, holds no handle to abort.
      watch: {
        watch: async () => {
          requested++;
          await answered.promise;
          return { abort: () => aborted = true };
        },
      },
    },
    namespaces: ["prod"],
    watchTimeoutSeconds: 60,
    clock: new ManualClock(),
    log: createLogger({ level: "error", sink: () => {} }),
  });
  const started = cache.start();
  await eventually(() => assert.equal(requested, 1));
  const stopped = cache.stop();
  answered.resolve();
  await Promise.all([started, stopped]);
  await settle();
  assert.equal(aborted, true, "the late watch was aborted");
  assert.equal(cache.status().connected, false);
});
