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

Deno.test("[integration] kube-apiserver SIGKILLed: readiness drops within seconds, reads stay stale-marked, and nothing is lost", async () => {
  const ns = uniqueName("it-kill");
  await createNamespace(ns);
  await createDeployment(ns, "web", 1);
  const sa = await chartServiceAccount();
  // The service's defaults (WATCH_TIMEOUT 60 s): detection must not depend on a watch timeout or the stall watchdog.
  const svc = await startService({ kubeconfig: sa.kubeconfig });
  const path = `/api/v1/namespaces/${ns}/deployments/web/replicas`;
  let killed = false;
  try {
    await kubectl(["scale", "deployment", "web", "-n", ns, "--replicas=2"]);
    await waitFor(async () => (await svc.api(path)).body.replicas === 2, 2000, "the change before the kill");

    // Timed from just before ctl.sh sends SIGKILL, so the figure includes the script's own start-up.
    const killing = performance.now();
    await ctl("kill", "kube-apiserver");
    killed = true;
    await waitFor(async () => (await svc.probe("/readyz")).status === 503, 10_000, "readiness 503 after SIGKILL", 100);
    const downMs = performance.now() - killing;
    console.log(`  readiness 503 ${downMs.toFixed(0)} ms after SIGKILL`);
    assert.ok(downMs < 10_000);
    assert.match((await svc.probe("/readyz")).body.reason, /watch disconnected/);
    assert.ok(!svc.logs.some((l) => /client-node's Watch/.test(String(l.msg))), "the Deno-fetch watch is in use");
    assert.ok(!svc.logs.some((l) => /watch silent/.test(String(l.msg))), "noticed by the watch itself, not the stall watchdog");

    const read = await svc.api(path);
    assert.equal(read.status, 200, "reads still served from the cache");
    assert.equal(read.body.replicas, 2);
    assert.match(read.headers.get("cache-status") ?? "", /ttl=-\d+; detail="watch disconnected/, "and marked stale");

    await ctl("start", "kube-apiserver");
    killed = false;
    const back = performance.now();
    // Made the moment the API server is back, most likely before the service has reconnected: it must still arrive.
    await kubectl(["scale", "deployment", "web", "-n", ns, "--replicas=3"]);
    await waitFor(async () => (await svc.probe("/readyz")).status === 200, 10_000, "ready again", 100);
    console.log(`  ready again ${(performance.now() - back).toFixed(0)} ms after kube-apiserver answered`);
    await waitFor(async () => (await svc.api(path)).body.replicas === 3, 2000, "the change made while reconnecting");
    await kubectl(["scale", "deployment", "web", "-n", ns, "--replicas=4"]);
    await waitFor(async () => (await svc.api(path)).body.replicas === 4, 2000, "a change after recovery");
    assert.match((await svc.api(path)).headers.get("cache-status") ?? "", /ttl=\d+$/, "fresh again");

    // Nothing lost anywhere: the whole list equals kubectl's (retried: kube-controller-manager keeps writing status).
    const kubectlList = async () =>
      JSON.parse((await kubectl(["get", "deployments", "-A", "-o", "json"])).stdout).items.map((
        d: { metadata: { namespace: string; name: string; resourceVersion: string }; spec: { replicas: number } },
      ) => `${d.metadata.namespace}/${d.metadata.name}=${d.spec.replicas}@${d.metadata.resourceVersion}`).sort();
    const ourList = async () =>
      (await svc.api("/api/v1/deployments")).body.items.map((
        d: { namespace: string; name: string; replicas: number; resourceVersion: string },
      ) => `${d.namespace}/${d.name}=${d.replicas}@${d.resourceVersion}`).sort();
    await waitFor(
      async () => JSON.stringify(await ourList()) === JSON.stringify(await kubectlList()),
      10_000,
      "the list equal to kubectl's",
    );
  } finally {
    if (killed) await ctl("start", "kube-apiserver");
    assert.equal(await svc.stop(), 0);
  }
});
