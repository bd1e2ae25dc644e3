/**
 * [integration] The informer's lists are paginated against a real kube-apiserver: 1,100 Deployments arrive in
 * pages of 500 (limit + continue), the cache holds every one, and the watch resumes from the list's snapshot.
 */
import assert from "node:assert/strict";
import { chartServiceAccount, createNamespace, kubectl, uniqueName } from "./harness/cluster.ts";
import { startService, waitFor } from "./harness/service.ts";
import { auditEvents, auditMark } from "./harness/audit_log.ts";

const COUNT = 1_100;

/** Paused, with 0 replicas: kube-controller-manager creates no ReplicaSets or Pods for them, so 1,100 stay cheap. */
function manifests(namespace: string): string {
  const items = Array.from({ length: COUNT }, (_, i) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `app-${String(i).padStart(4, "0")}`, namespace },
    spec: {
      replicas: 0,
      paused: true,
      selector: { matchLabels: { app: "paged" } },
      template: { metadata: { labels: { app: "paged" } }, spec: { containers: [{ name: "app", image: "nginx:1.27" }] } },
    },
  }));
  return JSON.stringify({ apiVersion: "v1", kind: "List", items });
}

Deno.test("[integration] the initial list of 1,100 Deployments is paginated in pages of 500 and the cache holds them all", async () => {
  const ns = uniqueName("it-paged");
  await createNamespace(ns);
  await kubectl(["create", "-f", "-"], { stdin: manifests(ns) });
  const sa = await chartServiceAccount([ns]);
  const mark = await auditMark();
  const svc = await startService({ kubeconfig: sa.kubeconfig, env: { WATCH_NAMESPACES: ns, RATE_LIMIT_READS: "off" } });
  try {
    const listed = await svc.api(`/api/v1/namespaces/${ns}/deployments`);
    assert.equal(listed.status, 200);
    assert.equal(listed.body.items.length, COUNT, "every Deployment from every page");
    assert.equal(new Set(listed.body.items.map((d: { name: string }) => d.name)).size, COUNT, "none twice");

    // Log lines are written in batches (every 20 ms): the API can answer before the "listed" line is out.
    const listedLine = () => svc.logs.find((l) => l.msg === "listed" && l.informer === `deployments/${ns}`);
    await waitFor(() => listedLine() !== undefined, 5000, "the listed log line");
    const log = listedLine();
    assert.equal(log?.items, COUNT);
    assert.equal(log?.pages, 3, "500 + 500 + 100");

    const lists = (await auditEvents(sa.username, mark, (e) => e.verb === "list" && e.objectRef?.resource === "deployments"))
      .map((e) => new URL((e as unknown as { requestURI: string }).requestURI, "https://x").searchParams);
    assert.equal(lists.length, 3, "three LIST requests");
    assert.deepEqual(lists.map((q) => q.get("limit")), ["500", "500", "500"]);
    assert.equal(lists[0].get("continue"), null, "the first page has no continue token");
    assert.ok(lists[1].get("continue") && lists[2].get("continue"), "later pages continue");

    // The watch starts from the paginated list's resourceVersion: a change made now is seen, none is missed.
    await kubectl(["scale", "deployment", "app-0999", "-n", ns, "--replicas=3"]);
    await waitFor(
      async () => (await svc.api(`/api/v1/namespaces/${ns}/deployments/app-0999/replicas`)).body.replicas === 3,
      5000,
      "scale visible",
    );
  } finally {
    await svc.stop();
    await kubectl(["delete", "namespace", ns, "--wait=false"]);
  }
});
