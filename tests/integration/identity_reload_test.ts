/**
 * [integration] Identities that change while the service runs, through the real process and a real API server:
 * the policy file reloaded under load (no request answered by the wrong policy, an invalid file kept out), and a
 * CRL update that shuts a certificate out within 10 s, closing its open connection.
 */
import assert from "node:assert/strict";
import { chartServiceAccount, createDeployment, createNamespace, uniqueName } from "./harness/cluster.ts";
import { startService, waitFor } from "./harness/service.ts";
import { createCrlAuthority, createTestPki } from "../support/pki.ts";

const policy = (readNamespaces: string[]) =>
  JSON.stringify({ rules: [{ subjects: [{ cn: "alice" }], permissions: { read: readNamespaces } }] });

Deno.test("[integration] a policy change under load takes effect within 10 s, and no request is answered by the wrong policy", async (t) => {
  const keep = uniqueName("it-policy-keep");
  const lose = uniqueName("it-policy-lose");
  await createNamespace(keep);
  await createNamespace(lose);
  await createDeployment(keep, "app", 1);
  await createDeployment(lose, "app", 1);
  const dir = await Deno.makeTempDir();
  const file = `${dir}/policy.json`;
  await Deno.writeTextFile(file, policy([keep, lose]));
  const sa = await chartServiceAccount();
  const svc = await startService({ kubeconfig: sa.kubeconfig, env: { AUTHZ_POLICY_FILE: file, RATE_LIMIT_READS: "off" } });
  try {
    await t.step("the namespace taken away answers 403 from the first request after the reload, 200 before the write", async () => {
      const results: { started: number; status: number }[] = [];
      let running = true;
      const loop = async () => {
        while (running) {
          const started = performance.now();
          const r = await svc.api(`/api/v1/namespaces/${lose}/deployments/app/replicas`);
          results.push({ started, status: r.status });
        }
      };
      const loops = [loop(), loop(), loop(), loop()];
      await new Promise((r) => setTimeout(r, 500));
      const reloadsBefore = svc.logs.filter((l) => l.msg === "policy reloaded").length;
      const written = performance.now();
      // Written whole and renamed into place, as a ConfigMap update is: no half-written file is ever read.
      await Deno.writeTextFile(`${file}.tmp`, policy([keep]));
      await Deno.rename(`${file}.tmp`, file);
      const waited = await waitFor(() => svc.logs.filter((l) => l.msg === "policy reloaded").length > reloadsBefore, 10_000, "the reload");
      const seen = performance.now();
      await new Promise((r) => setTimeout(r, 500));
      running = false;
      await Promise.all(loops);
      const before = results.filter((r) => r.started < written);
      const after = results.filter((r) => r.started > seen);
      assert.ok(before.length > 20 && after.length > 20, `too few requests: ${before.length} before, ${after.length} after`);
      assert.deepEqual([...new Set(before.map((r) => r.status))], [200], "every request before the write: the old policy");
      assert.deepEqual([...new Set(after.map((r) => r.status))], [403], "every request after the reload: the new policy");
      assert.ok(waited < 10_000, `reloaded after ${Math.round(waited)} ms`);
      assert.equal((await svc.api(`/api/v1/namespaces/${keep}/deployments/app/replicas`)).status, 200, "the rest is untouched");
    });

    await t.step("an invalid policy file is refused with file:line:column and the last good policy stays", async () => {
      await Deno.writeTextFile(`${file}.tmp`, `{"rules": [\n  {"subjects": [{"cn": "alice"}], "permissions": {"admin": ["*"]}}\n]}`);
      await Deno.rename(`${file}.tmp`, file);
      await waitFor(() => svc.logs.some((l) => l.level === "error" && String(l.error).startsWith(`${file}:2:`)), 10_000, "the refusal");
      assert.equal((await svc.api(`/api/v1/namespaces/${keep}/deployments/app/replicas`)).status, 200);
      assert.equal((await svc.api(`/api/v1/namespaces/${lose}/deployments/app/replicas`)).status, 403, "never fails open");
      const metrics = await (await fetch(`${svc.probeUrl}/metrics`)).text();
      assert.match(metrics, /replica_api_policy_reloads_total\{outcome="invalid"\} 1/);
      assert.match(metrics, /replica_api_policy_reloads_total\{outcome="reloaded"\} 1/);
    });
  } finally {
    assert.equal(await svc.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("[integration] a certificate revoked in the CRL is refused within 10 s of the CRL update, and its open connection is closed", async () => {
  const ns = uniqueName("it-crl");
  await createNamespace(ns);
  await createDeployment(ns, "app", 1);
  const authority = await createCrlAuthority();
  const pki = await createTestPki();
  const carol = await authority.issue({ name: "carol" });
  const dave = await authority.issue({ name: "dave" });
  const crlFile = `${authority.dir}/in-force.crl`;
  await Deno.writeFile(crlFile, (await authority.crl({ name: "empty" })).bytes);
  const sa = await chartServiceAccount();
  // The server's own certificate is from the test PKI; clients are from the CRL authority, which the service trusts.
  const svc = await startService({
    kubeconfig: sa.kubeconfig,
    pki,
    env: { TLS_CLIENT_CA_FILE: authority.ca.certPath, TLS_CLIENT_CRL_FILE: crlFile },
    waitReady: true,
  });
  const carolClient = Deno.createHttpClient({ caCerts: [pki.ca.cert], cert: carol.cert, key: carol.key });
  try {
    const path = `${svc.apiUrl}/api/v1/namespaces/${ns}/deployments/app`;
    const carolGet = async () => {
      const r = await fetch(path, { client: carolClient });
      await r.body?.cancel();
      return r.status;
    };
    assert.equal(await carolGet(), 200, "carol's keep-alive connection is open");
    assert.equal((await svc.apiAs(dave, `/api/v1/namespaces/${ns}/deployments/app`)).status, 200);

    await authority.revoke(carol);
    const next = await authority.crl({ name: "revokes-carol" });
    await Deno.writeFile(`${crlFile}.tmp`, next.bytes);
    await Deno.rename(`${crlFile}.tmp`, crlFile);
    const waited = await waitFor(
      () => svc.logs.some((l) => l.msg === "connection of a revoked client certificate closed" && l.cn === "carol"),
      10_000,
      "carol's open connection to be closed",
    );
    assert.ok(waited < 10_000);
    await assert.rejects(carolGet(), "a new connection of carol's is refused before any request is served");
    assert.ok(svc.logs.some((l) => l.msg === "revoked client certificate refused" && l.cn === "carol"));
    assert.equal((await svc.apiAs(dave, `/api/v1/namespaces/${ns}/deployments/app`)).status, 200, "dave is not affected");
    const metrics = await (await fetch(`${svc.probeUrl}/metrics`)).text();
    assert.match(metrics, /replica_api_revoked_connections_total\{when="open"\} 1/);
    assert.match(metrics, /replica_api_crl_reloads_total\{outcome="reloaded"\} 1/);
  } finally {
    carolClient.close();
    assert.equal(await svc.stop(), 0);
    await authority.cleanup();
    await pki.cleanup();
  }
});
