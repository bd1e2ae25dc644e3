/**
 * [integration] Reads against a real kube-apiserver: the service runs as its
 * own process with a ServiceAccount token bound by the chart's RBAC.
 */
import assert from "node:assert/strict";
import { chartServiceAccount, createDeployment, createNamespace, kubectl, uniqueName } from "./harness/cluster.ts";
import { startService, waitFor } from "./harness/service.ts";
import { auditEvents, auditMark } from "./harness/audit_log.ts";

Deno.test("[integration] reads are served from the informer cache", async (t) => {
  const a = uniqueName("it-read-a");
  const b = uniqueName("it-read-b");
  await createNamespace(a);
  await createNamespace(b);
  await createDeployment(a, "web", 2);
  await createDeployment(a, "api", 1);
  await createDeployment(b, "web", 3);
  const sa = await chartServiceAccount();
  // 1,000 reads from one identity: this test is about API server load, not about the per-client read limit.
  const svc = await startService({ kubeconfig: sa.kubeconfig, env: { RATE_LIMIT_READS: "off" } });
  try {
    await t.step("lists Deployments across namespaces, sorted by namespace then name", async () => {
      const r = await svc.api("/api/v1/deployments");
      assert.equal(r.status, 200);
      const ours = r.body.items.filter((d: { namespace: string }) => d.namespace === a || d.namespace === b);
      assert.deepEqual(ours.map((d: { namespace: string; name: string }) => `${d.namespace}/${d.name}`), [
        `${a}/api`,
        `${a}/web`,
        `${b}/web`,
      ]);
      const keys = r.body.items.map((d: { namespace: string; name: string }) => `${d.namespace}\u0000${d.name}`);
      assert.deepEqual(keys, [...keys].sort(), "whole list sorted");
      assert.deepEqual(Object.keys(ours[1]).sort(), [
        "availableReplicas",
        "name",
        "namespace",
        "readyReplicas",
        "replicas",
        "resourceVersion",
      ]);
      assert.equal(ours[1].replicas, 2);
    });

    await t.step("lists one namespace, by path and by ?namespace=", async () => {
      const byPath = await svc.api(`/api/v1/namespaces/${a}/deployments`);
      const byQuery = await svc.api(`/api/v1/deployments?namespace=${a}`);
      assert.equal(byPath.status, 200);
      assert.deepEqual(byPath.body.items.map((d: { name: string }) => d.name), ["api", "web"]);
      assert.deepEqual(byQuery.body, byPath.body);
    });

    await t.step("an existing namespace without Deployments is an empty list, an unknown one is 404", async () => {
      const empty = uniqueName("it-empty");
      await createNamespace(empty);
      await waitFor(async () => (await svc.api(`/api/v1/namespaces/${empty}/deployments`)).status === 200, 1000, "namespace visible");
      assert.deepEqual((await svc.api(`/api/v1/namespaces/${empty}/deployments`)).body, { items: [] });
      const missing = await svc.api(`/api/v1/namespaces/${uniqueName("nope")}/deployments`);
      assert.equal(missing.status, 404);
      assert.equal(missing.headers.get("content-type"), "application/problem+json");
      assert.equal((await svc.api(`/api/v1/deployments?namespace=${uniqueName("nope")}`)).status, 404);
    });

    await t.step("a Deployment created, scaled and deleted with kubectl is seen within 1 s", async () => {
      const path = `/api/v1/namespaces/${b}/deployments/fresh`;
      assert.equal((await svc.api(path)).status, 404);
      await createDeployment(b, "fresh", 1);
      const created = await waitFor(async () => (await svc.api(path)).status === 200, 1000, "creation visible", 10);
      await kubectl(["scale", "deployment", "fresh", "-n", b, "--replicas=4"]);
      const scaled = await waitFor(async () => (await svc.api(`${path}/replicas`)).body.replicas === 4, 1000, "scale visible", 10);
      await kubectl(["delete", "deployment", "fresh", "-n", b]);
      const deleted = await waitFor(async () => (await svc.api(path)).status === 404, 1000, "deletion visible", 10);
      console.log(
        `  change-to-visible after kubectl returned: create ${created.toFixed(0)} ms, scale ${scaled.toFixed(0)} ms, delete ${
          deleted.toFixed(0)
        } ms`,
      );
    });

    await t.step("1,000 reads after sync add zero Deployment GET/LIST requests from the service's identity", async () => {
      const isRead = (e: { verb: string; objectRef?: { resource?: string } }) =>
        e.objectRef?.resource === "deployments" && ["get", "list"].includes(e.verb);
      assert.ok((await auditEvents(sa.username, 0, isRead)).length > 0, "the audit log sees the service (its initial LIST)");
      const mark = await auditMark();
      const paths = [
        "/api/v1/deployments",
        `/api/v1/namespaces/${a}/deployments`,
        `/api/v1/namespaces/${a}/deployments/web`,
        `/api/v1/namespaces/${a}/deployments/web/replicas`,
      ];
      for (let i = 0; i < 1000; i += 10) {
        const batch = await Promise.all(Array.from({ length: 10 }, (_, j) => svc.api(paths[(i + j) % paths.length])));
        for (const r of batch) assert.equal(r.status, 200);
      }
      await new Promise((r) => setTimeout(r, 500));
      const reads = await auditEvents(sa.username, mark, isRead);
      assert.equal(
        reads.length,
        0,
        `the API server saw ${reads.length} Deployment GET/LIST requests from ${sa.username} during 1,000 reads`,
      );
    });
  } finally {
    assert.equal(await svc.stop(), 0, "clean shutdown exits 0");
  }
});
