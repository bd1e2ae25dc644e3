/**
 * RSS of the service around its first LIST of many Deployments: the peak from spawn until 10 s after ready
 * (the kernel's VmHWM, so no sampling gap hides it), RSS 10 s after ready, and RSS after BENCH_SCALE_SETTLE
 * (30) s. For before/after runs of list changes; not part of `make bench` (whose scale section reports the
 * 10 s and settled values too).
 *
 *   deno run -A bench/list_memory.ts <cluster.env> [rounds]
 *
 * The bench control plane (bench/cluster.sh up) is populated with BIG (10,000 Deployments) if it is not yet.
 * One JSON line per round on stdout. BENCH_WATCH_NAMESPACES (e.g. bench-000: 100 Deployments) limits what the
 * service watches, for its idle RSS with few Deployments.
 */
import { BIG } from "./scale.ts";
import { ensurePki, envNumber, Kube, log, populate, readClusterEnv, rssKb, sleep, startService, waitReady } from "./lib.ts";

const clusterEnv = Deno.args[0];
if (!clusterEnv) throw new Error("usage: list_memory.ts <cluster.env> [rounds]");
const rounds = Number(Deno.args[1] ?? 1);
const cluster = readClusterEnv(clusterEnv);
const kube = new Kube(cluster);
const created = await populate(kube, BIG);
kube.close();
log(`list_memory: ${created.created} Deployments created in ${created.seconds.toFixed(1)} s`);
const pki = await ensurePki();
const settleS = envNumber("BENCH_SCALE_SETTLE", 30);

function hwmKb(pid: number): number {
  return Number(/VmHWM:\s*(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))?.[1] ?? NaN);
}

for (let round = 0; round < rounds; round++) {
  const env = { WATCH_NAMESPACES: Deno.env.get("BENCH_WATCH_NAMESPACES") ?? "" };
  const svc = await startService({ name: "svc-list-memory", kubeconfig: cluster.kubeconfig, pki, env });
  const ready = await waitReady(svc, 180_000, 20);
  await sleep(10_000);
  const peak = hwmKb(svc.pid);
  const after10 = rssKb(svc.pid);
  await sleep(Math.max(0, settleS - 10) * 1000);
  const settled = rssKb(svc.pid);
  const listed = svc.readLogs((l) => l.includes('"listed"')).filter((l) => String(l.informer ?? "").startsWith("deployments"));
  await svc.stop();
  console.log(JSON.stringify({
    round,
    readyMs: Math.round(ready - svc.spawnedAt),
    peakMb: Math.round(peak / 1024),
    after10sMb: Math.round(after10 / 1024),
    [`after${settleS}sMb`]: Math.round(settled / 1024),
    listed: listed.map((l) => ({ items: l.items, pages: l.pages, durationMs: l.durationMs })),
  }));
}
