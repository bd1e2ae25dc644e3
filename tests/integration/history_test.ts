/**
 * [integration] GET …/history against a real kube-apiserver: the Events the service records for its writes come
 * back through its own Events informer (the chart's RBAC: events create, list and watch), newest first, with who.
 */
import assert from "node:assert/strict";
import { chartServiceAccount, createDeployment, createNamespace, uniqueName } from "./harness/cluster.ts";
import { startService, waitFor } from "./harness/service.ts";

const put = (replicas: number): RequestInit => ({
  method: "PUT",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ replicas }),
});

/** The lists made so far by the service's Kubernetes client (every informer's), from its own metrics. */
async function listRequests(probe: (path: string) => Promise<{ body: string }>): Promise<number> {
  const text = (await probe("/metrics")).body;
  return [...text.matchAll(/^replica_api_kube_requests_total\{verb="list",[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

Deno.test("[integration] history shows the service's own scales, newest first, with who made them", async (t) => {
  const ns = uniqueName("it-history");
  await createNamespace(ns);
  await createDeployment(ns, "web", 1);
  const sa = await chartServiceAccount([], ["scale"]);
  const svc = await startService({ kubeconfig: sa.kubeconfig, env: { OPERATIONS: "scale" } });
  const history = `/api/v1/namespaces/${ns}/deployments/web/history`;
  try {
    await t.step("two scales through the service appear in the history within seconds, newest first", async () => {
      await waitFor(async () => (await svc.api(history)).status === 200, 10_000, "the Events informer synced");
      assert.equal((await svc.api(`/api/v1/namespaces/${ns}/deployments/web/replicas`, put(2))).status, 200);
      assert.equal((await svc.api(`/api/v1/namespaces/${ns}/deployments/web/replicas`, put(3))).status, 200);
      const started = performance.now();
      let body: {
        namespace: string;
        name: string;
        events: { time: string; reason: string; note: string; action: string; count: number }[];
      } = { namespace: "", name: "", events: [] };
      await waitFor(
        async () => {
          const r = await svc.api(history);
          body = r.body;
          return r.status === 200 && body.events.length >= 2;
        },
        5_000,
        "both scales in the history",
      );
      console.log(`  history showed both scales ${(performance.now() - started).toFixed(0)} ms after the second PUT`);
      assert.equal(body.namespace, ns);
      assert.equal(body.name, "web");
      assert.equal(body.events.length, 2, JSON.stringify(body.events));
      const [newest, older] = body.events;
      assert.match(newest.note, /^replicas 2 → 3 by CN=alice .* via replica-api$/);
      assert.match(older.note, /^replicas 1 → 2 by CN=alice .* via replica-api$/);
      for (const e of body.events) {
        assert.equal(e.reason, "Scaled");
        assert.equal(e.action, "Scale");
        assert.equal(e.count, 1);
        assert.equal(new Date(e.time).toISOString(), e.time, "an ISO 8601 time");
      }
      assert.ok(newest.time >= older.time, "newest first");
      assert.ok(svc.logs.some((l) => l.informer === "events" && l.msg === "listed"), "the Events informer listed");
    });

    await t.step("a history read makes no request to the API server", async () => {
      const before = await listRequests(svc.probe);
      assert.ok(before > 0, "the informers' own lists are counted");
      for (let i = 0; i < 5; i++) assert.equal((await svc.api(history)).status, 200);
      assert.equal(await listRequests(svc.probe), before, "no list per read: the history comes from the informer");
    });

    await t.step("a Deployment the cache does not have is 404", async () => {
      const r = await svc.api(`/api/v1/namespaces/${ns}/deployments/ghost/history`);
      assert.equal(r.status, 404);
      assert.equal(r.headers.get("content-type"), "application/problem+json");
    });
  } finally {
    assert.equal(await svc.stop(), 0);
  }
});

Deno.test("[integration] a read-only service (OPERATIONS=none) answers history with 501 and is ready without the Events", async () => {
  const ns = uniqueName("it-history-ro");
  await createNamespace(ns);
  await createDeployment(ns, "web", 1);
  // The read-only chart grants no Event access at all: the service must not even try to watch them.
  const sa = await chartServiceAccount([], []);
  const svc = await startService({ kubeconfig: sa.kubeconfig, env: { OPERATIONS: "none" } });
  try {
    const r = await svc.api(`/api/v1/namespaces/${ns}/deployments/web/history`);
    assert.equal(r.status, 501);
    assert.equal(r.headers.get("content-type"), "application/problem+json");
    assert.match(r.body.detail, /OPERATIONS=none/);
    assert.equal((await svc.probe("/readyz")).status, 200);
    assert.ok(!svc.logs.some((l) => String(l.informer ?? "").startsWith("events")), "no Events informer ran");
  } finally {
    assert.equal(await svc.stop(), 0);
  }
});
