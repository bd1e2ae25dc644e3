/**
 * Throughput and latency over mTLS on loopback, side by side in one run:
 *
 *   (c) the ceiling: bench/ceiling_server.ts, a fixed-body node:https mTLS responder in Deno
 *   (a) GET .../replicas on the service (ACCESS_LOG=false), and again with ACCESS_LOG=true
 *   (b) GET /api/v1/deployments (all Deployments of the small data set)
 *   (d) a new TLS connection (full TLS 1.3 handshake with client certificate) per request, on
 *       the service and on the ceiling
 *
 * Each case runs BENCH_ROUNDS times, interleaved (the order is reversed every other round),
 * for BENCH_DURATION seconds after a warm-up; the table shows medians, and every ratio is
 * computed within a round and then the median taken. With taskset, servers run on CPU 0 and the
 * load generator on CPU 1 ("pinned"); the same cases also run unpinned ("shared").
 * Server CPU per request comes from /proc/<pid>/stat and is less noisy than req/s.
 */
import {
  BENCH_UNLIMITED_SOURCES,
  type BenchCluster,
  envNumber,
  fmt,
  hasTaskset,
  int,
  loadgen,
  type LoadgenResult,
  log,
  median,
  type Pki,
  type ServerProcess,
  serviceClient,
  startCeiling,
  startGoReference,
  startService,
  table,
  verdict,
  waitReady,
} from "./lib.ts";

export interface ThroughputOptions {
  pki: Pki;
  cluster: BenchCluster;
  /** GET .../replicas target and the namespace it lives in. */
  replicasPath: string;
  listPath: string;
  listItems: number;
}

interface Case {
  id: string;
  label: string;
  server: "svc" | "svcLog" | "ceiling" | "ceilingHeaders" | "goref";
  path: "replicas" | "list" | "ceiling";
  newConn?: boolean;
  connections: number;
  /** Compared with the ceiling and the Go reference at the same connection count (see MODE_REFERENCES). */
  mode?: "c256";
}

const ALL_CASES: Case[] = [
  { id: "c", label: "(c) ceiling: node:https fixed body", server: "ceiling", path: "ceiling", connections: 16 },
  {
    id: "c_h",
    label: "ceiling with the service's extra response headers (informational)",
    server: "ceilingHeaders",
    path: "ceiling",
    connections: 16,
  },
  { id: "a", label: "(a) GET replicas", server: "svc", path: "replicas", connections: 16 },
  { id: "a_log", label: "(a) GET replicas, ACCESS_LOG=true", server: "svcLog", path: "replicas", connections: 16 },
  { id: "b", label: "(b) GET all Deployments", server: "svc", path: "list", connections: 16 },
  { id: "d", label: "(d) new TLS conn per request: GET replicas", server: "svc", path: "replicas", newConn: true, connections: 8 },
  { id: "d_c", label: "new TLS conn per request: ceiling", server: "ceiling", path: "ceiling", newConn: true, connections: 8 },
  { id: "g", label: "(g) Go reference (net/http + client-go informer): GET replicas", server: "goref", path: "replicas", connections: 16 },
  {
    id: "d_g",
    label: "new TLS conn per request: Go reference",
    server: "goref",
    path: "replicas",
    newConn: true,
    connections: 8,
  },
  // 256 keep-alive connections, measured after the warm-up: the latency of a busy server, not of 256 handshakes
  // at once (those are in the memory section's keep-alive ×256 mode, which measures from the first connect).
  { id: "e", label: "(e) GET replicas, 256 connections", server: "svc", path: "replicas", connections: 256, mode: "c256" },
  { id: "e_c", label: "256 connections: ceiling", server: "ceiling", path: "ceiling", connections: 256, mode: "c256" },
  { id: "e_g", label: "256 connections: Go reference", server: "goref", path: "replicas", connections: 256, mode: "c256" },
];

/** The connection mode a case is compared within ("× same mode"): new connections, 256 connections, or 16. */
function modeOf(c: Case): "newConn" | "c256" | "ka16" {
  return c.newConn ? "newConn" : c.mode ?? "ka16";
}
/** Per mode: the ceiling's and the Go reference's case ids. */
const MODE_REFERENCES = { ka16: ["c", "g"], newConn: ["d_c", "d_g"], c256: ["e_c", "e_g"] } as const;

/**
 * BENCH_CASES=a,c (ids above) runs a subset, for quick before/after checks while changing the
 * service; the ceiling (c) and (a) are always included because every ratio is taken against (c)
 * and the target is about (a), and d_c runs whenever d does.
 */
function selectedCases(): Case[] {
  const wanted = Deno.env.get("BENCH_CASES");
  if (!wanted) return ALL_CASES;
  const ids = new Set(wanted.split(",").map((s) => s.trim()).filter(Boolean));
  const unknown = [...ids].filter((id) => !ALL_CASES.some((c) => c.id === id));
  if (unknown.length) {
    throw new Error(`BENCH_CASES: unknown case(s) ${unknown.join(", ")}; known: ${ALL_CASES.map((c) => c.id).join(", ")}`);
  }
  ids.add("c").add("a").add("g");
  if (ids.has("d")) ids.add("d_c").add("d_g");
  if (ids.has("e")) ids.add("e_c").add("e_g");
  return ALL_CASES.filter((c) => ids.has(c.id));
}

export interface CaseResult {
  id: string;
  label: string;
  placement: string;
  rounds: LoadgenResult[];
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: number;
  cpuUsPerReq: number;
  /** Median over rounds of (this rps / ceiling rps in the same round). */
  ratioToCeiling?: number;
  /** For (d) and (e): vs the ceiling's case of the same connection mode. */
  ratioToCeilingSameMode?: number;
  /** Median over rounds of (this rps / the Go reference's rps in the same round, same connection mode). */
  ratioToGo?: number;
}

export interface ThroughputResult {
  durationS: number;
  rounds: number;
  placements: { placement: string; cases: CaseResult[] }[];
  markdown: string;
  targetMet: boolean;
}

let listShape = "";

/** Headers GET replicas sends that the plain ceiling does not (Content-Type and Content-Length both send). */
const SERVICE_EXTRA_HEADERS = ["cache-status", "etag", "x-request-id"];

export async function runThroughput(o: ThroughputOptions): Promise<ThroughputResult> {
  const durationS = envNumber("BENCH_DURATION", 5);
  const warmupS = envNumber("BENCH_WARMUP", 1);
  const rounds = envNumber("BENCH_ROUNDS", 2);
  const placements: { name: string; server?: string; client?: string }[] = [];
  if (hasTaskset()) placements.push({ name: "pinned (server CPU 0, loadgen CPU 1)", server: "0", client: "1" });
  placements.push({ name: "shared (no pinning)" });
  if (Deno.env.get("BENCH_PLACEMENT") === "pinned") placements.splice(1);
  if (Deno.env.get("BENCH_PLACEMENT") === "shared") placements.splice(0, placements.length - 1);

  const CASES = selectedCases();
  const out: ThroughputResult["placements"] = [];
  for (const placement of placements) {
    log(`throughput: ${placement.name}`);
    const servers = await startServers(o, placement.server);
    try {
      const urlOf = (c: Case) => {
        const s = servers[c.server];
        return s.apiUrl + (c.path === "replicas" ? o.replicasPath : c.path === "list" ? o.listPath : "/");
      };
      // Warm up every server/path (JIT, TLS session state, connection pools).
      for (const c of CASES.filter((c) => !c.newConn)) {
        await loadgen({
          pki: o.pki,
          urls: [urlOf(c)],
          label: `warm-up ${c.id}`,
          durationS: 2,
          warmupS: 0,
          cpus: placement.client,
          quiet: true,
        });
      }
      const perCase = new Map<string, LoadgenResult[]>();
      for (let r = 0; r < rounds; r++) {
        const order = r % 2 === 0 ? CASES : [...CASES].reverse();
        for (const c of order) {
          const res = await loadgen({
            pki: o.pki,
            urls: [urlOf(c)],
            label: `${c.id} r${r + 1} ${placement.server ? "pinned" : "shared"}`,
            connections: c.connections,
            durationS,
            warmupS,
            newConn: c.newConn,
            cpus: placement.client,
          }, servers[c.server].pid);
          perCase.set(c.id, [...(perCase.get(c.id) ?? []), res]);
        }
      }
      const ceilingRounds = perCase.get("c")!;
      const cases: CaseResult[] = CASES.map((c) => {
        const rs = perCase.get(c.id)!;
        const res: CaseResult = {
          id: c.id,
          label: c.id === "b" ? `${c.label} (${listShape})` : c.label,
          placement: placement.name,
          rounds: rs,
          rps: median(rs.map((x) => x.rps)),
          p50: median(rs.map((x) => x.latency_ms.p50)),
          p90: median(rs.map((x) => x.latency_ms.p90)),
          p99: median(rs.map((x) => x.latency_ms.p99)),
          max: Math.max(...rs.map((x) => x.latency_ms.max)),
          errors: rs.reduce((n, x) => n + x.error_count, 0),
          cpuUsPerReq: median(rs.map((x) => ((x.serverCpuS ?? NaN) * 1e6) / (x.ok || 1))),
        };
        res.ratioToCeiling = median(rs.map((x, i) => x.rps / ceilingRounds[i].rps));
        const [ceilingId, goId] = MODE_REFERENCES[modeOf(c)];
        const ceilingSame = perCase.get(ceilingId);
        if (modeOf(c) !== "ka16" && ceilingSame) res.ratioToCeilingSameMode = median(rs.map((x, i) => x.rps / ceilingSame[i].rps));
        const goSame = perCase.get(goId);
        if (goSame && c.path === "replicas") res.ratioToGo = median(rs.map((x, i) => x.rps / goSame[i].rps));
        return res;
      });
      out.push({ placement: placement.name, cases });
    } finally {
      await Promise.all(Object.values(servers).map((s) => s.stop()));
    }
  }

  const md: string[] = [];
  let targetMet = true;
  for (const p of out) {
    const ceiling = p.cases.find((c) => c.id === "c")!;
    md.push(
      `**${p.placement}** — ${rounds} interleaved rounds of ${durationS} s each (+${warmupS} s warm-up); medians over rounds (mean of the middle two for an even count), max over rounds.`,
      "",
    );
    md.push(table(
      [
        "case",
        "req/s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "errors",
        "server CPU µs/req",
        "× ceiling (c)",
        "× ceiling, same mode",
        "× Go reference, same mode",
      ],
      p.cases.map((c) => [
        c.label,
        int(c.rps),
        fmt(c.p50, 3),
        fmt(c.p90, 3),
        fmt(c.p99, 3),
        fmt(c.max, 1),
        String(c.errors),
        fmt(c.cpuUsPerReq, 1),
        fmt(c.ratioToCeiling!, 2),
        c.ratioToCeilingSameMode !== undefined ? fmt(c.ratioToCeilingSameMode, 2) : c.id === "c" || c.id === "e_c" ? "1.00" : "",
        c.ratioToGo !== undefined ? fmt(c.ratioToGo, 2) : "",
      ]),
    ));
    const a = p.cases.find((c) => c.id === "a")!;
    const b = p.cases.find((c) => c.id === "b");
    const d = p.cases.find((c) => c.id === "d");
    const met = a.ratioToCeiling! >= 0.9;
    targetMet &&= met;
    md.push(
      "",
      `- Target (a) ≥ 0.9 × (c): ${fmt(a.ratioToCeiling!, 2)} × — ${verdict(met)}` +
        (met ? "" : ` (short by ${fmt((0.9 - a.ratioToCeiling!) * ceiling.rps, 0)} req/s at this ceiling)`) +
        `; CPU per request ${fmt(a.cpuUsPerReq, 1)} µs vs ${fmt(ceiling.cpuUsPerReq, 1)} µs (${
          fmt(ceiling.cpuUsPerReq / a.cpuUsPerReq, 2)
        } ×). Versus the Go reference: ${fmt(a.ratioToGo!, 2)} ×.`,
    );
    if (b) {
      md.push(`- Target (b) LIST of ${o.listItems} ≥ 0.8 × (c): ${fmt(b.ratioToCeiling!, 2)} × — ${verdict(b.ratioToCeiling! >= 0.8)}.`);
    }
    if (d) {
      md.push(
        `- Target (d) new connections ≥ 0.95 × the ceiling's rate: ${fmt(d.ratioToCeilingSameMode!, 2)} × — ${
          verdict(d.ratioToCeilingSameMode! >= 0.95)
        }. Versus the Go reference: ${fmt(d.ratioToGo!, 2)} ×.`,
      );
    }
    const e = p.cases.find((c) => c.id === "e");
    if (e) {
      const p99Met = e.p99 <= 50;
      const maxMet = e.max <= 200;
      md.push(
        `- Target (e) 256 connections, after the ${warmupS} s warm-up: p99 ${fmt(e.p99, 1)} ms (≤ 50: ${verdict(p99Met)}), max ${
          fmt(e.max, 0)
        } ms (≤ 200: ${verdict(maxMet)}), at ${int(e.rps)} req/s (${fmt(e.ratioToCeilingSameMode!, 2)} × the ceiling's rate at 256).`,
      );
    }
    md.push("");
  }
  return { durationS, rounds, placements: out, markdown: md.join("\n"), targetMet };
}

async function startServers(o: ThroughputOptions, cpus?: string): Promise<Record<Case["server"], ServerProcess>> {
  // Case (d) opens a new connection per request from 127.0.0.1, far above the per-source defaults.
  const env = { ...BENCH_UNLIMITED_SOURCES };
  const svc = await startService({ name: "svc", kubeconfig: o.cluster.kubeconfig, pki: o.pki, cpus, accessLog: false, env });
  const svcLog = await startService({ name: "svc-accesslog", kubeconfig: o.cluster.kubeconfig, pki: o.pki, cpus, accessLog: true, env });
  await Promise.all([waitReady(svc), waitReady(svcLog)]);
  // The ceiling answers with exactly the body the service sends for the same request.
  const client = serviceClient(o.pki);
  const sample = await fetch(svc.apiUrl + o.replicasPath, { client });
  const body = await sample.text();
  client.close();
  if (!body.includes('"replicas"')) throw new Error(`unexpected GET replicas body: ${body}`);
  const ceiling = await startCeiling({ name: "ceiling", pki: o.pki, cpus, body });
  // The same response byte for byte (give or take the request id's value): the cost of the bigger response alone.
  const extra = Object.fromEntries(SERVICE_EXTRA_HEADERS.map((name) => [name, sample.headers.get(name) ?? ""]));
  const ceilingHeaders = await startCeiling({
    name: "ceiling-headers",
    pki: o.pki,
    cpus,
    body,
    env: { CEILING_HEADERS: JSON.stringify(extra) },
  });
  const listClient = serviceClient(o.pki);
  const list = await (await fetch(svc.apiUrl + o.listPath, { client: listClient })).text();
  listClient.close();
  listShape = `${JSON.parse(list).items.length} items, ${(list.length / 1024).toFixed(1)} KB`;
  const goref = await startGoReference({ name: "goref", pki: o.pki, cluster: o.cluster, cpus });
  return { svc, svcLog, ceiling, ceilingHeaders, goref };
}
