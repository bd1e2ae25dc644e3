/**
 * Memory of the service process (RSS, what the kernel and a Pod's memory limit count), idle and under every
 * load mode, side by side with the references:
 *
 *   idle        RSS 10 s after /readyz turned 200, with WATCH_NAMESPACES set to one namespace of 10 Deployments
 *   ka16        keep-alive, 16 connections, closed loop, GET replicas
 *   newconn     a new TLS connection (full handshake) per request, 8 workers
 *   c256        keep-alive, 256 connections (p99 and max latency are targets too)
 *   idle1000    1,000 idle TLS connections held open (handshake done, no request)
 *   after 30 s  RSS 30 s after the last load mode ended
 *
 * Peak is the kernel's own high-water mark (VmHWM in /proc/<pid>/status), so no sampling gap can hide it;
 * the per-mode peaks come from sampling VmRSS every 50 ms. The service runs exactly as `deno task start` runs
 * it (the start task's environment and Deno flags, read from deno.json; see startService), with the
 * per-source limits raised as behind a proxy (every client shares one address), which is the worst case for
 * memory. Each target gets a fresh process; the targets alternate within a round.
 *
 * BENCH_MEMORY_LIMIT (e.g. 320Mi, or bytes): run each service variant inside a cgroup v1 memory cgroup with that hard
 * limit, as in a Pod with that memory limit; the table then shows the cgroup's own peak (it counts page cache
 * too), how often the limit was hit, and whether the process was OOM-killed (exit 137).
 *
 * BENCH_MEMORY_VARIANTS (JSON, for before/after runs): [{"name": "...", "env": {...}, "denoFlags": [...],
 * "startTask": false}] replaces the default single "replica-api" variant; startTask false drops the start task's
 * own environment and flags (the state before they existed).
 */
import {
  BENCH_UNLIMITED_SOURCES,
  type BenchCluster,
  envNumber,
  fmt,
  int,
  loadgen,
  type LoadgenOptions,
  type LoadgenResult,
  log,
  median,
  memoryCgroup,
  type Pki,
  rssKb,
  type ServerProcess,
  sleep,
  startCeiling,
  startGoReference,
  startService,
  table,
  verdict,
  waitReady,
} from "./lib.ts";

export interface MemoryOptions {
  pki: Pki;
  cluster: BenchCluster;
  /** A namespace holding exactly the idle case's Deployments (10), and a GET replicas path inside it. */
  namespace: string;
  replicasPath: string;
  /** The body the ceiling answers with (the service's own GET replicas body). */
  ceilingBody?: string;
  withReferences?: boolean;
}

interface Variant {
  name: string;
  env?: Record<string, string>;
  denoFlags?: string[];
  startTask?: boolean;
}

interface Mode {
  id: string;
  label: string;
  load: Omit<LoadgenOptions, "pki" | "urls" | "label">;
}

const MODES: Mode[] = [
  { id: "ka16", label: "keep-alive ×16", load: { connections: 16 } },
  { id: "newconn", label: "new connection per request ×8", load: { connections: 8, newConn: true } },
  { id: "c256", label: "keep-alive ×256", load: { connections: 256, timeoutS: 30 } },
  { id: "idle1000", label: "1,000 idle TLS connections", load: { connections: 1000, abuse: "idle-tls" } },
];

export interface MemoryRun {
  target: string;
  idleKb: number;
  idleAnonKb: number;
  idleFileKb: number;
  modes: { id: string; peakKb: number; afterKb: number; result: LoadgenResult }[];
  peakKb: number;
  after30Kb: number;
  exitCode?: number;
  /** With BENCH_MEMORY_LIMIT: the cgroup's view. */
  cgroup?: { limitBytes: number; maxBytes: number; failcnt: number; oomKills: number };
  /** Set when the process died during the run (e.g. OOM-killed under BENCH_MEMORY_LIMIT). */
  failed?: string;
}

function status(pid: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of Deno.readTextFileSync(`/proc/${pid}/status`).matchAll(/^(Vm\w+|Rss\w+):\s*(\d+) kB/gm)) out[m[1]] = Number(m[2]);
  return out;
}

/** Samples VmRSS every 50 ms until stopped; returns the largest value seen. */
function sampler(pid: number): { stop(): number } {
  let peak = 0;
  const tick = () => {
    try {
      peak = Math.max(peak, rssKb(pid));
    } catch { /* exited */ }
  };
  tick();
  const timer = setInterval(tick, 50);
  return {
    stop() {
      clearInterval(timer);
      tick();
      return peak;
    },
  };
}

async function measure(target: string, proc: ServerProcess, url: string, pki: Pki, durationS: number, idleS: number): Promise<MemoryRun> {
  await sleep(idleS * 1000);
  const idle = status(proc.pid);
  const modes: MemoryRun["modes"] = [];
  for (const mode of MODES) {
    const s = sampler(proc.pid);
    const result = await loadgen({
      pki,
      urls: [url],
      label: `${target} ${mode.id}`,
      durationS,
      warmupS: mode.load.abuse ? undefined : 0,
      quiet: true,
      ...mode.load,
    });
    const peakKb = s.stop();
    await sleep(1000);
    modes.push({ id: mode.id, peakKb, afterKb: rssKb(proc.pid), result });
    log(
      `memory: ${target} ${mode.id}: peak ${(peakKb / 1024).toFixed(0)} MB, ${int(result.rps)} req/s, p99 ${
        fmt(result.latency_ms?.p99 ?? NaN, 1)
      } ms`,
    );
  }
  await sleep(30_000);
  const end = status(proc.pid);
  return {
    target,
    idleKb: idle.VmRSS,
    idleAnonKb: idle.RssAnon,
    idleFileKb: idle.RssFile,
    modes,
    peakKb: end.VmHWM,
    after30Kb: end.VmRSS,
  };
}

function parseBytes(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(value.trim());
  if (!m) throw new Error(`BENCH_MEMORY_LIMIT: "${value}" is not bytes or a number with Ki/Mi/Gi`);
  return Number(m[1]) * { "": 1, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[m[2] ?? ""]!;
}

function variants(): Variant[] {
  const raw = Deno.env.get("BENCH_MEMORY_VARIANTS");
  if (!raw) return [{ name: "replica-api" }];
  return JSON.parse(raw) as Variant[];
}

export interface MemoryResult {
  runs: MemoryRun[];
  markdown: string;
  targets: Record<string, boolean>;
}

export async function runMemory(o: MemoryOptions): Promise<MemoryResult> {
  const durationS = envNumber("BENCH_MEMORY_DURATION", 8);
  const idleS = envNumber("BENCH_MEMORY_IDLE", 10);
  const rounds = envNumber("BENCH_MEMORY_ROUNDS", 1);
  const vs = variants();
  const limitBytes = parseBytes(Deno.env.get("BENCH_MEMORY_LIMIT"));
  const runs: MemoryRun[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? vs : [...vs].reverse();
    for (const v of order) {
      const cg = limitBytes ? memoryCgroup(`replica-api-bench-${Deno.pid}-${v.name.replace(/\W/g, "_")}-${r}`, limitBytes) : undefined;
      const proc = await startService({
        name: `svc-memory-${v.name}`,
        kubeconfig: o.cluster.kubeconfig,
        pki: o.pki,
        startTask: v.startTask ?? true,
        denoFlags: v.denoFlags,
        cgroup: cg?.path,
        env: { ...BENCH_UNLIMITED_SOURCES, WATCH_NAMESPACES: o.namespace, ...v.env },
      });
      let run: MemoryRun;
      try {
        await waitReady(proc);
        run = await measure(v.name, proc, proc.apiUrl + o.replicasPath, o.pki, durationS, idleS);
      } catch (error) {
        run = {
          target: v.name,
          idleKb: NaN,
          idleAnonKb: NaN,
          idleFileKb: NaN,
          modes: [],
          peakKb: NaN,
          after30Kb: NaN,
          failed: String(error),
        };
      }
      run.exitCode = await proc.stop();
      if (cg) {
        run.cgroup = { limitBytes: limitBytes!, ...cg.usage() };
        cg.remove();
      }
      runs.push(run);
    }
    if (o.withReferences && r === 0) {
      const refs: [string, () => Promise<ServerProcess>, string][] = [
        ["ceiling (node:https fixed body)", () => startCeiling({ name: "ceiling-memory", pki: o.pki, body: o.ceilingBody }), "/"],
        [
          "Go reference (net/http + client-go informer)",
          () => startGoReference({ name: "goref-memory", pki: o.pki, cluster: o.cluster }),
          o.replicasPath,
        ],
      ];
      for (const [name, start, path] of refs) {
        const proc = await start();
        try {
          runs.push(await measure(name, proc, proc.apiUrl + path, o.pki, durationS, idleS));
        } finally {
          runs.at(-1)!.exitCode = await proc.stop();
        }
      }
    }
  }

  const mb = (kb: number) => fmt(kb / 1024, 0);
  const ok = runs.filter((r) => !r.failed);
  const rows = ok.map((r) => [
    r.target,
    `${mb(r.idleKb)} (anon ${mb(r.idleAnonKb)}, file ${mb(r.idleFileKb)})`,
    ...MODES.map((m) => mb(r.modes.find((x) => x.id === m.id)!.peakKb)),
    `**${mb(r.peakKb)}**`,
    `${mb(r.after30Kb)} (${fmt(((r.after30Kb - r.idleKb) / r.idleKb) * 100, 0)} %)`,
  ]);
  const latRows = ok.map((r) => [
    r.target,
    ...MODES.filter((m) => !m.load.abuse).map((m) => {
      const x = r.modes.find((y) => y.id === m.id)!.result;
      return `${int(x.rps)} req/s, p99 ${fmt(x.latency_ms.p99, 1)} ms, max ${fmt(x.latency_ms.max, 0)} ms, ${x.error_count} errors`;
    }),
  ]);
  const cgRows = runs.filter((r) => r.cgroup).map((r) => [
    r.target,
    mb(r.cgroup!.limitBytes / 1024),
    mb(r.cgroup!.maxBytes / 1024),
    String(r.cgroup!.failcnt),
    String(r.cgroup!.oomKills),
    `${r.exitCode}${r.exitCode === 137 ? " (killed)" : ""}`,
    r.failed ? r.failed.slice(0, 120) : "",
  ]);
  const svc = ok.filter((r) => !r.target.includes("reference") && !r.target.includes("ceiling"));
  const idle = median(svc.map((r) => r.idleKb));
  const peak = Math.max(...svc.map((r) => r.peakKb));
  const after = Math.max(...svc.map((r) => Math.abs(r.after30Kb - r.idleKb) / r.idleKb));
  const c256 = svc.map((r) => r.modes.find((m) => m.id === "c256")!.result.latency_ms);
  const targets = {
    idle10: idle <= 100 * 1024,
    peak: peak <= 200 * 1024,
    after30: after <= 0.2,
    c256p99: Math.max(...c256.map((l) => l.p99)) <= 50,
    c256max: Math.max(...c256.map((l) => l.max)) <= 200,
  };
  const md = [
    `Fresh process per target; RSS in MB (1 MB = 1,024 KB); ${idleS} s idle, then each mode for ${durationS} s, one after the other; peak is VmHWM.`,
    "",
    table(
      ["target", "idle (10 Deployments)", ...MODES.map((m) => `peak: ${m.label}`), "peak, all modes", "30 s after load (vs idle)"],
      rows,
    ),
    "",
    table(["target", ...MODES.filter((m) => !m.load.abuse).map((m) => m.label)], latRows),
    "",
    ...(cgRows.length
      ? [
        "Under a cgroup v1 memory limit (BENCH_MEMORY_LIMIT; the cgroup counts page cache too):",
        "",
        table(["target", "limit MB", "cgroup peak MB", "times at the limit", "OOM kills", "exit code", "failure"], cgRows),
        "",
      ]
      : []),
    `- idle, 10 Deployments ≤ 100 MB: ${mb(idle)} MB — ${verdict(targets.idle10)}`,
    `- peak over every load mode ≤ 200 MB: ${mb(peak)} MB — ${verdict(targets.peak)}`,
    `- 30 s after load within 20 % of idle: ${fmt(after * 100, 0)} % — ${verdict(targets.after30)}`,
    `- 256 connections: p99 ${c256.map((l) => fmt(l.p99, 1)).join(" / ")} ms (≤ 50: ${verdict(targets.c256p99)}), max ${
      c256.map((l) => fmt(l.max, 0)).join(" / ")
    } ms (≤ 200: ${verdict(targets.c256max)})`,
    `- exit codes on SIGTERM: ${runs.map((r) => `${r.target} ${r.exitCode}`).join(", ")}`,
  ];
  return { runs, markdown: md.join("\n"), targets };
}
