/**
 * One contract, two implementations: the in-memory fake used by handler tests
 * must behave like the informer-fed cache, or handler tests prove nothing.
 */
import assert from "node:assert/strict";
import type { DeploymentCache } from "../../../../src/kube/cache/cache.ts";
import { MemoryCache } from "../../../../src/kube/cache/memory_cache.ts";
import { InformerCache } from "../../../../src/kube/informer/informer_cache.ts";
import { createLogger } from "../../../../src/observability/logger.ts";
import { FakeKube } from "../../../support/fake_kube.ts";
import { FakeReplicaSets, replicaSet, type ReplicaSetSpec } from "../_fake_replica_sets.ts";
import { ManualClock } from "../../../support/manual_clock.ts";

interface Driver {
  cache: DeploymentCache;
  /** Creates or replaces a Deployment (with `uid`, default none); returns its new resourceVersion. */
  put(namespace: string, name: string, replicas: number, uid?: string): string;
  remove(namespace: string, name: string): void;
  addNamespace(namespace: string): void;
  /** Creates or replaces a HorizontalPodAutoscaler scaling the Deployment `target`. */
  putAutoscaler(namespace: string, name: string, target: string, max: number): void;
  removeAutoscaler(namespace: string, name: string): void;
  putReplicaSet(namespace: string, name: string, spec: ReplicaSetSpec): void;
  removeReplicaSet(namespace: string, name: string): void;
  stop(): Promise<void>;
}

function autoscaler(namespace: string, name: string, target: string, max: number) {
  return {
    metadata: { namespace, name },
    spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target }, minReplicas: 1, maxReplicas: max },
  };
}

function memoryDriver(): Promise<Driver> {
  const cache = new MemoryCache({ replicaSets: true });
  let rv = 100;
  return Promise.resolve({
    cache,
    put(namespace, name, replicas, uid) {
      const resourceVersion = String(++rv);
      cache.put({ namespace, name, replicas, readyReplicas: 0, availableReplicas: 0, resourceVersion, ...(uid ? { uid } : {}) });
      return resourceVersion;
    },
    remove: (ns, name) => cache.remove(ns, name),
    addNamespace: (ns) => cache.addNamespace(ns),
    putAutoscaler: (ns, name, target, max) => cache.putAutoscaler(autoscaler(ns, name, target, max)),
    removeAutoscaler: (ns, name) => cache.removeAutoscaler(ns, name),
    putReplicaSet: (ns, name, spec) => cache.putReplicaSet(replicaSet(ns, name, spec)),
    removeReplicaSet: (ns, name) => cache.removeReplicaSet(ns, name),
    stop: () => Promise.resolve(),
  });
}

async function informerDriver(): Promise<Driver> {
  const kube = new FakeKube();
  const replicaSets = new FakeReplicaSets(kube);
  const cache = new InformerCache({
    source: replicaSets.source(),
    replicaSets: true,
    namespaces: [],
    watchTimeoutSeconds: 60,
    clock: new ManualClock(),
    log: createLogger({ sink: () => {} }),
  });
  await cache.start();
  return {
    cache,
    put(namespace, name, replicas, uid) {
      if (!kube.namespaces.has(namespace)) kube.put({ metadata: { name: namespace } }, "namespaces");
      const existing = kube.deployments.get(`${namespace}/${name}`);
      const obj = existing ? structuredClone(existing) : kube.deployment(namespace, name, replicas);
      obj.spec.replicas = replicas;
      if (uid) obj.metadata.uid = uid;
      return kube.put(obj).metadata.resourceVersion;
    },
    remove: (ns, name) => kube.delete(ns, name),
    addNamespace: (ns) => kube.put({ metadata: { name: ns } }, "namespaces"),
    putAutoscaler: (ns, name, target, max) => kube.put(autoscaler(ns, name, target, max), "horizontalpodautoscalers"),
    removeAutoscaler: (ns, name) => kube.delete(ns, name, "horizontalpodautoscalers"),
    putReplicaSet: (ns, name, spec) => replicaSets.put(replicaSet(ns, name, spec)),
    removeReplicaSet: (ns, name) => replicaSets.delete(ns, name),
    stop: () => cache.stop(),
  };
}

for (const [label, make] of [["MemoryCache", memoryDriver], ["InformerCache", informerDriver]] as const) {
  Deno.test(`${label} contract: get returns an immutable record with the fields the API serves`, async () => {
    const d = await make();
    const rv = d.put("ns1", "web", 3);
    const record = d.cache.get("ns1", "web");
    const served = { namespace: "ns1", name: "web", replicas: 3, readyReplicas: 0, availableReplicas: 0, resourceVersion: rv };
    assert.deepEqual({ ...record }, { ...served, paused: false, containers: [] });
    assert.ok(Object.isFrozen(record));
    assert.ok(Object.isFrozen(record?.containers));
    // Bodies that serialise whole records (lists, GET, watch events) show the fields they always did, no more.
    assert.deepEqual(JSON.parse(JSON.stringify(record)), served);
    assert.equal(d.cache.get("ns1", "nope"), undefined);
    assert.equal(d.cache.get("nope", "web"), undefined);
    await d.stop();
  });

  Deno.test(`${label} contract: list is sorted by namespace then name, and filters by namespace`, async () => {
    const d = await make();
    d.put("b", "z", 1);
    d.put("a", "y", 1);
    d.put("b", "a", 1);
    d.put("a", "x.1", 1);
    assert.deepEqual(d.cache.list().map((r) => `${r.namespace}/${r.name}`), ["a/x.1", "a/y", "b/a", "b/z"]);
    assert.deepEqual(d.cache.list("b").map((r) => r.name), ["a", "z"]);
    assert.deepEqual(d.cache.list("none"), []);
    assert.equal(d.cache.status().deployments, 4);
    await d.stop();
  });

  Deno.test(`${label} contract: updates replace and removals disappear from get and list`, async () => {
    const d = await make();
    d.put("a", "web", 1);
    const before = d.cache.list();
    d.put("a", "web", 5);
    assert.equal(d.cache.get("a", "web")?.replicas, 5);
    assert.equal(before[0].replicas, 1, "an earlier list result is not mutated");
    d.remove("a", "web");
    assert.equal(d.cache.get("a", "web"), undefined);
    assert.deepEqual(d.cache.list("a"), []);
    assert.equal(d.cache.status().deployments, 0);
    await d.stop();
  });

  Deno.test(`${label} contract: namespaces exist without Deployments and unknown ones do not`, async () => {
    const d = await make();
    d.addNamespace("empty");
    assert.ok(d.cache.hasNamespace("empty"));
    assert.equal(d.cache.hasNamespace("ghost"), false);
    await d.stop();
  });

  Deno.test(`${label} contract: waitForVersion resolves on the version, is immediate when already seen, and times out`, async () => {
    const d = await make();
    const rv1 = d.put("a", "web", 1);
    assert.equal((await d.cache.waitForVersion("a", "web", rv1, 10))?.replicas, 1, "already seen");
    const pending = d.cache.waitForVersion("a", "web", String(Number(rv1) + 1), 1000);
    d.put("a", "web", 2);
    assert.equal((await pending)?.replicas, 2);
    assert.equal(await d.cache.waitForVersion("a", "web", "999999", 20), undefined, "times out");
    const gone = d.cache.waitForVersion("a", "web", "999999", 1000);
    d.remove("a", "web");
    assert.equal(await gone, undefined, "a deletion ends the wait");
    await d.stop();
  });

  Deno.test(`${label} contract: an autoscaler joins its Deployment's record in get and list, whichever comes first`, async () => {
    const d = await make();
    d.putAutoscaler("a", "hpa", "web", 5);
    d.put("a", "web", 2);
    d.put("a", "api", 2);
    assert.deepEqual(d.cache.get("a", "web")?.autoscaler, { name: "hpa", minReplicas: 1, maxReplicas: 5 });
    assert.ok(Object.isFrozen(d.cache.get("a", "web")));
    const before = d.cache.list("a");
    d.putAutoscaler("a", "hpa", "web", 8);
    assert.equal(d.cache.list("a").find((r) => r.name === "web")?.autoscaler?.maxReplicas, 8);
    assert.equal(before.find((r) => r.name === "web")?.autoscaler?.maxReplicas, 5, "an earlier list result is not mutated");
    assert.equal(d.cache.get("a", "api")?.autoscaler, undefined);
    d.removeAutoscaler("a", "hpa");
    assert.equal(d.cache.get("a", "web")?.autoscaler, undefined);
    await d.stop();
  });

  Deno.test(`${label} contract: revisions are a Deployment's ReplicaSets ascending, by the uid of the Deployment cached`, async () => {
    const d = await make();
    const owner = { name: "web", uid: "u-web" };
    d.put("a", "web", 1, "u-web");
    d.putReplicaSet("a", "web-c", { owner, revision: 3, containers: [{ name: "web", image: "app:3" }], changeCause: "bump", replicas: 1 });
    d.putReplicaSet("a", "web-a", { owner, revision: 1, initContainers: [{ name: "migrate", image: "mig:1" }] });
    d.putReplicaSet("a", "web-b", { owner, revision: 10 });
    // A predecessor of the same name (deleted, its ReplicaSet not yet collected), and another Deployment's.
    d.putReplicaSet("a", "web-old", { owner: { name: "web", uid: "u-gone" }, revision: 7 });
    d.putReplicaSet("a", "api-a", { owner: { name: "api", uid: "u-api" }, revision: 2 });
    const revisions = d.cache.revisions?.("a", "web");
    assert.deepEqual(revisions?.map((r) => [r.name, r.revision]), [["web-a", 1], ["web-c", 3], ["web-b", 10]]);
    assert.deepEqual({ ...revisions?.[1] }, {
      namespace: "a",
      name: "web-c",
      ownerUid: "u-web",
      ownerName: "web",
      revision: 3,
      containers: [{ name: "web", image: "app:3" }],
      changeCause: "bump",
      created: "2026-01-02T03:04:05Z",
      replicas: 1,
    });
    assert.deepEqual(revisions?.[0].containers, [{ name: "web", image: "app:1" }, { name: "migrate", image: "mig:1", init: true }]);
    assert.ok(Object.isFrozen(revisions) && Object.isFrozen(revisions?.[0]) && Object.isFrozen(revisions?.[0].containers));
    d.removeReplicaSet("a", "web-b");
    assert.deepEqual(d.cache.revisions?.("a", "web")?.map((r) => r.revision), [1, 3]);
    assert.deepEqual(d.cache.revisions?.("a", "nothing"), [], "no ReplicaSets: no revisions (but they are watched)");
    await d.stop();
  });

  Deno.test(`${label} contract: a ReplicaSet released or adopted by another Deployment moves with its controller`, async () => {
    const d = await make();
    d.put("a", "web", 1, "u-web");
    d.put("a", "api", 1, "u-api");
    d.putReplicaSet("a", "shared-1", { owner: { name: "web", uid: "u-web" }, revision: 1 });
    assert.equal(d.cache.revisions?.("a", "web")?.length, 1);
    d.putReplicaSet("a", "shared-1", { owner: { name: "api", uid: "u-api" }, revision: 4 });
    assert.deepEqual(d.cache.revisions?.("a", "web"), []);
    assert.deepEqual(d.cache.revisions?.("a", "api")?.map((r) => r.revision), [4]);
    await d.stop();
  });
}
