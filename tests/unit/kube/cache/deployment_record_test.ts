import assert from "node:assert/strict";
import { deploymentRecord, parseRevision, toRecord } from "../../../../src/kube/cache/deployment_record.ts";

const FIELDS = { namespace: "prod", name: "web", replicas: 3, readyReplicas: 2, availableReplicas: 1, resourceVersion: "7" };

Deno.test("a record's JSON is the fields served before the rollout operations, in their order, whatever else it holds", () => {
  const record = deploymentRecord({
    ...FIELDS,
    uid: "u",
    paused: true,
    revision: 4,
    containers: [{ name: "web", image: "app:1" }],
    restartedAt: "2026-01-02T03:04:05Z",
  });
  assert.equal(
    JSON.stringify(record),
    '{"namespace":"prod","name":"web","replicas":3,"readyReplicas":2,"availableReplicas":1,"resourceVersion":"7"}',
  );
  const scaled = deploymentRecord({ ...record, autoscaler: { name: "hpa", minReplicas: 1, maxReplicas: 5 } });
  assert.deepEqual(JSON.parse(JSON.stringify(scaled)), { ...FIELDS, autoscaler: { name: "hpa", minReplicas: 1, maxReplicas: 5 } });
  // A list serialises the same way (the handlers' cached list bodies).
  assert.equal(JSON.stringify({ items: [record] }), `{"items":[${JSON.stringify(FIELDS)}]}`);
});

Deno.test("a record built from fields is frozen, defaults paused and containers, and keeps absent fields absent", () => {
  const record = deploymentRecord(FIELDS);
  assert.ok(Object.isFrozen(record));
  assert.deepEqual({ ...record }, { ...FIELDS, paused: false, containers: [] });
  assert.ok(Object.isFrozen(record.containers));
  assert.throws(() => (record as { replicas: number }).replicas = 9, TypeError);
  // Spreading a record and building one again is how callers derive a changed record: nothing is lost.
  const full = deploymentRecord({ ...FIELDS, uid: "u", revision: 2, containers: [{ name: "a", image: "b", init: true }] });
  assert.deepEqual({ ...deploymentRecord({ ...full, replicas: 4 }) }, { ...full, replicas: 4 });
});

Deno.test("a hand-made container list is copied into frozen entries; a frozen one is shared", () => {
  const mutable = [{ name: "web", image: "app:1" }];
  const record = deploymentRecord({ ...FIELDS, containers: mutable });
  mutable[0].image = "changed";
  assert.equal(record.containers?.[0].image, "app:1");
  assert.equal(deploymentRecord({ ...record }).containers, record.containers);
});

Deno.test("toRecord reads the template's containers then init containers, and reuses an equal list from the previous record", () => {
  const obj = {
    metadata: {
      namespace: "prod",
      name: "web",
      resourceVersion: "9",
      uid: "u",
      annotations: { "deployment.kubernetes.io/revision": "12" },
    },
    spec: {
      replicas: 2,
      paused: true,
      template: {
        metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": "2026-01-02T03:04:05Z" } },
        spec: { containers: [{ name: "web", image: "app:1" }], initContainers: [{ name: "init", image: "i:1" }] },
      },
    },
  };
  const first = toRecord(obj)!;
  assert.deepEqual({ ...first }, {
    namespace: "prod",
    name: "web",
    replicas: 2,
    readyReplicas: 0,
    availableReplicas: 0,
    resourceVersion: "9",
    paused: true,
    containers: [{ name: "web", image: "app:1" }, { name: "init", image: "i:1", init: true }],
    uid: "u",
    revision: 12,
    restartedAt: "2026-01-02T03:04:05Z",
  });
  assert.equal(toRecord(obj, first)!.containers, first.containers);
  const changed = structuredClone(obj);
  changed.spec.template.spec.initContainers[0].image = "i:2";
  assert.notEqual(toRecord(changed, first)!.containers, first.containers, "a changed image is a new list");
  assert.equal(toRecord({ metadata: { name: "x" } }), undefined);
});

Deno.test("a revision is a positive decimal integer or nothing", () => {
  assert.deepEqual(["1", "42", "0", "-1", "1.5", "01", "", "x", undefined].map(parseRevision), [
    1,
    42,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  ]);
});
