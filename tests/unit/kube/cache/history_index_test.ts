/** The history index: which Events it keeps, in which order, how many, and what of each. */
import assert from "node:assert/strict";
import { type EventLike, HistoryIndex, trimEvent } from "../../../../src/kube/cache/history_index.ts";

let rv = 100;
function event(name: string, at: string, options: Partial<EventLike> & { deployment?: string; uid?: string } = {}): EventLike {
  const { deployment = "web", uid, ...rest } = options;
  return {
    metadata: { name, namespace: "prod", resourceVersion: String(++rv) },
    regarding: { kind: "Deployment", namespace: "prod", name: deployment, ...(uid ? { uid } : {}) },
    reportingController: "replica-api",
    reason: "Scaled",
    note: `replicas 1 → 2 by CN=alice (O=sre) via replica-api`,
    action: "Scale",
    eventTime: at,
    ...rest,
  };
}

Deno.test("history lists a Deployment's Events newest first, whatever order they arrive in", () => {
  const index = new HistoryIndex({ controller: "replica-api" });
  index.upsert(event("web.2", "2026-12-07T10:00:02.000000Z", { reason: "Restarted" }));
  index.upsert(event("web.1", "2026-12-07T10:00:01.000000Z"));
  index.upsert(event("web.3", "2026-12-07T10:00:03.000000Z", { reason: "ImageChanged" }));
  assert.deepEqual(index.history("prod", "web").map((e) => [e.time, e.reason]), [
    ["2026-12-07T10:00:03.000Z", "ImageChanged"],
    ["2026-12-07T10:00:02.000Z", "Restarted"],
    ["2026-12-07T10:00:01.000Z", "Scaled"],
  ]);
  assert.deepEqual(index.history("prod", "other"), []);
});

Deno.test("history answers time, reason, note, action and count as frozen records", () => {
  const index = new HistoryIndex({ controller: "replica-api" });
  index.upsert(event("web.1", "2026-12-07T10:00:01.123456Z"));
  const [entry] = index.history("prod", "web");
  assert.deepEqual({ ...entry }, {
    time: "2026-12-07T10:00:01.123Z",
    reason: "Scaled",
    note: "replicas 1 → 2 by CN=alice (O=sre) via replica-api",
    action: "Scale",
    count: 1,
  });
  assert.ok(Object.isFrozen(entry));
  assert.ok(Object.isFrozen(index.history("prod", "web")));
});

Deno.test("history keeps only our controller's Events about Deployments", () => {
  const index = new HistoryIndex({ controller: "replica-api" });
  index.upsert(event("web.1", "2026-12-07T10:00:01Z", { reportingController: "deployment-controller" }));
  index.upsert(event("web.2", "2026-12-07T10:00:02Z", { regarding: { kind: "ReplicaSet", namespace: "prod", name: "web" } }));
  index.upsert(event("web.3", "2026-12-07T10:00:03Z"));
  assert.deepEqual(index.history("prod", "web").map((e) => e.time), ["2026-12-07T10:00:03.000Z"]);
  assert.equal(index.size, 1);
});

Deno.test("history of a series shows its last time and count; without eventTime the deprecated timestamp serves", () => {
  const index = new HistoryIndex({ controller: "replica-api" });
  index.upsert(event("web.1", "2026-12-07T10:00:01Z", { series: { count: 4, lastObservedTime: "2026-12-07T10:05:00.000000Z" } }));
  index.upsert(event("web.2", "", { eventTime: null, deprecatedLastTimestamp: "2026-12-07T09:00:00Z", deprecatedCount: 2 }));
  assert.deepEqual(index.history("prod", "web").map((e) => [e.time, e.count]), [
    ["2026-12-07T10:05:00.000Z", 4],
    ["2026-12-07T09:00:00.000Z", 2],
  ]);
});

Deno.test("history keeps the newest N per Deployment and forgets the oldest", () => {
  const index = new HistoryIndex({ controller: "replica-api", perDeployment: 3 });
  for (let i = 1; i <= 5; i++) index.upsert(event(`web.${i}`, `2026-12-07T10:00:0${i}Z`));
  // An Event older than all kept ones is not kept either.
  index.upsert(event("web.0", "2026-12-07T09:00:00Z"));
  assert.deepEqual(index.history("prod", "web").map((e) => e.time.slice(17, 19)), ["05", "04", "03"]);
  assert.equal(index.size, 3);
});

Deno.test("history forgets a deleted Event, and an updated one is filed once with its new time", () => {
  const index = new HistoryIndex({ controller: "replica-api" });
  index.upsert(event("web.1", "2026-12-07T10:00:01Z"));
  index.upsert(event("web.2", "2026-12-07T10:00:02Z"));
  index.upsert(event("web.1", "2026-12-07T10:00:01Z", { series: { count: 2, lastObservedTime: "2026-12-07T10:00:09Z" } }));
  assert.deepEqual(index.history("prod", "web").map((e) => e.count), [2, 1]);
  index.remove("prod", "web.1");
  index.remove("prod", "web.2");
  assert.deepEqual(index.history("prod", "web"), []);
  assert.equal(index.size, 0);
});

Deno.test("history with a uid leaves out Events about an earlier Deployment of the same name", () => {
  const index = new HistoryIndex({ controller: "replica-api" });
  index.upsert(event("web.1", "2026-12-07T10:00:01Z", { uid: "old" }));
  index.upsert(event("web.2", "2026-12-07T10:00:02Z", { uid: "new" }));
  index.upsert(event("web.3", "2026-12-07T10:00:03Z"));
  assert.deepEqual(index.history("prod", "web", "new").map((e) => e.time.slice(17, 19)), ["03", "02"]);
  assert.equal(index.history("prod", "web").length, 3);
});

Deno.test("trimEvent keeps only the fields the history needs", () => {
  const full = {
    ...event("web.1", "2026-12-07T10:00:01.000000Z", { uid: "u1" }),
    metadata: { name: "web.1", namespace: "prod", resourceVersion: "7", managedFields: [{ manager: "x" }], uid: "e1" },
    reportingInstance: "pod-1",
    type: "Normal",
    regarding: { apiVersion: "apps/v1", kind: "Deployment", namespace: "prod", name: "web", uid: "u1", resourceVersion: "5" },
  };
  const trimmed = trimEvent(full);
  assert.deepEqual(Object.keys(trimmed.metadata!).sort(), ["creationTimestamp", "name", "namespace", "resourceVersion"]);
  assert.deepEqual(trimmed.regarding, { kind: "Deployment", namespace: "prod", name: "web", uid: "u1" });
  assert.equal("reportingInstance" in trimmed, false);
  assert.equal("type" in trimmed, false);
});
