import assert from "node:assert/strict";
import { controllingDeployment, RevisionIndex, toReplicaSetRecord, trimReplicaSet } from "../../../../src/kube/cache/revision_index.ts";
import { replicaSet } from "../_fake_replica_sets.ts";

const owner = { name: "web", uid: "u-web" };

Deno.test("only a ReplicaSet controlled by an apps Deployment, with a revision, is a revision", () => {
  const ok = replicaSet("prod", "web-a", { owner, revision: 2 });
  assert.deepEqual(controllingDeployment(ok), owner);
  const notController = structuredClone(ok);
  notController.metadata.ownerReferences[0].controller = false;
  const otherKind = structuredClone(ok);
  otherKind.metadata.ownerReferences[0].kind = "Rollout";
  const otherGroup = structuredClone(ok);
  otherGroup.metadata.ownerReferences[0].apiVersion = "argoproj.io/v1alpha1";
  const noRevision = structuredClone(ok);
  delete noRevision.metadata.annotations["deployment.kubernetes.io/revision"];
  const index = new RevisionIndex();
  for (const [name, obj] of Object.entries({ notController, otherKind, otherGroup, noRevision })) {
    obj.metadata.name = name;
    assert.equal(toReplicaSetRecord(obj), undefined, name);
    index.upsert(obj);
  }
  assert.equal(index.size, 0);
  index.upsert(ok);
  assert.equal(index.size, 1);
});

Deno.test("a ReplicaSet that loses its revision or its controller leaves the index", () => {
  const index = new RevisionIndex();
  const obj = replicaSet("prod", "web-a", { owner, revision: 2 });
  index.upsert(obj);
  assert.equal(index.revisions("prod", "web").length, 1);
  const orphaned = structuredClone(obj);
  orphaned.metadata.ownerReferences = [];
  index.upsert(orphaned);
  assert.deepEqual(index.revisions("prod", "web"), []);
  assert.equal(index.size, 0);
  index.remove("prod", "web-a");
  index.remove("prod", "never-there");
});

Deno.test("trimming keeps what the record needs and drops the rest of the object", () => {
  const obj = replicaSet("prod", "web-a", {
    owner,
    revision: 3,
    changeCause: "kubectl set image",
    annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}", "deployment.kubernetes.io/desired-replicas": "3" },
    containers: [{ name: "web", image: "app:3" }],
    replicas: 2,
  });
  const trimmed = trimReplicaSet(obj);
  assert.deepEqual(toReplicaSetRecord(trimmed), toReplicaSetRecord(obj));
  assert.deepEqual(Object.keys(trimmed.metadata!.annotations!).sort(), ["deployment.kubernetes.io/revision", "kubernetes.io/change-cause"]);
  assert.equal(JSON.stringify(trimmed).includes("pod-template-hash"), false, "labels are not kept");
  assert.equal(JSON.stringify(trimmed).includes("blockOwnerDeletion"), false);
});
