/** [integration] Writes through the scale subresource against a real kube-apiserver. */
import assert from "node:assert/strict";
import { chartServiceAccount, createDeployment, createNamespace, kubectl, specReplicas, uniqueName } from "./harness/cluster.ts";
import { startService, waitFor } from "./harness/service.ts";
import { auditEvents, auditMark } from "./harness/audit_log.ts";

const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "PUT",
  headers: { "content-type": "application/json", ...headers },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

Deno.test("[integration] PUT replicas scales through the scale subresource", async (t) => {
  const ns = uniqueName("it-write");
  await createNamespace(ns);
  await createDeployment(ns, "web", 2);
  const sa = await chartServiceAccount();
  // Dozens of writes in a few seconds from one certificate: what is checked is the write path, not the write rate
  // limit (5/s, burst 20), which tests/integration/authz_limits_test.ts covers.
  const svc = await startService({ kubeconfig: sa.kubeconfig, env: { RATE_LIMIT_WRITES: "off" } });
  const path = `/api/v1/namespaces/${ns}/deployments/web/replicas`;
  try {
    await t.step("PUT changes spec.replicas in the API server and the next GET already shows it", async () => {
      const mark = await auditMark();
      const started = performance.now();
      const put = await svc.api(path, json({ replicas: 5 }));
      const elapsed = performance.now() - started;
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.deepEqual(put.body, { namespace: ns, name: "web", replicas: 5, previousReplicas: 2 });
      const get = await svc.api(path);
      assert.equal(get.body.replicas, 5, "read-your-writes on the same instance");
      // At least the PUT's version: kube-controller-manager may already have written the status on top of it.
      const version = (r: { headers: Headers }) => BigInt(JSON.parse(r.headers.get("etag") ?? '"0"'));
      assert.ok(version(get) >= version(put), `GET ETag ${get.headers.get("etag")} is older than the PUT's ${put.headers.get("etag")}`);
      assert.equal(await specReplicas(ns, "web"), 5, "kubectl sees it");
      const writes = await auditEvents(sa.username, mark, (e) => !["get", "list", "watch"].includes(e.verb));
      assert.deepEqual(
        writes.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.subresource ?? ""}`),
        ["patch deployments/scale"],
        "exactly one PATCH of deployments/scale; the Deployment itself is never written",
      );
      console.log(`  PUT with read-your-writes: ${elapsed.toFixed(1)} ms`);
    });

    await t.step("scaling to the current value succeeds and reports it as previous", async () => {
      const put = await svc.api(path, json({ replicas: 5 }));
      assert.equal(put.status, 200);
      assert.deepEqual(put.body, { namespace: ns, name: "web", replicas: 5, previousReplicas: 5 });
    });

    await t.step("If-Match with the current ETag succeeds; a stale ETag is 412 and changes nothing", async () => {
      const etag = (await svc.api(path)).headers.get("etag")!;
      const ok = await svc.api(path, json({ replicas: 6 }, { "if-match": etag }));
      assert.equal(ok.status, 200);
      assert.equal(ok.body.previousReplicas, 5);
      const stale = await svc.api(path, json({ replicas: 9 }, { "if-match": etag }));
      assert.equal(stale.status, 412);
      assert.equal(stale.headers.get("content-type"), "application/problem+json");
      assert.equal(await specReplicas(ns, "web"), 6, "the stale write did not land");
    });

    await t.step("a change made with kubectl after our read makes If-Match fail with 412", async () => {
      const etag = (await svc.api(path)).headers.get("etag")!;
      await kubectl(["scale", "deployment", "web", "-n", ns, "--replicas=7"]);
      await waitFor(async () => (await svc.api(path)).body.replicas === 7, 1000, "kubectl scale visible");
      const r = await svc.api(path, json({ replicas: 1 }, { "if-match": etag }));
      assert.equal(r.status, 412);
      assert.equal(await specReplicas(ns, "web"), 7);
    });

    await t.step("PUT on a missing Deployment is 404 and on an unknown namespace is 404", async () => {
      const missing = await svc.api(`/api/v1/namespaces/${ns}/deployments/ghost/replicas`, json({ replicas: 1 }));
      assert.equal(missing.status, 404);
      assert.match(missing.body.detail, /not found/);
      const noNs = await svc.api(`/api/v1/namespaces/${uniqueName("ghost")}/deployments/web/replicas`, json({ replicas: 1 }));
      assert.equal(noNs.status, 404);
    });

    await t.step("invalid bodies are 400, 413 or 415 and change nothing", async () => {
      const cases: [RequestInit, number][] = [
        [json("{not json"), 400],
        [json('{"replicas": 2} trailing'), 400],
        // JSON.parse would keep the last value and scale to 2; another parser would keep 1.
        [json('{"replicas": 1, "replicas": 2}'), 400],
        [json('{"replicas": 1, "re\\u0070licas": 2}'), 400],
        [json({ replicas: -1 }), 400],
        [json({ replicas: 1.5 }), 400],
        [json({ replicas: "3" }), 400],
        [json({ replicas: 1001 }), 400],
        [json({}), 400],
        [json({ replicas: 2, extra: true }), 400],
        [json([2]), 400],
        [json(" "), 400],
        [{ method: "PUT", headers: { "content-type": "text/plain" }, body: '{"replicas":2}' }, 415],
        [json(JSON.stringify({ replicas: 2, pad: "x".repeat(70_000) })), 413],
      ];
      for (const [init, status] of cases) {
        const r = await svc.api(path, init);
        assert.equal(r.status, status, `${init.body?.toString().slice(0, 40)} -> ${r.status} ${JSON.stringify(r.body)}`);
        assert.equal(r.headers.get("content-type"), "application/problem+json");
        assert.ok(r.body.detail, "the problem says what is wrong");
      }
      assert.equal(await specReplicas(ns, "web"), 7);
    });

    await t.step("an invalid name is 400 before anything reaches the API server", async () => {
      const r = await svc.api(`/api/v1/namespaces/${ns}/deployments/Bad_Name/replicas`, json({ replicas: 1 }));
      assert.equal(r.status, 400);
    });
  } finally {
    assert.equal(await svc.stop(), 0);
  }
});

Deno.test("[integration] curl sees the 413 for a body over the limit every time, also when the connection closes after it", async () => {
  const ns = uniqueName("it-413");
  await createNamespace(ns);
  await createDeployment(ns, "web", 1);
  const sa = await chartServiceAccount();
  // Rate limits off: twenty writes in a row must all reach the body check.
  const svc = await startService({ kubeconfig: sa.kubeconfig, env: { RATE_LIMIT_WRITES: "off" } });
  const dir = await Deno.makeTempDir({ prefix: "replica-api-it-413-" });
  try {
    for (const size of [1024 * 1024, 32 * 1024 * 1024]) {
      const file = `${dir}/body-${size}`;
      await Deno.writeFile(file, new Uint8Array(size).fill(0x20));
      for (const connection of ["keep-alive", "close"]) {
        for (let i = 0; i < 5; i++) {
          const out = await new Deno.Command("curl", {
            args: [
              ...["-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT", "--data-binary", `@${file}`],
              ...["-H", "content-type: application/json", "-H", `connection: ${connection}`],
              ...["--cacert", svc.pki.ca.certPath, "--cert", svc.pki.alice.certPath, "--key", svc.pki.alice.keyPath],
              `${svc.apiUrl}/api/v1/namespaces/${ns}/deployments/web/replicas`,
            ],
          }).output();
          const detail = `${size} bytes, Connection: ${connection}, #${i + 1}: ${new TextDecoder().decode(out.stderr)}`;
          assert.equal(new TextDecoder().decode(out.stdout), "413", detail);
          assert.equal(out.code, 0, detail);
        }
      }
    }
    assert.equal(await specReplicas(ns, "web"), 1, "nothing was scaled");
  } finally {
    await Deno.remove(dir, { recursive: true });
    assert.equal(await svc.stop(), 0);
  }
});
