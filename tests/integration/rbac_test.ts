/**
 * [integration] Least privilege: the ServiceAccount bound by the chart's RBAC
 * can do what the service needs and nothing else, checked both with
 * `kubectl auth can-i` and with real attempts using its token.
 */
import assert from "node:assert/strict";
import { chartServiceAccount, createDeployment, createNamespace, deploymentManifest, kubectl, uniqueName } from "./harness/cluster.ts";
import { startService } from "./harness/service.ts";

async function canI(username: string, verb: string, resource: string, namespace?: string): Promise<boolean> {
  const [kind, subresource] = resource.split("/");
  const args = ["auth", "can-i", verb, kind, `--as=${username}`];
  if (subresource) args.push(`--subresource=${subresource}`);
  args.push(namespace ? `--namespace=${namespace}` : "--all-namespaces");
  const r = await kubectl(args, { allowFail: true });
  return r.stdout.trim() === "yes";
}

Deno.test("[integration] the chart's cluster-wide RBAC grants exactly what the service needs", async (t) => {
  const ns = uniqueName("it-rbac");
  await createNamespace(ns);
  await createDeployment(ns, "web", 1);
  await kubectl(["create", "secret", "generic", "s", "-n", ns, "--from-literal=k=v"]);
  const sa = await chartServiceAccount();

  await t.step(
    "can-i: list/watch/get deployments, get/patch deployments/scale, list/watch namespaces and HPAs, create Events",
    async () => {
      for (
        const [verb, resource] of [
          ["list", "deployments"],
          ["watch", "deployments"],
          ["get", "deployments"],
          ["patch", "deployments/scale"],
          ["get", "deployments/scale"],
          ["list", "namespaces"],
          ["watch", "namespaces"],
          ["list", "horizontalpodautoscalers.autoscaling"],
          ["watch", "horizontalpodautoscalers.autoscaling"],
          ["create", "events.events.k8s.io"],
        ]
      ) {
        assert.ok(await canI(sa.username, verb, resource, ns), `${verb} ${resource} allowed`);
      }
    },
  );

  await t.step("can-i: no delete, update, create of deployments, no secrets, no update of scale", async () => {
    for (
      const [verb, resource] of [
        ["delete", "deployments"],
        ["update", "deployments"],
        ["patch", "deployments"],
        ["create", "deployments"],
        ["get", "secrets"],
        ["list", "secrets"],
        ["update", "deployments/scale"],
        ["list", "pods"],
        ["get", "namespaces"],
        ["update", "horizontalpodautoscalers.autoscaling"],
        ["delete", "horizontalpodautoscalers.autoscaling"],
        ["list", "events.events.k8s.io"],
        ["delete", "events.events.k8s.io"],
        ["create", "events"],
      ]
    ) {
      assert.equal(await canI(sa.username, verb, resource, ns), false, `${verb} ${resource} denied`);
    }
  });

  await t.step("real attempts with the token: delete, whole-object update and reading secrets are Forbidden", async () => {
    const as = { kubeconfig: sa.kubeconfig, allowFail: true };
    const del = await kubectl(["delete", "deployment", "web", "-n", ns], as);
    assert.notEqual(del.code, 0);
    assert.match(del.stderr, /forbidden/i);
    const replace = await kubectl(["replace", "-f", "-"], { ...as, stdin: deploymentManifest(ns, "web", 3) });
    assert.notEqual(replace.code, 0);
    assert.match(replace.stderr, /forbidden/i);
    const secrets = await kubectl(["get", "secrets", "-n", ns], as);
    assert.notEqual(secrets.code, 0);
    assert.match(secrets.stderr, /forbidden/i);
    const scale = await kubectl(["scale", "deployment", "web", "-n", ns, "--replicas=2"], as);
    assert.equal(scale.code, 0, `scaling is allowed: ${scale.stderr}`);
  });
});

Deno.test("[integration] with WATCH_NAMESPACES the chart's namespaced RBAC is enough and confines the service", async (t) => {
  const watched = uniqueName("it-watched");
  const other = uniqueName("it-other");
  await createNamespace(watched);
  await createNamespace(other);
  await createDeployment(watched, "web", 1);
  await createDeployment(other, "web", 1);
  const sa = await chartServiceAccount([watched]);

  await t.step("can-i is limited to the watched namespace and grants nothing cluster-wide", async () => {
    assert.ok(await canI(sa.username, "list", "deployments", watched));
    assert.ok(await canI(sa.username, "patch", "deployments/scale", watched));
    assert.ok(await canI(sa.username, "watch", "horizontalpodautoscalers.autoscaling", watched));
    assert.ok(await canI(sa.username, "create", "events.events.k8s.io", watched));
    assert.equal(await canI(sa.username, "watch", "horizontalpodautoscalers.autoscaling", other), false);
    assert.equal(await canI(sa.username, "create", "events.events.k8s.io", other), false, "Events only in served namespaces");
    assert.equal(await canI(sa.username, "list", "deployments", other), false);
    assert.equal(await canI(sa.username, "patch", "deployments/scale", other), false);
    assert.equal(await canI(sa.username, "list", "namespaces"), false);
  });

  await t.step("the service syncs with it, serves the watched namespace and 404s the other", async () => {
    const svc = await startService({ kubeconfig: sa.kubeconfig, env: { WATCH_NAMESPACES: watched } });
    try {
      const list = await svc.api("/api/v1/deployments");
      assert.deepEqual(list.body.items.map((d: { namespace: string }) => d.namespace), [watched]);
      assert.equal((await svc.api(`/api/v1/namespaces/${other}/deployments`)).status, 404);
      const put = await svc.api(`/api/v1/namespaces/${other}/deployments/web/replicas`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: '{"replicas":3}',
      });
      assert.equal(put.status, 404, "an unwatched namespace cannot be scaled through the service");
      const ok = await svc.api(`/api/v1/namespaces/${watched}/deployments/web/replicas`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: '{"replicas":3}',
      });
      assert.equal(ok.status, 200);
    } finally {
      assert.equal(await svc.stop(), 0);
    }
  });
});
