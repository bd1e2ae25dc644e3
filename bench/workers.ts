/**
 * `make bench-workers`: what serving from several isolates can gain, and what forwarding every request to one
 * isolate costs, before the service takes either shape (issue: several serving isolates, one application state).
 * Side by side in one run, rounds alternating (the order reversed every other round), all on the ceiling responder
 * (a fixed body: no router, no cache), so only the process shape differs:
 *
 * - one isolate: bench/ceiling_server.ts, as the service serves today;
 * - N workers, each answering locally: bench/ceiling_workers.ts CEILING_MODE=local (the upper bound);
 * - N workers forwarding every request to the main isolate and writing its answer: CEILING_MODE=forward, one
 *   message per request, CEILING_MODE=batch, one message per turn of the worker's event loop, and
 *   CEILING_MODE=ring, shared-memory rings (bench/_ring.ts) instead of postMessage.
 *
 * Cases: keep-alive ×16, 256 connections, and a new TLS connection per request. Prints req/s, p99, server CPU per
 * request, and each shape's ratio to one isolate within a round (medians over rounds), and each shape's resident
 * memory idle and after the last round. Not a timed test.
 *
 * Environment: BENCH_WORKERS (2), BENCH_ROUNDS (3), BENCH_DURATION (6 s), BENCH_WARMUP (1 s).
 */
import {
  envNumber,
  fmt,
  int,
  loadgen,
  type LoadgenResult,
  log,
  median,
  prepareRun,
  rssKb,
  type ServerProcess,
  startCeiling,
  startCeilingWorkers,
  table,
} from "./lib.ts";

const workers = envNumber("BENCH_WORKERS", 2);
const rounds = envNumber("BENCH_ROUNDS", 3);
const durationS = envNumber("BENCH_DURATION", 6);
const warmupS = envNumber("BENCH_WARMUP", 1);
const { pki, resultsDir, machine } = await prepareRun("bench-workers", "make loadgen");

type Shape = "one" | "local" | "forward" | "batch" | "ring";
const SHAPES: { id: Shape; label: string }[] = [
  { id: "one", label: "one isolate (today)" },
  { id: "local", label: `${workers} workers, each answering` },
  { id: "forward", label: `${workers} workers forwarding to the main isolate` },
  { id: "batch", label: `${workers} workers forwarding, one message per batch` },
  { id: "ring", label: `${workers} workers forwarding through shared-memory rings` },
];
const CASES = [
  { id: "k16", label: "keep-alive ×16", connections: 16, newConn: false },
  { id: "c256", label: "256 connections", connections: 256, newConn: false },
  { id: "new", label: "new connection per request ×16", connections: 16, newConn: true },
];

const servers: Record<Shape, ServerProcess> = {
  one: await startCeiling({ pki, name: "ceiling-one" }),
  local: await startCeilingWorkers({ pki, workers, mode: "local" }),
  forward: await startCeilingWorkers({ pki, workers, mode: "forward" }),
  batch: await startCeilingWorkers({ pki, workers, mode: "batch" }),
  ring: await startCeilingWorkers({ pki, workers, mode: "ring" }),
};
const results: Record<string, Record<Shape, LoadgenResult[]>> = {};
// Resident memory of each shape: idle after start, and right after the last round (what extra isolates cost).
const rss: Record<Shape, { idleKb: number; afterKb: number }> = Object.fromEntries(
  SHAPES.map((s) => [s.id, { idleKb: rssKb(servers[s.id].pid), afterKb: 0 }]),
) as Record<Shape, { idleKb: number; afterKb: number }>;
try {
  for (let round = 0; round < rounds; round++) {
    for (const c of CASES) {
      const order = round % 2 === 0 ? SHAPES : [...SHAPES].reverse();
      for (const shape of order) {
        const server = servers[shape.id];
        const r = await loadgen({
          pki,
          urls: [`${server.apiUrl}/api/v1/namespaces/bench-00/deployments/app-000/replicas`],
          label: `${c.id}/${shape.id}`,
          connections: c.connections,
          durationS,
          warmupS,
          newConn: c.newConn,
          quiet: true,
        }, server.pid);
        (results[c.id] ??= { one: [], local: [], forward: [], batch: [], ring: [] })[shape.id].push(r);
        log(
          `bench-workers: round ${round + 1} ${c.label} ${shape.label}: ${int(r.rps)} req/s, p99 ${fmt(r.latency_ms.p99)} ms, ` +
            `errors ${r.error_count}`,
        );
      }
    }
  }
  for (const shape of SHAPES) rss[shape.id].afterKb = rssKb(servers[shape.id].pid);
} finally {
  for (const s of Object.values(servers)) {
    try {
      Deno.kill(s.pid, "SIGTERM");
    } catch { /* already gone */ }
  }
}

const cpuUs = (r: LoadgenResult) => (r.serverCpuS ?? NaN) / Math.max(1, r.ok) * 1e6;
const rows: string[][] = [];
for (const c of CASES) {
  const byShape = results[c.id];
  for (const shape of SHAPES) {
    const rs = byShape[shape.id];
    const ratios = rs.map((r, i) => r.rps / byShape.one[i].rps);
    rows.push([
      c.label,
      shape.label,
      `${int(Math.min(...rs.map((r) => r.rps)))}–${int(Math.max(...rs.map((r) => r.rps)))}`,
      shape.id === "one" ? "1" : fmt(median(ratios)),
      fmt(median(rs.map((r) => r.latency_ms.p99))),
      fmt(median(rs.map((r) => r.latency_ms.max))),
      fmt(median(rs.map(cpuUs)), 1),
      String(rs.reduce((n, r) => n + r.error_count, 0)),
    ]);
  }
}
const md = [
  `### Serving isolates: ${workers} workers against one isolate (ceiling responder, ${rounds} rounds × ${durationS} s, ${machine.nproc} CPUs)`,
  "",
  table(["case", "shape", "req/s (rounds)", "× one isolate", "p99 ms", "max ms", "server CPU µs/req", "errors"], rows),
  "",
  table(
    ["shape", "RSS idle (MB)", "RSS after the last round (MB)"],
    SHAPES.map((s) => [s.label, fmt(rss[s.id].idleKb / 1024, 1), fmt(rss[s.id].afterKb / 1024, 1)]),
  ),
].join("\n");
console.log(`\n${md}\n`);
await Deno.writeTextFile(`${resultsDir}/workers.md`, md + "\n");
await Deno.writeTextFile(
  `${resultsDir}/workers.json`,
  JSON.stringify({ machine, workers, rounds, durationS, results, rss }, null, 2) + "\n",
);
