/**
 * `make bench`: throughput/latency (with the ceiling and the Go reference, bench/goref), CPU profiles of the
 * hot paths, memory (RSS idle and under every load mode, bench/memory.ts) and scale (10,000 Deployments) on
 * the bench control plane (bench/cluster.sh: its own state and ports).
 * Prints numbers and a Markdown report; writes it and the raw JSON to .cache/bench/results/.
 *
 *   deno run -A bench/bench.ts [throughput] [profile] [memory] [scale]     (default: all four)
 *
 * Environment: BENCH_DURATION (s per throughput case, 5), BENCH_ROUNDS (2), BENCH_WARMUP (1),
 * BENCH_PLACEMENT (pinned|shared|both), BENCH_CHANGES (200), BENCH_PUTS (200), BENCH_READS (1000),
 * BENCH_POLL_MS (5), BENCH_KEEP_CLUSTER=1 (leave the bench control plane running), LOADGEN and GOREF
 * (binaries); BENCH_MEMORY_DURATION (8), BENCH_MEMORY_IDLE (10), BENCH_MEMORY_ROUNDS (1), BENCH_MEMORY_LIMIT,
 * BENCH_MEMORY_VARIANTS, BENCH_MEMORY_REFERENCES=0 (see bench/memory.ts).
 */
import {
  type BenchCluster,
  clusterRunning,
  clusterScript,
  clusterUp,
  hasTaskset,
  Kube,
  LOADGEN,
  log,
  populate,
  prepareRun,
  run,
} from "./lib.ts";
import { runThroughput } from "./throughput.ts";
import { runProfiles } from "./profile.ts";
import { BIG, measureEmpty, runScale } from "./scale.ts";
import { runMemory } from "./memory.ts";

const SMALL = { prefix: BIG.prefix, namespaces: 10, perNamespace: 10 };
const REPLICAS_PATH = `/api/v1/namespaces/${BIG.prefix}-000/deployments/app-00000/replicas`;

const SECTIONS = ["throughput", "profile", "memory", "scale"];
const sections = Deno.args.length ? Deno.args : SECTIONS;
for (const s of sections) {
  if (!SECTIONS.includes(s)) {
    console.error(`bench: unknown section "${s}" (${SECTIONS.join(", ")})`);
    Deno.exit(2);
  }
}

const { started, resultsDir, stamp, machine, pki } = await prepareRun(
  "bench",
  `build it with make bench (or: cd bench/loadgen && go build -o ${LOADGEN} .)`,
);

// The empty-cluster baseline for memory and ready time needs a cluster without Deployments.

const wantScale = sections.includes("scale");
if (wantScale && await clusterRunning()) {
  const kube = new Kube(await clusterUp());
  const n = (await kube.json("GET", "/apis/apps/v1/deployments?limit=1")).items.length;
  kube.close();
  if (n > 0) {
    log("bench: recreating the bench control plane (the scale baseline needs 0 Deployments)");
    await run(clusterScript(), ["down"]);
  }
}
log("bench: starting the bench control plane (bench/cluster.sh up)");
const cluster: BenchCluster = await clusterUp();
const versions = {
  ...machine,
  "kube-apiserver": cluster.env.CLUSTER_KUBERNETES_VERSION,
  etcd: cluster.env.CLUSTER_ETCD_VERSION,
};

const report: string[] = [];
const json: Record<string, unknown> = { machine: versions, sections };
report.push(`# replica-api benchmark run ${new Date().toISOString()}`, "");
report.push(
  Object.entries(versions).map(([k, v]) => `- ${k}: ${v}`).join("\n"),
  `- taskset: ${hasTaskset() ? "yes" : "no"}`,
  "",
);

let baseline;
try {
  if (wantScale) {
    log("scale: baseline with 0 Deployments");
    baseline = await measureEmpty(pki, cluster);
  }
  if (sections.includes("throughput") || sections.includes("profile") || sections.includes("memory")) {
    const kube = new Kube(cluster);
    const p = await populate(kube, SMALL);
    kube.close();
    log(`bench: small data set: ${SMALL.namespaces * SMALL.perNamespace} Deployments (${p.created} created in ${p.seconds.toFixed(1)} s)`);
  }
  if (sections.includes("throughput")) {
    const t = await runThroughput({
      pki,
      cluster,
      replicasPath: REPLICAS_PATH,
      listPath: "/api/v1/deployments",
      listItems: SMALL.namespaces * SMALL.perNamespace,
    });
    report.push(`## Throughput and latency (mTLS, keep-alive, loopback; ${SMALL.namespaces * SMALL.perNamespace} Deployments cached)`, "");
    report.push(t.markdown, "");
    json.throughput = t;
  }
  if (sections.includes("profile")) {
    const pr = await runProfiles(pki, cluster, [
      { name: "get-replicas", path: REPLICAS_PATH },
      { name: "list-all-100", path: "/api/v1/deployments" },
      { name: "new-conn-get-replicas", path: REPLICAS_PATH, newConn: true },
      { name: "ceiling", path: "/", ceiling: true, layersOnly: true },
    ], { cpus: hasTaskset() ? "0" : undefined, clientCpus: hasTaskset() ? "1" : undefined, outDir: resultsDir });
    report.push("## CPU profiles (V8 sampling profiler via the inspector, 200 µs interval, under closed-loop load)", "");
    report.push(`Files: ${pr.files.join(", ")} (open in Chrome DevTools → Performance).`, "", pr.markdown, "");
    json.profiles = pr.summaries;
  }
  if (sections.includes("memory")) {
    const m = await runMemory({
      pki,
      cluster,
      namespace: `${BIG.prefix}-000`,
      replicasPath: REPLICAS_PATH,
      withReferences: Deno.env.get("BENCH_MEMORY_REFERENCES") !== "0",
    });
    report.push(`## Memory (RSS of the process, idle and under every load mode; ${SMALL.perNamespace} Deployments watched)`, "");
    report.push(m.markdown, "");
    json.memory = m;
  }
  if (wantScale && baseline) {
    const s = await runScale(pki, cluster, baseline);
    report.push(`## Scale (${BIG.namespaces * BIG.perNamespace} Deployments, ${BIG.namespaces} namespaces, local control plane)`, "");
    report.push(s.markdown, "");
    json.scale = s;
  }
} finally {
  await baseline?.proc.stop();
  if (Deno.env.get("BENCH_KEEP_CLUSTER") !== "1") {
    log("bench: stopping the bench control plane (BENCH_KEEP_CLUSTER=1 keeps it)");
    await run(clusterScript(), ["down"]);
  }
}

const minutes = (performance.now() - started) / 60_000;
report.push(`Total runtime: ${minutes.toFixed(1)} min.`);
json.runtimeMinutes = minutes;
const mdFile = `${resultsDir}/bench-${stamp}.md`;
await Deno.writeTextFile(mdFile, report.join("\n") + "\n");
await Deno.writeTextFile(`${resultsDir}/bench-${stamp}.json`, JSON.stringify(json, null, 2));
console.log("\n" + report.join("\n"));
log(`bench: report ${mdFile}`);
