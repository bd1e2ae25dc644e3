/**
 * What the informer cache keeps for the rollout operations: the template fields of each Deployment record, and,
 * with `replicaSets: true`, a ReplicaSet reflector whose list and watch count for sync and freshness like the
 * Deployment and HPA ones.
 */
import assert from "node:assert/strict";
import { InformerCache, type InformerCacheOptions } from "../../../../src/kube/informer/informer_cache.ts";
import { createBackoff } from "../../../../src/kube/informer/backoff.ts";
import { createLogger } from "../../../../src/observability/logger.ts";
import { FakeKube, httpError } from "../../../support/fake_kube.ts";
import { ManualClock, settle } from "../../../support/manual_clock.ts";
import { FakeReplicaSets, replicaSet } from "../_fake_replica_sets.ts";

function setup(options: Partial<InformerCacheOptions> = {}) {
  const kube = new FakeKube();
  const replicaSets = new FakeReplicaSets(kube);
  const clock = new ManualClock();
  const cache = new InformerCache({
    source: replicaSets.source(),
    namespaces: [],
    watchTimeoutSeconds: 60,
    clock,
    newBackoff: () => createBackoff({ baseMs: 1000, capMs: 8000, random: () => 1 }),
    log: createLogger({ sink: () => {} }),
    ...options,
  });
  return { kube, replicaSets, clock, cache };
}

/** A Deployment as the API server serves it after a few rollouts, with the noise an informer must not keep. */
function webDeployment(kube: FakeKube) {
  const obj = kube.deployment("prod", "web", 3);
  obj.metadata.uid = "u-web";
  obj.metadata.annotations = {
    "deployment.kubernetes.io/revision": "4",
    "kubectl.kubernetes.io/last-applied-configuration": "{".padEnd(4096, " ") + "}",
  };
  obj.spec.paused = true;
  obj.spec.template = {
    metadata: { labels: { app: "web" }, annotations: { "kubectl.kubernetes.io/restartedAt": "2026-01-02T03:04:05Z", other: "x" } },
    spec: {
      containers: [{ name: "web", image: "app:1.2", ports: [{ containerPort: 80 }] }, { name: "proxy", image: "envoy:1" }],
      initContainers: [{ name: "migrate", image: "mig:7", command: ["migrate"] }],
    },
  };
  return obj;
}

Deno.test("a Deployment record carries uid, paused, revision, containers then init containers, and restartedAt", async () => {
  const { kube, cache } = setup();
  kube.put(webDeployment(kube));
  await cache.start();
  const record = cache.get("prod", "web")!;
  assert.equal(record.uid, "u-web");
  assert.equal(record.paused, true);
  assert.equal(record.revision, 4);
  assert.equal(record.restartedAt, "2026-01-02T03:04:05Z");
  assert.deepEqual(record.containers, [
    { name: "web", image: "app:1.2" },
    { name: "proxy", image: "envoy:1" },
    { name: "migrate", image: "mig:7", init: true },
  ]);
  assert.ok(Object.isFrozen(record.containers) && record.containers!.every(Object.isFrozen));

  // From a watch event too: resumed, a new image, a new revision.
  const next = structuredClone(kube.deployments.get("prod/web"));
  next.spec.paused = false;
  next.spec.template.spec.containers[0].image = "app:1.3";
  next.metadata.annotations["deployment.kubernetes.io/revision"] = "5";
  kube.put(next);
  const updated = cache.get("prod", "web")!;
  assert.equal(updated.paused, false);
  assert.equal(updated.revision, 5);
  assert.equal(updated.containers?.[0].image, "app:1.3");
  await cache.stop();
});

Deno.test("a status update reuses the record's container list instead of allocating another", async () => {
  const { kube, cache } = setup();
  kube.put(webDeployment(kube));
  await cache.start();
  const before = cache.get("prod", "web")!;
  const next = structuredClone(kube.deployments.get("prod/web"));
  next.status = { readyReplicas: 3, availableReplicas: 3 };
  kube.put(next);
  const after = cache.get("prod", "web")!;
  assert.notEqual(after, before);
  assert.equal(after.readyReplicas, 3);
  assert.equal(after.containers, before.containers, "the same frozen array");
  await cache.stop();
});

Deno.test("a Deployment without revision, template or uid has none of those fields, and containers empty", async () => {
  const { kube, cache } = setup();
  kube.put(kube.deployment("prod", "bare", 1));
  kube.put({
    ...kube.deployment("prod", "odd", 1),
    metadata: { namespace: "prod", name: "odd", annotations: { "deployment.kubernetes.io/revision": "x" } },
  });
  await cache.start();
  const bare = cache.get("prod", "bare")!;
  assert.deepEqual([bare.paused, bare.containers, "uid" in bare, "revision" in bare, "restartedAt" in bare], [
    false,
    [],
    false,
    false,
    false,
  ]);
  assert.equal(cache.get("prod", "odd")?.revision, undefined, "a revision annotation that is not a number is ignored");
  await cache.stop();
});

Deno.test("without replicaSets there is no ReplicaSet watch and revisions() is undefined", async () => {
  const { kube, cache, replicaSets } = setup();
  await cache.start();
  assert.ok(!kube.open().some((w) => w.path.includes("replicasets")));
  assert.equal(replicaSets.listCalls, 0);
  assert.equal(cache.revisions("prod", "web"), undefined);
  await cache.stop();
});

Deno.test("replicaSets: true with a source that cannot list them fails at construction, naming the option", () => {
  const kube = new FakeKube();
  assert.throws(
    () =>
      new InformerCache({
        source: { listDeployments: (ns) => kube.listDeployments(ns), listNamespaces: () => kube.listNamespaces(), watch: kube.watch },
        namespaces: [],
        watchTimeoutSeconds: 60,
        log: createLogger({ sink: () => {} }),
        replicaSets: true,
      }),
    /replicaSets.*listReplicaSets/,
  );
});

Deno.test("with replicaSets, revisions come from the list and from watch events", async () => {
  const { kube, replicaSets, cache } = setup({ replicaSets: true });
  kube.put(webDeployment(kube));
  const owner = { name: "web", uid: "u-web" };
  replicaSets.put(replicaSet("prod", "web-a", { owner, revision: 3, containers: [{ name: "web", image: "app:1.1" }] }));
  await cache.start();
  assert.deepEqual(cache.revisions("prod", "web")?.map((r) => r.revision), [3]);
  replicaSets.put(replicaSet("prod", "web-b", { owner, revision: 4, containers: [{ name: "web", image: "app:1.2" }], replicas: 3 }));
  assert.deepEqual(cache.revisions("prod", "web")?.map((r) => [r.name, r.revision, r.containers[0].image, r.replicas]), [
    ["web-a", 3, "app:1.1", 0],
    ["web-b", 4, "app:1.2", 3],
  ]);
  replicaSets.delete("prod", "web-a");
  assert.deepEqual(cache.revisions("prod", "web")?.map((r) => r.name), ["web-b"]);
  await cache.stop();
});

Deno.test("the cache is synced only once the ReplicaSet list is, and a failed ReplicaSet watch makes it stale", async () => {
  const { kube, replicaSets, cache, clock } = setup({ replicaSets: true });
  kube.put(webDeployment(kube));
  const list = replicaSets.list.bind(replicaSets);
  const hold = Promise.withResolvers<void>();
  replicaSets.list = async (ns?: string) => {
    await hold.promise;
    return list(ns);
  };
  const started = cache.start();
  await settle();
  assert.equal(cache.status().synced, false, "Deployments listed, ReplicaSets not yet");
  hold.resolve();
  await started;
  assert.equal(cache.status().synced, true);
  const watch = kube.open().find((w) => w.path === "/apis/apps/v1/replicasets");
  assert.ok(watch, "one ReplicaSet watch over all namespaces");
  watch.close(httpError(500));
  await settle();
  assert.equal(cache.status().connected, false);
  assert.match(cache.status().error ?? "", /500/);
  await clock.advance(1000);
  assert.equal(cache.status().connected, true, "restarted by the same backoff loop");
  await cache.stop();
});

Deno.test("with listed namespaces and replicaSets, each namespace has its own ReplicaSet watch", async () => {
  const { kube, replicaSets, cache } = setup({ replicaSets: true, namespaces: ["prod", "dev"] });
  replicaSets.put(replicaSet("other", "web-a", { owner: { name: "web", uid: "u" }, revision: 1 }));
  await cache.start();
  assert.deepEqual(kube.open().map((w) => w.path).filter((p) => p.includes("replicasets")).sort(), [
    "/apis/apps/v1/namespaces/dev/replicasets",
    "/apis/apps/v1/namespaces/prod/replicasets",
  ]);
  assert.deepEqual(cache.revisions("other", "web"), [], "a namespace not served has no revisions");
  await cache.stop();
});
