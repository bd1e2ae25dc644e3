/**
 * [integration] Faults under a running service: kube-apiserver stopped and
 * restarted, and etcd compaction forcing 410 Gone on the watch. These stop the
 * shared control plane, so they run after the other files (deno test runs
 * files one after another) and restore it before they end.
 */
import assert from "node:assert/strict";
import { chartServiceAccount, clusterEnv, createDeployment, createNamespace, kubectl, run, uniqueName } from "./harness/cluster.ts";
import { startService, waitFor } from "./harness/service.ts";

async function ctl(...args: string[]): Promise<void> {
  const r = await run(clusterEnv().ctl, args);
  if (r.code !== 0) throw new Error(`ctl.sh ${args.join(" ")} failed: ${r.stderr}`);
}

Deno.test("[integration] kube-apiserver stopped and restarted under the running service", async (t) => {
  const ns = uniqueName("it-outage");
  await createNamespace(ns);
  await createDeployment(ns, "web", 2);
  const sa = await chartServiceAccount();
  const svc = await startService({ kubeconfig: sa.kubeconfig });
  const path = `/api/v1/namespaces/${ns}/deployments/web/replicas`;
  let apiserverDown = false;
  try {
    await t.step("readiness turns 503 within 10 s of the API server stopping", async () => {
      assert.equal((await svc.probe("/readyz")).status, 200);
      // Timed from the moment the stop begins (kube-apiserver drains for a few seconds before it exits).
      const stopping = ctl("stop", "kube-apiserver");
      apiserverDown = true;
      const ms = await waitFor(async () => (await svc.probe("/readyz")).status === 503, 10_000, "readiness 503");
      await stopping;
      console.log(`  readiness 503 ${ms.toFixed(0)} ms after the stop began`);
      const body = (await svc.probe("/readyz")).body;
      assert.match(body.reason, /watch disconnected/);
      assert.equal((await svc.probe("/livez")).status, 200, "liveness does not depend on the API server");
    });

    await t.step("reads keep answering from the cache and say they are stale; health says degraded", async () => {
      const r = await svc.api(path);
      assert.equal(r.status, 200);
      assert.equal(r.body.replicas, 2);
      assert.match(r.headers.get("cache-status") ?? "", /ttl=-\d+; detail="watch disconnected/);
      assert.ok(r.headers.get("age") !== null);
      const health = await svc.api("/api/v1/health");
      assert.equal(health.status, 503);
      assert.equal(health.body.status, "degraded");
      assert.equal(health.body.kubernetes, "disconnected");
      assert.equal(health.body.cache.synced, true);
      assert.ok(health.body.error);
    });

    await t.step("a write while the API server is down is 503 with Retry-After, not a hang", async () => {
      const started = performance.now();
      const r = await svc.api(path, { method: "PUT", headers: { "content-type": "application/json" }, body: '{"replicas":3}' });
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.ok(r.headers.get("retry-after"));
      assert.match(r.body.detail, /unreachable/);
      assert.ok(performance.now() - started < 11_000);
    });

    await t.step("after the restart readiness returns and new changes are seen again", async () => {
      await ctl("start", "kube-apiserver");
      apiserverDown = false;
      const ms = await waitFor(async () => (await svc.probe("/readyz")).status === 200, 40_000, "readiness 200 again");
      console.log(`  ready again ${ms.toFixed(0)} ms after kube-apiserver answered`);
      await kubectl(["scale", "deployment", "web", "-n", ns, "--replicas=6"]);
      await waitFor(async () => (await svc.api(path)).body.replicas === 6, 1000, "change after recovery");
      const r = await svc.api(path);
      assert.match(r.headers.get("cache-status") ?? "", /ttl=\d+$/, "fresh again");
      assert.equal((await svc.api("/api/v1/health")).body.status, "healthy");
    });
  } finally {
    if (apiserverDown) await ctl("start", "kube-apiserver");
    assert.equal(await svc.stop(), 0);
  }
});

Deno.test("[integration] etcd compaction forces 410 Gone; the service relists and stays correct", async () => {
  const ns = uniqueName("it-gone");
  await createNamespace(ns);
  await createDeployment(ns, "doomed", 1);
  await createDeployment(ns, "kept", 1);
  const sa = await chartServiceAccount();
  const svc = await startService({ kubeconfig: sa.kubeconfig });
  try {
    assert.equal((await svc.api(`/api/v1/namespaces/${ns}/deployments`)).body.items.length, 2);
    // Freeze the service, then cut its watch (restart #1) before changing anything: otherwise the events
    // would wait in its socket buffer and it would simply read them on resume, with no 410 to handle.
    Deno.kill(svc.pid, "SIGSTOP");
    try {
      await ctl("restart", "kube-apiserver");
      await kubectl(["delete", "deployment", "doomed", "-n", ns]);
      await kubectl(["scale", "deployment", "kept", "-n", ns, "--replicas=4"]);
      await createDeployment(ns, "born", 2);
      await ctl("etcd-compact");
      // Restart #2 rebuilds the watch cache from the compacted etcd: the service's resourceVersion is now too old.
      await ctl("restart", "kube-apiserver");
    } finally {
      Deno.kill(svc.pid, "SIGCONT");
    }
    await waitFor(
      async () => {
        const names = (await svc.api(`/api/v1/namespaces/${ns}/deployments`)).body.items.map((d: { name: string; replicas: number }) =>
          `${d.name}=${d.replicas}`
        );
        return JSON.stringify(names) === JSON.stringify(["born=2", "kept=4"]);
      },
      40_000,
      "the relisted state",
    );
    assert.ok(
      svc.logs.some((l) => /410 Gone/.test(String(l.msg))),
      `the 410 path was taken (logged); log tail:\n${svc.logs.slice(-12).map((l) => JSON.stringify(l)).join("\n")}`,
    );
    await waitFor(async () => (await svc.probe("/readyz")).status === 200, 40_000, "ready after relist");
  } finally {
    assert.equal(await svc.stop(), 0);
  }
});

Deno.test("[integration] kube-apiserver SIGKILLed: a hung watch is detected, readiness drops, and the service recovers", async () => {
  const ns = uniqueName("it-kill");
  await createNamespace(ns);
  await createDeployment(ns, "web", 1);
  const sa = await chartServiceAccount();
  // A short server-side watch timeout keeps the stall limit (WATCH_TIMEOUT + 35 s) test-sized.
  const svc = await startService({ kubeconfig: sa.kubeconfig, env: { WATCH_TIMEOUT: "5s" } });
  const path = `/api/v1/namespaces/${ns}/deployments/web/replicas`;
  let killed = false;
  try {
    await ctl("kill", "kube-apiserver");
    killed = true;
    const ms = await waitFor(async () => (await svc.probe("/readyz")).status === 503, 60_000, "readiness 503 after SIGKILL", 250);
    console.log(`  readiness 503 ${(ms / 1000).toFixed(1)} s after SIGKILL`);
    assert.equal((await svc.api(path)).status, 200, "reads still served from the cache");
    await ctl("start", "kube-apiserver");
    killed = false;
    await waitFor(async () => (await svc.probe("/readyz")).status === 200, 60_000, "ready again", 250);
    await kubectl(["scale", "deployment", "web", "-n", ns, "--replicas=3"]);
    await waitFor(async () => (await svc.api(path)).body.replicas === 3, 2000, "changes after recovery");
    assert.ok(svc.logs.some((l) => /watch silent for too long|list\/watch failed/.test(String(l.msg))), "the hang was noticed and logged");
  } finally {
    if (killed) await ctl("start", "kube-apiserver");
    assert.equal(await svc.stop(), 0);
  }
});
