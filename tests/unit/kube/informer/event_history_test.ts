/** The Events informer behind the history read: what it asks the API server for, when it is synced, what it keeps. */
import assert from "node:assert/strict";
import { EventHistory } from "../../../../src/kube/informer/event_history.ts";
import { createBackoff } from "../../../../src/kube/informer/backoff.ts";
import { createLogger } from "../../../../src/observability/logger.ts";
import type { ListPage, ListResult } from "../../../../src/kube/api/mod.ts";
import { FakeKube } from "../../../support/fake_kube.ts";
import { ManualClock } from "../../../support/manual_clock.ts";

function scaled(namespace: string, name: string, deployment: string, rv: string, at: string) {
  return {
    metadata: { name, namespace, resourceVersion: rv, managedFields: [{ manager: "replica-api" }] },
    regarding: { apiVersion: "apps/v1", kind: "Deployment", namespace, name: deployment },
    reportingController: "replica-api",
    reportingInstance: "pod-1",
    reason: "Scaled",
    action: "Scale",
    note: `replicas 1 → 2 by CN=alice (O=sre) via replica-api`,
    eventTime: at,
    type: "Normal",
  };
}

function setup(namespaces: string[] = []) {
  const kube = new FakeKube();
  const lists: { namespace?: string; fieldSelector: string; page?: ListPage }[] = [];
  let items: unknown[] = [];
  let listed: () => void = () => {};
  let gate: Promise<void> = Promise.resolve();
  const history = new EventHistory({
    listEvents: async (namespace, fieldSelector, page): Promise<ListResult> => {
      lists.push({ namespace, fieldSelector, page });
      await gate;
      return { metadata: { resourceVersion: "500" }, items: structuredClone(items) };
    },
    watch: kube.watch,
    controller: "replica-api",
    namespaces,
    watchTimeoutSeconds: 60,
    clock: new ManualClock(),
    newBackoff: () => createBackoff({ baseMs: 1000, capMs: 8000, random: () => 1 }),
    log: createLogger({ sink: () => {} }),
  });
  return {
    kube,
    lists,
    history,
    seed: (list: unknown[]) => items = list,
    /** Holds the next list until release() is called. */
    hold: () => gate = new Promise<void>((resolve) => listed = resolve),
    release: () => listed(),
  };
}

Deno.test("the Events informer lists and watches only our controller's Events about Deployments", async () => {
  const { kube, lists, history, seed } = setup();
  seed([scaled("prod", "web.1", "web", "401", "2026-12-07T10:00:01.000000Z")]);
  await history.start();
  const selector = "reportingController=replica-api,regarding.kind=Deployment";
  assert.deepEqual(lists.map((l) => [l.namespace, l.fieldSelector]), [[undefined, selector]]);
  const [watch] = kube.open();
  assert.equal(watch.path, "/apis/events.k8s.io/v1/events");
  assert.equal(watch.params.fieldSelector, selector, "the watch carries the selector too, or it would stream every Event");
  assert.equal(watch.params.resourceVersion, "500");
  assert.deepEqual(history.history("prod", "web").map((e) => e.reason), ["Scaled"]);
  await history.stop();
});

Deno.test("the Events informer adds watched Events to the history, newest first, and drops deleted ones", async () => {
  const { kube, history } = setup();
  await history.start();
  const [watch] = kube.open();
  watch.emit("ADDED", scaled("prod", "web.1", "web", "501", "2026-12-07T10:00:01.000000Z"));
  watch.emit("ADDED", { ...scaled("prod", "web.2", "web", "502", "2026-12-07T10:00:02.000000Z"), reason: "Restarted" });
  assert.deepEqual(history.history("prod", "web").map((e) => e.reason), ["Restarted", "Scaled"]);
  watch.emit("DELETED", scaled("prod", "web.1", "web", "503", "2026-12-07T10:00:01.000000Z"));
  assert.deepEqual(history.history("prod", "web").map((e) => e.reason), ["Restarted"]);
  await history.stop();
});

Deno.test("the Events informer is synced only once its first list has arrived", async () => {
  const { history, hold, release } = setup();
  hold();
  assert.equal(history.synced, false);
  const started = history.start();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(history.synced, false, "listing is not synced: an empty history would read as 'nobody did anything'");
  release();
  await started;
  assert.equal(history.synced, true);
  await history.stop();
});

Deno.test("the Events informer with watched namespaces lists and watches each one, and is synced when all are", async () => {
  const { kube, lists, history } = setup(["prod", "dev"]);
  await history.start();
  assert.deepEqual(lists.map((l) => l.namespace).sort(), ["dev", "prod"]);
  assert.deepEqual(kube.open().map((w) => w.path).sort(), [
    "/apis/events.k8s.io/v1/namespaces/dev/events",
    "/apis/events.k8s.io/v1/namespaces/prod/events",
  ]);
  assert.equal(history.synced, true);
  await history.stop();
});
