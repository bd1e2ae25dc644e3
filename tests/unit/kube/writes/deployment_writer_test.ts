/**
 * The rollout operations against a fake API server that applies the patches (see _fake_deployment_api.ts): what
 * each sends, what it answers, what it refuses, and the guard rails it shares with a scale. How the refusals look
 * on the wire is tested in tests/unit/http/problem_test.ts.
 */
import assert from "node:assert/strict";
import { createDeploymentWriter } from "../../../../src/kube/writes/deployment_writer.ts";
import { restartTime } from "../../../../src/kube/writes/deployment_writer.ts";
import { createBackoff } from "../../../../src/kube/informer/backoff.ts";
import { MemoryCache } from "../../../../src/kube/cache/memory_cache.ts";
import { toRecord } from "../../../../src/kube/cache/deployment_record.ts";
import { KubeApiError } from "../../../../src/kube/api/kube_api_error.ts";
import { PreconditionFailedError, StateRefusedError, UnknownPartError } from "../../../../src/kube/kube_error.ts";
import { FakeDeploymentApi } from "./_fake_deployment_api.ts";
import { replicaSet } from "../_fake_replica_sets.ts";

// deno-lint-ignore no-explicit-any
type Obj = any;

const WEB = { namespace: "prod", name: "web" };
const NOW = new Date("2026-03-04T05:06:07.890Z");
const LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration";

/** The pod template of revision `n`: the web container runs app:1.n. */
function template(n: number): Obj {
  return {
    metadata: { labels: { app: "web" }, annotations: { "prometheus.io/scrape": "true" } },
    spec: {
      containers: [{ name: "web", image: `app:1.${n}`, ports: [{ containerPort: 8080 }] }, { name: "proxy", image: "envoy:1" }],
      initContainers: [{ name: "migrate", image: `mig:${n}` }],
    },
  };
}

function deploymentAt(revision: number, change: (obj: Obj) => void = () => {}): Obj {
  const obj = {
    metadata: {
      namespace: "prod",
      name: "web",
      uid: "u-web",
      resourceVersion: "100",
      annotations: {
        "deployment.kubernetes.io/revision": String(revision),
        [LAST_APPLIED]: '{"kind":"Deployment"}',
        team: "payments",
      },
    },
    spec: { replicas: 3, paused: false, template: template(revision) },
    status: { readyReplicas: 3, availableReplicas: 3 },
  };
  change(obj);
  return obj;
}

/** The ReplicaSet of revision `n`, as the controller made it (hash label, annotations copied then). */
function revisionSet(n: number, owner = { name: "web", uid: "u-web" }): Obj {
  const rs = replicaSet("prod", `web-h${n}`, { owner, revision: n, containers: template(n).spec.containers, replicas: n === 3 ? 3 : 0 });
  rs.spec.template = structuredClone(template(n));
  rs.spec.template.metadata.labels["pod-template-hash"] = `h${n}`;
  rs.metadata.annotations = {
    ...rs.metadata.annotations,
    "deployment.kubernetes.io/desired-replicas": "3",
    "deployment.kubernetes.io/max-replicas": "4",
    team: n === 1 ? "platform" : "payments",
    ...(n === 2 ? { "kubernetes.io/change-cause": "image 1.2" } : {}),
  };
  return rs;
}

interface HarnessOptions {
  deployment?: Obj;
  /** Whether writes reach the cache, as the informer's watch would deliver them (default true). */
  reflect?: boolean;
  revisions?: number[];
  replicaSets?: boolean;
  maxConflictRetries?: number;
}

function harness(options: HarnessOptions = {}) {
  const deployment = options.deployment ?? deploymentAt(3);
  const cache = new MemoryCache({ replicaSets: options.replicaSets ?? true });
  const api = new FakeDeploymentApi(deployment);
  cache.put(toRecord(deployment)!);
  api.onWritten = (obj) => {
    if (options.reflect ?? true) cache.put(toRecord(obj, cache.get("prod", "web"))!);
  };
  for (const n of options.revisions ?? [1, 2, 3]) {
    const rs = revisionSet(n);
    api.replicaSets.set(rs.metadata.name, rs);
    cache.putReplicaSet(rs);
  }
  const slept: number[] = [];
  const writer = createDeploymentWriter({
    api,
    cache,
    writeSyncTimeoutMs: 20,
    maxConflictRetries: options.maxConflictRetries,
    conflictBackoff: () => createBackoff({ baseMs: 20, capMs: 320, random: () => 1 }),
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    now: () => NOW,
  });
  return { writer, api, cache, slept };
}

const conflict = () => new KubeApiError(409, "the object has been modified", "Conflict");

Deno.test("restart sets the template's restartedAt with a strategic merge patch conditional on the resourceVersion", async () => {
  const { writer, api, cache } = harness();
  const result = await writer.restart(WEB, {});
  assert.deepEqual(api.patches, [{
    type: "strategic",
    dryRun: false,
    patch: {
      metadata: { resourceVersion: "100" },
      spec: { template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": "2026-03-04T05:06:07Z" } } } },
    },
  }]);
  assert.deepEqual(result, { changed: true, resourceVersion: "101", observed: true, uid: "u-web", restartedAt: "2026-03-04T05:06:07Z" });
  assert.equal(api.deployment.spec.template.metadata.annotations["prometheus.io/scrape"], "true", "other annotations stay");
  assert.equal(cache.get("prod", "web")?.restartedAt, "2026-03-04T05:06:07Z");
  assert.deepEqual(api.calls, ["patch strategic"], "the base came from the cache");
});

Deno.test("restart names the restart it replaces, and a second one within a second is still a later restart", async () => {
  const { writer } = harness({
    deployment: deploymentAt(3, (d) => d.spec.template.metadata.annotations["kubectl.kubernetes.io/restartedAt"] = "2026-03-04T05:06:07Z"),
  });
  const result = await writer.restart(WEB, {});
  assert.equal(result.previousRestartedAt, "2026-03-04T05:06:07Z");
  assert.equal(result.restartedAt, "2026-03-04T05:06:08Z");
  assert.equal(restartTime(NOW, "2026-01-01T00:00:00Z"), "2026-03-04T05:06:07Z");
  assert.equal(restartTime(NOW, "2026-03-04T05:06:09+00:00"), "2026-03-04T05:06:10Z");
  assert.equal(restartTime(NOW, "not a time"), "2026-03-04T05:06:07Z");
});

Deno.test("restart and undo of a paused Deployment are refused with the remedy, and nothing is sent", async () => {
  const { writer, api } = harness({ deployment: deploymentAt(3, (d) => d.spec.paused = true) });
  for (const attempt of [() => writer.restart(WEB, {}), () => writer.undo(WEB, undefined, {})]) {
    const error = await attempt().catch((e) => e);
    assert.ok(error instanceof StateRefusedError, String(error));
    assert.equal(error.refusal, "paused");
    assert.deepEqual([error.namespace, error.deployment], ["prod", "web"]);
    assert.match(error.message, /"prod\/web" is paused.*resume it first$/);
  }
  assert.equal(api.patches.length, 0);
  assert.deepEqual(
    api.calls,
    ["readDeployment", "readDeployment"],
    "the cache's paused is confirmed with the API server; undo reads it anyway",
  );
});

Deno.test("a refusal on the cache's word is checked with the API server first: a Deployment resumed meanwhile restarts", async () => {
  const { writer, api, cache } = harness({ reflect: false });
  cache.put({ ...cache.get("prod", "web")!, paused: true }); // the cache lags behind a resume
  const result = await writer.restart(WEB, {});
  assert.equal(result.changed, true);
  assert.deepEqual(api.calls, ["readDeployment", "patch strategic"]);
});

Deno.test("pause and resume set spec.paused; pausing a paused or resuming a running Deployment changes nothing", async () => {
  const { writer, api } = harness();
  const resumed = await writer.setPaused(WEB, false, {});
  assert.deepEqual(resumed, { changed: false, resourceVersion: "100", observed: true, uid: "u-web", paused: false });
  assert.equal(api.patches.length, 0, "nothing sent for a resume of a running Deployment");
  const paused = await writer.setPaused(WEB, true, {});
  assert.deepEqual(paused, { changed: true, resourceVersion: "101", observed: true, uid: "u-web", paused: true });
  assert.deepEqual(api.patches.map((p) => p.patch), [{ metadata: { resourceVersion: "100" }, spec: { paused: true } }]);
  assert.equal((await writer.setPaused(WEB, true, {})).changed, false);
  const again = await writer.setPaused(WEB, false, {});
  assert.deepEqual([again.changed, again.resourceVersion, api.deployment.spec.paused], [true, "102", false]);
});

Deno.test("'already as asked' on a lagging cache's word is checked with the API server, and the write goes ahead", async () => {
  const { writer, api } = harness({ reflect: false });
  api.touch((d) => d.spec.paused = true); // paused elsewhere; this cache has not seen it
  const result = await writer.setPaused(WEB, false, {});
  assert.equal(result.changed, true);
  assert.equal(api.deployment.spec.paused, false);
  assert.deepEqual(api.calls, ["readDeployment", "patch strategic"]);
  assert.equal(result.observed, false, "the cache never saw it (no watch here)");
});

Deno.test("set image merges one container by name, in containers or init containers, and names the image it replaced", async () => {
  const { writer, api } = harness();
  const result = await writer.setImage(WEB, "web", "app:2.0", {});
  assert.deepEqual(result, {
    changed: true,
    resourceVersion: "101",
    observed: true,
    uid: "u-web",
    container: "web",
    image: "app:2.0",
    previousImage: "app:1.3",
  });
  assert.deepEqual(api.patches[0].patch, {
    metadata: { resourceVersion: "100" },
    spec: { template: { spec: { containers: [{ name: "web", image: "app:2.0" }] } } },
  });
  assert.deepEqual(api.deployment.spec.template.spec.containers.map((c: Obj) => [c.name, c.image]), [["web", "app:2.0"], [
    "proxy",
    "envoy:1",
  ]]);
  assert.deepEqual(api.deployment.spec.template.spec.containers[0].ports, [{ containerPort: 8080 }], "the rest of the container stays");
  const init = await writer.setImage(WEB, "migrate", "mig:9", {});
  assert.equal(init.previousImage, "mig:3");
  assert.deepEqual(api.patches[1].patch.spec, { template: { spec: { initContainers: [{ name: "migrate", image: "mig:9" }] } } });
});

Deno.test("set image to the image in force changes nothing; an unknown container is refused naming the known ones", async () => {
  const { writer, api } = harness();
  const same = await writer.setImage(WEB, "proxy", "envoy:1", {});
  assert.deepEqual([same.changed, same.previousImage, same.resourceVersion], [false, "envoy:1", "100"]);
  const error = await writer.setImage(WEB, "wbe", "app:2", {}).catch((e) => e);
  assert.ok(error instanceof UnknownPartError, String(error));
  assert.equal(error.part, "container");
  assert.deepEqual(error.known, ["web", "proxy", "migrate"]);
  assert.equal(error.message, 'deployment "prod/web" has no container "wbe"; it has containers "web", "proxy"; init containers "migrate"');
  assert.equal(api.patches.length, 0);
});

Deno.test("undo restores the previous revision's template without its hash label, keeping the Deployment's own annotations", async () => {
  const { writer, api, cache } = harness();
  const result = await writer.undo(WEB, undefined, {});
  assert.deepEqual(result, {
    changed: true,
    resourceVersion: "101",
    observed: true,
    uid: "u-web",
    fromRevision: 3,
    toRevision: 2,
    images: [{ container: "web", image: "app:1.2" }, { container: "proxy", image: "envoy:1" }, { container: "migrate", image: "mig:2" }],
  });
  assert.equal(api.patches.length, 1);
  assert.equal(api.patches[0].type, "json");
  assert.deepEqual(api.patches[0].patch, [
    { op: "replace", path: "/spec/template", value: template(2) },
    {
      op: "replace",
      path: "/metadata/annotations",
      value: {
        // The Deployment's own (revision bookkeeping, last-applied) ...
        [LAST_APPLIED]: '{"kind":"Deployment"}',
        "deployment.kubernetes.io/revision": "3",
        // ... and the revision's others; its desired/max-replicas are not taken.
        team: "payments",
        "kubernetes.io/change-cause": "image 1.2",
      },
    },
    { op: "replace", path: "/metadata/resourceVersion", value: "100" },
  ]);
  assert.equal(api.deployment.spec.template.spec.containers[0].image, "app:1.2");
  assert.deepEqual(api.calls, ["readDeployment", "readReplicaSet web-h2", "patch json"]);
  assert.equal(cache.get("prod", "web")?.containers?.[0].image, "app:1.2");
});

Deno.test("undo to a given revision restores that one; 'previous' is the highest revision below the current one", async () => {
  const { writer, api } = harness({ revisions: [1, 2, 3, 5] });
  const result = await writer.undo(WEB, 1, {});
  assert.deepEqual([result.fromRevision, result.toRevision, result.images[0].image], [3, 1, "app:1.1"]);
  assert.equal(api.deployment.metadata.annotations.team, "platform", "annotations come from the revision restored");
  // Revision 5 exists (the Deployment's annotation lags, say): the one before 3 is still 2.
  const h = harness({ revisions: [1, 2, 3, 5] });
  assert.equal((await h.writer.undo(WEB, undefined, {})).toRevision, 2);
});

Deno.test("undo to the template in force changes nothing and sends nothing", async () => {
  const { writer, api } = harness();
  const result = await writer.undo(WEB, 3, {});
  assert.deepEqual(result, {
    changed: false,
    resourceVersion: "100",
    observed: true,
    uid: "u-web",
    fromRevision: 3,
    toRevision: 3,
    images: [{ container: "web", image: "app:1.3" }, { container: "proxy", image: "envoy:1" }, { container: "migrate", image: "mig:3" }],
  });
  assert.equal(api.patches.length, 0);
});

Deno.test("undo to an unknown revision is refused naming the known ones; with none before the current, nothing to undo", async () => {
  const { writer, api } = harness();
  const unknown = await writer.undo(WEB, 7, {}).catch((e) => e);
  assert.ok(unknown instanceof UnknownPartError, String(unknown));
  assert.equal(unknown.part, "revision");
  assert.deepEqual(unknown.known, ["1", "2", "3"]);
  assert.equal(unknown.message, 'deployment "prod/web" has no revision 7; its revisions are 1, 2, 3');
  const first = harness({ deployment: deploymentAt(1), revisions: [1] });
  const none = await first.writer.undo(WEB, undefined, {}).catch((e) => e);
  assert.ok(none instanceof StateRefusedError, String(none));
  assert.equal(none.refusal, "no-previous-revision");
  assert.match(none.message, /has no revision before 1 to undo to/);
  assert.deepEqual([...api.patches, ...first.api.patches], []);
});

Deno.test("undo counts only ReplicaSets the Deployment controls by uid, and re-checks the chosen one with the API server", async () => {
  // A predecessor of the same name left revision 2 behind: not a revision of this Deployment.
  const { writer, api, cache } = harness({ revisions: [1, 3] });
  const stranger = revisionSet(2, { name: "web", uid: "u-old" });
  api.replicaSets.set(stranger.metadata.name, stranger);
  cache.putReplicaSet(stranger);
  assert.equal((await writer.undo(WEB, undefined, {})).toRevision, 1);

  // The cache still shows revision 2 as ours, but the API server's ReplicaSet now belongs to someone else.
  const h = harness();
  h.api.replicaSets.get("web-h2").metadata.ownerReferences[0].uid = "u-other";
  const error = await h.writer.undo(WEB, undefined, {}).catch((e) => e);
  assert.ok(error instanceof UnknownPartError, String(error));
  assert.match(error.message, /no longer has revision 2: ReplicaSet web-h2 is not controlled by it/);
  h.api.replicaSets.delete("web-h2");
  assert.match((await h.writer.undo(WEB, 2, {}).catch((e) => e)).message, /ReplicaSet web-h2 was deleted/);
  assert.equal(h.api.patches.length, 0);
});

Deno.test("undo on a cache without ReplicaSets is a programming error, not a refusal", async () => {
  const { writer } = harness({ replicaSets: false, revisions: [] });
  await assert.rejects(
    writer.undo(WEB, undefined, {}),
    (e: Error) => !(e instanceof StateRefusedError) && /replicaSets: true/.test(e.message),
  );
});

Deno.test("every operation with an If-Match the Deployment does not match fails the precondition, naming the current version", async () => {
  const { writer, api } = harness();
  const attempts = [
    () => writer.restart(WEB, { ifMatch: ["99"] }),
    () => writer.setPaused(WEB, true, { ifMatch: ["99"] }),
    () => writer.setImage(WEB, "web", "app:9", { ifMatch: ["99"] }),
    () => writer.undo(WEB, undefined, { ifMatch: ["99"] }),
  ];
  for (const attempt of attempts) {
    const error = await attempt().catch((e) => e);
    assert.ok(error instanceof PreconditionFailedError, String(error));
    assert.equal(error.currentResourceVersion, "100");
  }
  assert.equal(api.patches.length, 0);
  assert.ok((await writer.setPaused(WEB, true, { ifMatch: ["99", "100"] })).changed, "one of the listed versions is enough");
  assert.ok((await writer.setImage(WEB, "web", "app:9", { ifMatch: "*" })).changed);
});

Deno.test("a conflict is retried on a fresh base after a growing wait; with If-Match it fails the precondition at once", async () => {
  const { writer, api, slept } = harness();
  // Another writer changes the image between our read and our patch, twice.
  let interfere = 2;
  api.beforePatch = () => {
    if (interfere-- > 0) api.touch((d) => d.spec.template.spec.containers[0].image = `app:other${interfere}`);
  };
  const result = await writer.setImage(WEB, "web", "app:2.0", {});
  assert.equal(result.previousImage, "app:other0", "the image replaced is the one the successful write was based on");
  assert.deepEqual(slept, [20, 40]);
  assert.deepEqual(api.calls, ["patch strategic", "readDeployment", "patch strategic", "readDeployment", "patch strategic"]);

  const h = harness();
  h.api.patchFailures.push(conflict());
  const error = await h.writer.restart(WEB, { ifMatch: ["100"] }).catch((e) => e);
  assert.ok(error instanceof PreconditionFailedError, String(error));
  assert.equal(error.currentResourceVersion, undefined);
  assert.deepEqual(h.slept, []);

  const stubborn = harness({ maxConflictRetries: 1 });
  stubborn.api.patchFailures.push(conflict(), conflict());
  const lost = await stubborn.writer.undo(WEB, undefined, {}).catch((e) => e);
  assert.ok(lost instanceof KubeApiError && lost.kind === "Conflict", String(lost));
});

Deno.test("a dry run sends dryRun, changes nothing, and answers the current resourceVersion, unobserved", async () => {
  const { writer, api, cache } = harness();
  const results = [
    await writer.restart(WEB, { dryRun: true }),
    await writer.setPaused(WEB, true, { dryRun: true }),
    await writer.setImage(WEB, "web", "app:2.0", { dryRun: true }),
    await writer.undo(WEB, undefined, { dryRun: true }),
  ];
  assert.deepEqual(results.map((r) => [r.changed, r.resourceVersion, r.observed]), Array(4).fill([true, "100", false]));
  assert.deepEqual(api.patches.map((p) => p.dryRun), [true, true, true, true]);
  assert.equal(api.deployment.metadata.resourceVersion, "100");
  assert.equal(cache.get("prod", "web")?.containers?.[0].image, "app:1.3");
});

Deno.test("a write the cache does not see within the sync timeout answers observed: false", async () => {
  const { writer } = harness({ reflect: false });
  const result = await writer.setImage(WEB, "web", "app:2.0", {});
  assert.deepEqual([result.changed, result.resourceVersion, result.observed], [true, "101", false]);
});

Deno.test("API server failures other than a conflict pass through as they are", async () => {
  const { writer, api } = harness();
  const invalid = new KubeApiError(422, "spec.template.spec.containers[0].image: Required value", "Invalid");
  api.patchFailures.push(invalid);
  assert.equal(await writer.setImage(WEB, "web", "", {}).catch((e) => e), invalid);
});
