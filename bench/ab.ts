/**
 * Quick A/B of service variants side by side (not part of `make bench`): each variant runs as a fresh
 * process pinned to CPU 0, the load generator on CPU 1, rounds interleaved; prints req/s and server CPU
 * µs per request for GET replicas (keep-alive ×16) and, with AB_LIST=1, the 100-item LIST.
 *
 *   AB_VARIANTS='[{"name":"a","startTask":false},{"name":"b"}]' deno run -A bench/ab.ts
 */
import {
  BENCH_UNLIMITED_SOURCES,
  clusterUp,
  envNumber,
  fmt,
  hasTaskset,
  int,
  Kube,
  loadgen,
  median,
  populate,
  prepareRun,
  startService,
  waitReady,
} from "./lib.ts";

interface Variant {
  name: string;
  env?: Record<string, string>;
  denoFlags?: string[];
  startTask?: boolean;
}
const variants = JSON.parse(Deno.env.get("AB_VARIANTS") ?? '[{"name":"no start-task flags","startTask":false},{"name":"start task"}]') as Variant[];
const rounds = envNumber("AB_ROUNDS", 3);
const durationS = envNumber("AB_DURATION", 5);
const { pki } = await prepareRun("ab", "make loadgen");
const cluster = await clusterUp();
const kube = new Kube(cluster);
await populate(kube, { prefix: "bench", namespaces: 10, perNamespace: 10 });
kube.close();
const cpus = hasTaskset() ? { server: "0", client: "1" } : { server: undefined, client: undefined };
const paths = [["get", "/api/v1/namespaces/bench-000/deployments/app-00000/replicas"]];
if (Deno.env.get("AB_LIST") === "1") paths.push(["list", "/api/v1/deployments"]);
const procs = [];
for (const v of variants) {
  procs.push(
    await startService({
      name: `ab-${v.name.replace(/\W/g, "_")}`,
      kubeconfig: cluster.kubeconfig,
      pki,
      cpus: cpus.server,
      startTask: v.startTask ?? true,
      denoFlags: v.denoFlags,
      env: { ...BENCH_UNLIMITED_SOURCES, ...v.env },
    }),
  );
}
try {
  await Promise.all(procs.map((p) => waitReady(p)));
  const results = new Map<string, { rps: number; cpu: number; p99: number }[]>();
  for (const p of procs) {
    for (const [, path] of paths) {
      await loadgen({ pki, urls: [p.apiUrl + path], label: "warm", durationS: 2, warmupS: 0, cpus: cpus.client, quiet: true });
    }
  }
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...variants.keys()].reverse() : [...variants.keys()];
    for (const i of order) {
      for (const [kind, path] of paths) {
        const res = await loadgen({
          pki,
          urls: [procs[i].apiUrl + path],
          label: `${variants[i].name} ${kind}`,
          durationS,
          warmupS: 1,
          cpus: cpus.client,
          quiet: true,
        }, procs[i].pid);
        const key = `${variants[i].name} ${kind}`;
        results.set(key, [...(results.get(key) ?? []), { rps: res.rps, cpu: (res.serverCpuS! * 1e6) / res.ok, p99: res.latency_ms.p99 }]);
      }
    }
  }
  for (const [key, rs] of results) {
    console.log(
      `${key.padEnd(40)} req/s ${rs.map((x) => int(x.rps)).join(" / ")}  CPU µs/req ${rs.map((x) => fmt(x.cpu, 1)).join(" / ")} (median ${
        fmt(median(rs.map((x) => x.cpu)), 1)
      })  p99 ${rs.map((x) => fmt(x.p99, 2)).join(" / ")} ms`,
    );
  }
} finally {
  await Promise.all(procs.map((p) => p.stop()));
}
