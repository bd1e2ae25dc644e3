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
import { ManualClock } from "../../../support/manual_clock.ts";

interface Driver {
  cache: DeploymentCache;
  /** Creates or replaces a Deployment; returns its new resourceVersion. */
  put(namespace: string, name: string, replicas: number): string;
  remove(namespace: string, name: string): void;
  addNamespace(namespace: string): void;
  /** Creates or replaces a HorizontalPodAutoscaler scaling the Deployment `target`. */
  putAutoscaler(namespace: string, name: string, target: string, max: number): void;
  removeAutoscaler(namespace: string, name: string): void;
  stop(): Promise<void>;
}

function autoscaler(namespace: string, name: string, target: string, max: number) {
  return {
    metadata: { namespace, name },
    spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target }, minReplicas: 1, maxReplicas: max },
  };
}

function memoryDriver(): Promise<Driver> {
  const cache = new MemoryCache();
  let rv = 100;
  return Promise.resolve({
    cache,
    put(namespace, name, replicas) {
      const resourceVersion = String(++rv);
      cache.put({ namespace, name, replicas, readyReplicas: 0, availableReplicas: 0, resourceVersion });
      return resourceVersion;
    },
    remove: (ns, name) => cache.remove(ns, name),
    addNamespace: (ns) => cache.addNamespace(ns),
    putAutoscaler: (ns, name, target, max) => cache.putAutoscaler(autoscaler(ns, name, target, max)),
    removeAutoscaler: (ns, name) => cache.removeAutoscaler(ns, name),
    stop: () => Promise.resolve(),
  });
}

async function informerDriver(): Promise<Driver> {
  const kube = new FakeKube();
  const cache = new InformerCache({
    source: kube,
    namespaces: [],
    watchTimeoutSeconds: 60,
    clock: new ManualClock(),
    log: createLogger({ sink: () => {} }),
  });
  await cache.start();
  return {
    cache,
    put(namespace, name, replicas) {
      if (!kube.namespaces.has(namespace)) kube.put({ metadata: { name: namespace } }, "namespaces");
      const existing = kube.deployments.get(`${namespace}/${name}`);
      const obj = existing ? structuredClone(existing) : kube.deployment(namespace, name, replicas);
      obj.spec.replicas = replicas;
      return kube.put(obj).metadata.resourceVersion;
    },
    remove: (ns, name) => kube.delete(ns, name),
    addNamespace: (ns) => kube.put({ metadata: { name: ns } }, "namespaces"),
    putAutoscaler: (ns, name, target, max) => kube.put(autoscaler(ns, name, target, max), "horizontalpodautoscalers"),
    removeAutoscaler: (ns, name) => kube.delete(ns, name, "horizontalpodautoscalers"),
    stop: () => cache.stop(),
  };
}

for (const [label, make] of [["MemoryCache", memoryDriver], ["InformerCache", informerDriver]] as const) {
  Deno.test(`${label} contract: get returns an immutable record with the fields the API serves`, async () => {
    const d = await make();
    const rv = d.put("ns1", "web", 3);
    const record = d.cache.get("ns1", "web");
    assert.deepEqual(record, { namespace: "ns1", name: "web", replicas: 3, readyReplicas: 0, availableReplicas: 0, resourceVersion: rv });
    assert.ok(Object.isFrozen(record));
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
}
