/**
 * [integration] Authorization by client identity, audit lines and per-identity
 * rate limits, through the real service process and real certificates.
 */
import assert from "node:assert/strict";
import { chartServiceAccount, createDeployment, createNamespace, specReplicas, uniqueName } from "./harness/cluster.ts";
import { startService } from "./harness/service.ts";
import { createTestPki } from "../support/pki.ts";

const put = (replicas: number): RequestInit => ({
  method: "PUT",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ replicas }),
});

Deno.test("[integration] the policy decides who may read and scale where, and every write and denial is audited", async (t) => {
  const web = uniqueName("it-authz-web");
  const ops = uniqueName("it-authz-ops");
  await createNamespace(web);
  await createNamespace(ops);
  await createDeployment(web, "app", 1);
  await createDeployment(ops, "tool", 1);
  const pki = await createTestPki();
  const bob = await pki.issueClient({ name: "bob", cn: "bob", organizations: ["viewers"] });
  const eve = await pki.issueClient({ name: "eve", cn: "eve" });
  const policy = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(
    policy,
    JSON.stringify({
      rules: [
        { subjects: [{ group: "sre" }], permissions: { read: ["*"], scale: [web] } },
        { subjects: [{ group: "viewers" }], permissions: { read: [web] } },
      ],
    }),
  );
  const sa = await chartServiceAccount();
  const svc = await startService({ kubeconfig: sa.kubeconfig, pki, env: { AUTHZ_POLICY_FILE: policy, RATE_LIMIT_WRITES: "1/m,burst=2" } });
  try {
    await t.step("a permitted scale succeeds and is audited with replicas before and after", async () => {
      const r = await svc.api(`/api/v1/namespaces/${web}/deployments/app/replicas`, put(3));
      assert.equal(r.status, 200);
      const audit = svc.logs.find((l) => l.audit === true && l.outcome === "succeeded");
      assert.ok(audit, "an audit line for the write");
      assert.deepEqual(audit.identity, {
        cn: "alice",
        organizations: ["sre", "oncall"],
        fingerprint256: await pki.fingerprint256(pki.alice.certPath),
      });
      assert.equal(audit.replicasBefore, 1);
      assert.equal(audit.replicasAfter, 3);
      assert.deepEqual(audit.target, { namespace: web, name: "app" });
    });

    await t.step("scaling outside the granted namespaces is 403 naming the permission, and audited", async () => {
      const r = await svc.api(`/api/v1/namespaces/${ops}/deployments/tool/replicas`, put(2));
      assert.equal(r.status, 403);
      assert.match(r.body.detail, /scale/);
      assert.equal(await specReplicas(ops, "tool"), 1, "nothing changed");
      assert.ok(svc.logs.some((l) => l.audit === true && l.outcome === "denied" && (l.identity as { cn: string }).cn === "alice"));
    });

    await t.step("a read-only identity can read its namespace, cannot scale, and sees only what it may read", async () => {
      assert.equal((await svc.apiAs(bob, `/api/v1/namespaces/${web}/deployments/app`)).status, 200);
      assert.equal((await svc.apiAs(bob, `/api/v1/namespaces/${web}/deployments/app/replicas`, put(5))).status, 403);
      assert.equal((await svc.apiAs(bob, `/api/v1/namespaces/${ops}/deployments`)).status, 403);
      const all = await svc.apiAs(bob, "/api/v1/deployments");
      assert.equal(all.status, 200);
      assert.deepEqual([...new Set(all.body.items.map((d: { namespace: string }) => d.namespace))], [web]);
    });

    await t.step("an identity no rule matches gets 403 for everything but health", async () => {
      assert.equal((await svc.apiAs(eve, "/api/v1/deployments")).status, 403);
      assert.equal((await svc.apiAs(eve, `/api/v1/namespaces/${web}/deployments/app/replicas`)).status, 403);
      assert.equal((await svc.apiAs(eve, "/api/v1/health")).status, 200);
    });

    await t.step("the write limit trips for one identity with 429 and Retry-After; others are unaffected", async () => {
      // alice has used 2 writes (burst 2, refilling 1 per minute): the next is refused.
      const limited = await svc.api(`/api/v1/namespaces/${web}/deployments/app/replicas`, put(4));
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers.get("retry-after")) >= 1);
      assert.equal(await specReplicas(web, "app"), 3, "the refused write did not happen");
      assert.equal((await svc.apiAs(bob, `/api/v1/namespaces/${web}/deployments/app`)).status, 200, "bob's reads still work");
      assert.equal((await svc.api(`/api/v1/namespaces/${web}/deployments/app`)).status, 200, "alice's reads still work");
    });
  } finally {
    assert.equal(await svc.stop(), 0);
    await pki.cleanup();
  }
});

Deno.test("[integration] a policy file with an error stops the service at start with exit 2 and the line at fault", async () => {
  const policy = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(policy, '{\n  "rules": [\n    { "subjects": [{ "cn": "x" }], "permissions": { "delete": ["*"] } }\n  ]\n}\n');
  const sa = await chartServiceAccount();
  const svc = startService({ kubeconfig: sa.kubeconfig, env: { AUTHZ_POLICY_FILE: policy }, waitReady: false });
  await assert.rejects(svc, /exited with 2/);
});
