/**
 * CPU profiles of a running Deno process through the inspector protocol
 * (Profiler.start/stop: the V8 sampling profiler, the same data as Chrome
 * DevTools' "Performance" recording), and a text summary of where the time went.
 *
 * Deno 2.9 has no --cpu-prof flag; --v8-flags=--prof writes a V8 log that needs
 * node's or d8's tick processor to read, neither of which is available here.
 * The inspector is only attached to the profiled process, never to a measured one.
 *
 * As a script: deno run -A bench/profile.ts summary <file.cpuprofile>
 */
import {
  BENCH_CACHE,
  BENCH_UNLIMITED_SOURCES,
  type BenchCluster,
  Inspector,
  loadgen,
  log,
  type Pki,
  REPO,
  type ServerProcess,
  sleep,
  startCeiling,
  startService,
  waitReady,
} from "./lib.ts";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Records a CPU profile of `proc` (started with --inspect) while `during` runs. */
export async function recordProfile(proc: ServerProcess, during: () => Promise<unknown>, intervalUs = 100): Promise<CpuProfile> {
  if (!proc.inspectorUrl) throw new Error("process not started with --inspect");
  const insp = await Inspector.connect(proc.inspectorUrl);
  try {
    await insp.send("Profiler.enable");
    await insp.send("Profiler.setSamplingInterval", { interval: intervalUs });
    await insp.send("Profiler.start");
    await during();
    const { profile } = await insp.send("Profiler.stop");
    await insp.send("Profiler.disable");
    await sleep(100);
    return profile as CpuProfile;
  } finally {
    insp.close();
  }
}

function shortUrl(url: string): string {
  if (!url) return "";
  if (url.startsWith(`file://${REPO}`)) return url.slice(`file://${REPO}`.length);
  const npm = /node_modules\/(?:\.deno\/[^/]+\/node_modules\/)?(.*)$/.exec(url);
  if (npm) return `npm:${npm[1]}`;
  return url;
}

/** Where a frame's code lives, for the per-layer split. */
export function layerOf(frame: CallFrame): string {
  const u = frame.url;
  const fn = frame.functionName;
  if (!u) {
    if (fn === "(garbage collector)") return "V8 garbage collector";
    if (fn === "(idle)") return "idle (waiting for I/O)";
    if (fn === "(program)") return "native (outside JS: Rust ops, TLS, syscalls)";
    if (fn === "(root)") return "root";
    return "V8 builtins / native";
  }
  if (u.includes(`${REPO}src/http/`)) return "service: src/http (router, app, problem)";
  if (u.includes(`${REPO}src/tls/`)) return "service: src/tls (node:https adapter)";
  if (u.includes(`${REPO}src/handlers/`)) return "service: src/handlers";
  if (u.includes(`${REPO}src/observability/`)) return "service: src/observability (logger)";
  if (u.includes(`${REPO}src/kube/`)) return "service: src/kube (cache)";
  if (u.includes(`${REPO}src/`)) return "service: src (other)";
  if (u.includes(`${REPO}bench/`)) return "bench";
  if (u.startsWith("node:") || u.includes("ext:deno_node") || u.includes("ext:node")) {
    return "Deno node compat (node:http/https/tls/net/stream)";
  }
  if (u.includes("ext:deno_fetch")) return "Deno fetch (Request/Response/Headers/body)";
  if (u.includes("ext:deno_url")) return "Deno URL / URLPattern";
  if (u.includes("ext:deno_web")) return "Deno web (streams, timers, encoding, events)";
  if (u.includes("ext:core")) return "Deno core (ops, promises)";
  if (u.includes("ext:")) return `Deno ${u.replace(/^ext:([^/]+).*/, "$1")}`;
  if (u.includes("node_modules")) return "npm packages";
  return "other";
}

export interface ProfileSummary {
  totalMs: number;
  samples: number;
  layers: { layer: string; selfPct: number }[];
  topSelf: { fn: string; where: string; selfPct: number; layer: string }[];
  topServiceInclusive: { fn: string; where: string; inclusivePct: number }[];
  topInclusive: { fn: string; where: string; inclusivePct: number }[];
}

export function summarize(profile: CpuProfile, top = 25): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) byId.set(n.id, n);
  // Time per sample: the delta after it (the last one gets the mean).
  const selfUs = new Map<number, number>();
  const deltas = profile.timeDeltas;
  const mean = (profile.endTime - profile.startTime) / Math.max(1, profile.samples.length);
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = i + 1 < deltas.length ? deltas[i + 1] : mean;
    selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + Math.max(0, dt));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0) || 1;
  // Idle time is not CPU: percentages are of busy (non-idle) time.
  let idle = 0;
  for (const [id, us] of selfUs) if (byId.get(id)!.callFrame.functionName === "(idle)") idle += us;
  const busy = total - idle || 1;

  const keyOf = (f: CallFrame) => `${f.functionName || "(anonymous)"}\u0000${shortUrl(f.url)}${f.url ? `:${f.lineNumber + 1}` : ""}`;
  const self = new Map<string, { us: number; layer: string }>();
  const layers = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);

  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const f = node.callFrame;
    if (f.functionName === "(idle)") continue;
    const layer = layerOf(f);
    const k = keyOf(f);
    const s = self.get(k) ?? { us: 0, layer };
    s.us += us;
    self.set(k, s);
    layers.set(layer, (layers.get(layer) ?? 0) + us);
    // Inclusive: every distinct function on the stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parentOf.get(cur)) {
      const key = keyOf(byId.get(cur)!.callFrame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const split = (k: string) => k.split("\u0000") as [string, string];
  const pct = (us: number) => Math.round((us / busy) * 1000) / 10;
  return {
    totalMs: Math.round(total / 1000),
    samples: profile.samples.length,
    layers: [...layers].sort((a, b) => b[1] - a[1]).map(([layer, us]) => ({ layer, selfPct: pct(us) })),
    topSelf: [...self].sort((a, b) => b[1].us - a[1].us).slice(0, top).map(([k, v]) => {
      const [fn, where] = split(k);
      return { fn, where, selfPct: pct(v.us), layer: v.layer };
    }),
    topServiceInclusive: [...inclusive].filter(([k]) => split(k)[1].startsWith("src/"))
      .sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => {
        const [fn, where] = split(k);
        return { fn, where, inclusivePct: pct(us) };
      }),
    topInclusive: [...inclusive].filter(([k]) => !split(k)[0].startsWith("("))
      .sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => {
        const [fn, where] = split(k);
        return { fn, where, inclusivePct: pct(us) };
      }),
  };
}

export function formatSummary(title: string, s: ProfileSummary): string {
  const lines = [`### ${title}`, "", `${s.samples} samples over ${s.totalMs} ms; percentages are of non-idle samples.`, ""];
  lines.push("Self time by layer:", "");
  lines.push("| layer | self % |", "| --- | --- |");
  for (const l of s.layers) lines.push(`| ${l.layer} | ${l.selfPct} |`);
  lines.push("", "Top functions by self time:", "", "| self % | function | where | layer |", "| --- | --- | --- | --- |");
  for (const f of s.topSelf) lines.push(`| ${f.selfPct} | ${f.fn} | ${f.where} | ${f.layer} |`);
  lines.push("", "Service functions (src/) by inclusive time:", "", "| incl. % | function | where |", "| --- | --- | --- |");
  for (const f of s.topServiceInclusive) lines.push(`| ${f.inclusivePct} | ${f.fn} | ${f.where} |`);
  lines.push("", "All functions by inclusive time:", "", "| incl. % | function | where |", "| --- | --- | --- |");
  for (const f of s.topInclusive) lines.push(`| ${f.inclusivePct} | ${f.fn} | ${f.where} |`);
  return lines.join("\n");
}

/**
 * Profiles the service under closed-loop load on each path (server on CPU `cpus`, load generator
 * elsewhere), writes the .cpuprofile files (open them in Chrome DevTools) and returns Markdown.
 */
export interface ProfileTarget {
  name: string;
  path: string;
  /** The ceiling responder instead of the service. */
  ceiling?: boolean;
  /** A new TLS connection per request (handshake path). */
  newConn?: boolean;
  /** Print only the layer split (for reference profiles). */
  layersOnly?: boolean;
  /** Keep-alive connections (default 16; 8 with newConn). */
  connections?: number;
}

export async function runProfiles(
  pki: Pki,
  cluster: BenchCluster,
  targets: ProfileTarget[],
  opts: { cpus?: string; clientCpus?: string; durationS?: number; outDir: string },
): Promise<{ markdown: string; files: string[]; summaries: Record<string, ProfileSummary> }> {
  const inspect = ["--inspect=127.0.0.1:0"];
  // The new-connection profile opens connections at full speed from 127.0.0.1, far above the per-source defaults.
  const svc = await startService({
    name: "svc-profile",
    kubeconfig: cluster.kubeconfig,
    pki,
    cpus: opts.cpus,
    denoFlags: inspect,
    env: { ...BENCH_UNLIMITED_SOURCES },
  });
  const ceiling = targets.some((t) => t.ceiling)
    ? await startCeiling({ name: "ceiling-profile", pki, cpus: opts.cpus, denoFlags: inspect })
    : undefined;
  const md: string[] = [];
  const files: string[] = [];
  const summaries: Record<string, ProfileSummary> = {};
  try {
    await waitReady(svc);
    for (const p of targets) {
      const server = p.ceiling ? ceiling! : svc;
      const url = server.apiUrl + p.path;
      const connections = p.connections ?? (p.newConn ? 8 : 16);
      const common = { pki, urls: [url], connections, newConn: p.newConn, warmupS: 0, cpus: opts.clientCpus };
      await loadgen({ ...common, label: `profile warm-up ${p.name}`, durationS: 3, quiet: true });
      log(`profile: ${p.name}`);
      const profile = await recordProfile(
        server,
        () => loadgen({ ...common, label: `under profiler: ${p.name}`, durationS: opts.durationS ?? 8 }),
        200,
      );
      const file = `${opts.outDir}/profile-${p.name}.cpuprofile`;
      await Deno.writeTextFile(file, JSON.stringify(profile));
      files.push(file.replace(BENCH_CACHE, ".cache/bench"));
      const s = summarize(profile, 20);
      summaries[p.name] = s;
      const title = `CPU profile: ${p.name} (${p.ceiling ? "ceiling " : ""}${p.path}${
        p.newConn ? ", new TLS connection per request" : ""
      })`;
      md.push(p.layersOnly ? formatLayers(title, s) : formatSummary(title, s), "");
    }
  } finally {
    await svc.stop();
    await ceiling?.stop();
  }
  return { markdown: md.join("\n"), files, summaries };
}

export function formatLayers(title: string, s: ProfileSummary): string {
  const lines = [`### ${title}`, "", `${s.samples} samples over ${s.totalMs} ms; percentages are of non-idle samples.`, ""];
  lines.push("| layer | self % |", "| --- | --- |");
  for (const l of s.layers) lines.push(`| ${l.layer} | ${l.selfPct} |`);
  lines.push("", "Top functions by self time:", "", "| self % | function | where |", "| --- | --- | --- |");
  for (const f of s.topSelf.slice(0, 10)) lines.push(`| ${f.selfPct} | ${f.fn} | ${f.where} |`);
  return lines.join("\n");
}

if (import.meta.main) {
  const [cmd, file] = Deno.args;
  if (cmd !== "summary" || !file) {
    console.error("usage: deno run -A bench/profile.ts summary <file.cpuprofile>");
    Deno.exit(2);
  }
  console.log(formatSummary(file, summarize(JSON.parse(Deno.readTextFileSync(file)))));
}
