/**
 * `make faults`: endurance and fault tolerance under steady load, on the bench control plane
 * (bench/cluster.sh: its own state and ports, so it never disturbs `make test`).
 *
 * 1. peak: closed-loop req/s on a mix of cached reads; the load for everything below is half of it
 * 2. soak (FAULTS_SOAK, default 5m) at half of peak: zero errors, RSS sampled every 10 s stays within
 *    ±10% of its post-warm-up median
 * 3. faults under the same steady load, one at a time: kube-apiserver SIGKILLed and restarted; etcd
 *    restarted; etcd compacted + kube-apiserver restarted (the watch resumes from a compacted
 *    resourceVersion: 410 Gone, relist). For each: failed reads (must be 0), readiness 503 → 200
 *    within 10 s of the API server being back, Cache-Status of reads, no crash, and afterwards the
 *    service's list equals kubectl's (changes made just before the fault and after recovery included)
 * 4. abuse: the p99 of a well-behaved open-loop client with and without misbehaving clients (idle TLS
 *    and TCP connections, half-sent requests and handshakes, garbage, certificate-less handshakes,
 *    re-dialling, one source or many over the connection caps), the abusers on other loopback addresses
 *
 *   deno run -A bench/faults.ts [peak] [soak] [faults] [abuse]     (default: all)
 *
 * Each fault gets a fresh service process; the soak and the abuse runs have their own too.
 *
 * Environment: FAULTS_REUSE_CLUSTER=1 (do not recreate the bench control plane), FAULTS_SOAK (5m), FAULTS_RATE (req/s; default half of measured peak),
 * FAULTS_PHASE_S (35: load duration around each fault), FAULTS_OUTAGE_S (5: how long kube-apiserver
 * stays dead), FAULTS_ABUSE_S (15), FAULTS_ABUSE_RATE (1000: well-behaved client req/s),
 * FAULTS_ABUSE_BOUND (2: allowed p99 ratio), FAULTS_ABUSE_SOURCE_LIMITS=off (the abuse rows without the
 * per-source connection limits, to compare), FAULTS_STRICT=1 (exit 1 when a check fails),
 * BENCH_KEEP_CLUSTER=1, LOADGEN.
 */
import {
  BENCH_CACHE,
  type BenchCluster,
  clusterCtl,
  clusterScript,
  clusterUp,
  envDurationMs,
  envNumber,
  fmt,
  int,
  Kube,
  loadgen,
  loadgenBackground,
  type LoadgenResult,
  log,
  median,
  mustRun,
  type Pki,
  populate,
  prepareRun,
  rssKb,
  run,
  type ServerProcess,
  serviceClient,
  settledMemory,
  sleep,
  startService,
  table,
  verdict,
} from "./lib.ts";

const DATA = { prefix: "bench", namespaces: 10, perNamespace: 100 };
const sections = Deno.args.length ? Deno.args : ["peak", "soak", "faults", "abuse"];

function urlsFor(svc: ServerProcess): string[] {
  const urls: string[] = [];
  for (let i = 0; i < 8; i++) {
    const ns = `${DATA.prefix}-${String(i % DATA.namespaces).padStart(3, "0")}`;
    const name = `app-${String((i * 13) % DATA.perNamespace).padStart(5, "0")}`;
    urls.push(`${svc.apiUrl}/api/v1/namespaces/${ns}/deployments/${name}/replicas`);
  }
  urls.push(`${svc.apiUrl}/api/v1/namespaces/${DATA.prefix}-001/deployments/app-00001`);
  urls.push(`${svc.apiUrl}/api/v1/namespaces/${DATA.prefix}-002/deployments`);
  return urls;
}

// ---------------------------------------------------------------- monitor

interface Sample {
  t: number;
  ready: number; // /readyz status, 0 = no answer
  read: number; // GET replicas status, 0 = failed
  stale: boolean; // Cache-Status ttl < 0
}

/** Polls /readyz and one read (with its Cache-Status) every 100 ms. */
class Monitor {
  samples: Sample[] = [];
  #stop = false;
  #done: Promise<void>;
  readonly t0 = performance.now();

  constructor(svc: ServerProcess, pki: Pki) {
    const client = serviceClient(pki);
    const readUrl = urlsFor(svc)[0];
    this.#done = (async () => {
      while (!this.#stop) {
        const t = performance.now() - this.t0;
        let ready = 0, read = 0, stale = false;
        try {
          const r = await fetch(`${svc.probeUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
          await r.body?.cancel();
          ready = r.status;
        } catch { /* no answer */ }
        try {
          const r = await fetch(readUrl, { client, signal: AbortSignal.timeout(2000) });
          await r.body?.cancel();
          read = r.status;
          stale = /ttl=-/.test(r.headers.get("cache-status") ?? "");
        } catch { /* failed */ }
        this.samples.push({ t, ready, read, stale });
        await sleep(100);
      }
      client.close();
    })();
  }

  now(): number {
    return performance.now() - this.t0;
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
  }

  /** First time at or after `from` when readiness was not 200 / was 200 again after that. */
  readinessWindow(from: number): { degradedAt?: number; recoveredAt?: number } {
    const after = this.samples.filter((s) => s.t >= from);
    const down = after.find((s) => s.ready !== 200);
    if (!down) return {};
    const up = after.find((s) => s.t > down.t && s.ready === 200);
    return { degradedAt: down.t, recoveredAt: up?.t };
  }

  failedReads(from: number, to = Infinity): number {
    return this.samples.filter((s) => s.t >= from && s.t <= to && s.read !== 200).length;
  }

  staleReads(from: number, to = Infinity): number {
    return this.samples.filter((s) => s.t >= from && s.t <= to && s.read === 200 && s.stale).length;
  }
}

// ---------------------------------------------------------------- consistency

interface Row {
  key: string;
  replicas: number;
  resourceVersion: string;
}

/** Compares the service's full list with kubectl's; returns the differences. */
async function compareWithKubectl(
  svc: ServerProcess,
  pki: Pki,
  cluster: BenchCluster,
): Promise<{ service: number; kubectl: number; diffs: string[] }> {
  const client = serviceClient(pki);
  const body = await (await fetch(`${svc.apiUrl}/api/v1/deployments`, { client })).json();
  client.close();
  const mine = new Map<string, Row>();
  for (const d of body.items) {
    mine.set(`${d.namespace}/${d.name}`, { key: `${d.namespace}/${d.name}`, replicas: d.replicas, resourceVersion: d.resourceVersion });
  }
  const out = await mustRun("kubectl", ["--kubeconfig", cluster.kubeconfig, "get", "deployments", "-A", "-o", "json"]);
  const theirs = new Map<string, Row>();
  for (const d of JSON.parse(out.stdout).items) {
    const key = `${d.metadata.namespace}/${d.metadata.name}`;
    theirs.set(key, { key, replicas: d.spec.replicas, resourceVersion: d.metadata.resourceVersion });
  }
  const diffs: string[] = [];
  for (const [k, t] of theirs) {
    const m = mine.get(k);
    if (!m) diffs.push(`${k}: missing in the service`);
    else if (m.replicas !== t.replicas || m.resourceVersion !== t.resourceVersion) {
      diffs.push(`${k}: service replicas=${m.replicas} rv=${m.resourceVersion}, kubectl replicas=${t.replicas} rv=${t.resourceVersion}`);
    }
  }
  for (const k of mine.keys()) if (!theirs.has(k)) diffs.push(`${k}: in the service but not in kubectl's list`);
  return { service: mine.size, kubectl: theirs.size, diffs };
}

let changeCounter = 0;
/** PATCHes `n` Deployments' replicas at the API server (directly, admin certificate). */
async function makeChanges(kube: Kube, n: number): Promise<number> {
  let ok = 0;
  for (let i = 0; i < n; i++) {
    const k = changeCounter++;
    const ns = `${DATA.prefix}-${String(k % DATA.namespaces).padStart(3, "0")}`;
    const name = `app-${String((k * 7) % DATA.perNamespace).padStart(5, "0")}`;
    const res = await kube.request(
      "PATCH",
      `/apis/apps/v1/namespaces/${ns}/deployments/${name}`,
      { spec: { replicas: 1 + (k % 9) } },
      "application/merge-patch+json",
    ).catch(() => undefined);
    await res?.body?.cancel();
    if (res?.ok) ok++;
  }
  return ok;
}

/** Waits until the service's list matches kubectl's (or the timeout); returns the last comparison and when it matched. */
async function waitConsistent(svc: ServerProcess, pki: Pki, cluster: BenchCluster, timeoutMs: number) {
  const start = performance.now();
  for (;;) {
    const c = await compareWithKubectl(svc, pki, cluster);
    if (c.diffs.length === 0 || performance.now() - start > timeoutMs) return { ...c, afterMs: performance.now() - start };
    await sleep(250);
  }
}

// ---------------------------------------------------------------- main

const { started, resultsDir, stamp, machine, pki } = await prepareRun("faults", "run make faults (it builds it)");
if (Deno.env.get("FAULTS_REUSE_CLUSTER") !== "1") {
  // A fresh control plane: the data set, etcd history and API server state are the same every run.
  await run(clusterScript(), ["down"]);
}
log("faults: starting the bench control plane (bench/cluster.sh up)");
const cluster = await clusterUp();
const kube = new Kube(cluster);
const pop = await populate(kube, DATA);
log(`faults: data set ${DATA.namespaces * DATA.perNamespace} Deployments (${pop.created} created in ${pop.seconds.toFixed(1)} s)`);

const report: string[] = [`# replica-api faults run ${new Date().toISOString()}`, ""];
report.push(
  Object.entries({ ...machine, "kube-apiserver": cluster.env.CLUSTER_KUBERNETES_VERSION, etcd: cluster.env.CLUSTER_ETCD_VERSION })
    .map(([k, v]) => `- ${k}: ${v}`).join("\n"),
  `- data: ${
    DATA.namespaces * DATA.perNamespace
  } Deployments in ${DATA.namespaces} namespaces; reads spread over ${10} URLs (GET replicas ×8, GET one, list one namespace)`,
  "",
);
const json: Record<string, unknown> = { machine };
const verdicts: Record<string, boolean> = {};

/** A running service whose unexpected exit is noticed. */
interface Svc {
  proc: ServerProcess;
  crashed: () => boolean;
  /** SIGTERM; resolves with the exit code. */
  stop: () => Promise<number>;
}

async function startSvc(name: string, denoFlags: string[] = [], env: Record<string, string> = {}): Promise<Svc> {
  const proc = await startService({ name, kubeconfig: cluster.kubeconfig, pki, accessLog: false, denoFlags, env });
  let stopping = false;
  let crashed = false;
  proc.exited.then((code) => {
    if (!stopping) {
      crashed = true;
      log(`faults: THE SERVICE (${name}) EXITED with ${code}; log ${proc.logFile}`);
    }
  });
  for (let i = 0;; i++) {
    try {
      const r = await fetch(`${proc.probeUrl}/readyz`);
      await r.body?.cancel();
      if (r.status === 200) break;
    } catch { /* not yet */ }
    if (i > 600) throw new Error(`${name} not ready after 60 s; log ${proc.logFile}`);
    await sleep(100);
  }
  return {
    proc,
    crashed: () => crashed,
    stop: () => {
      stopping = true;
      return proc.stop();
    },
  };
}

const exits: string[] = [];
async function stopSvc(svc: Svc): Promise<void> {
  const code = await svc.stop();
  exits.push(`${svc.proc.name}: ${svc.crashed() ? "CRASHED" : `exit ${code} after SIGTERM`}`);
  verdicts[`${svc.proc.name}: no crash, clean exit`] = code === 0 && !svc.crashed();
}

// The soak's service has the inspector enabled (idle unless used): full GCs are forced through it right before and
// right after the soak, to compare live heap and RSS without GC timing noise.
let svc = await startSvc("svc-soak", ["--inspect=127.0.0.1:0"]);

try {
  // ------------------------------------------------------------ peak
  let urls = urlsFor(svc.proc);
  let rate = envNumber("FAULTS_RATE", 0);
  if (sections.includes("peak") || !rate) {
    await loadgen({ pki, urls, label: "peak warm-up", durationS: 3, warmupS: 0, quiet: true });
    const peak = await loadgen({ pki, urls, label: "peak (closed loop, 16 conns)", durationS: 8, warmupS: 1 });
    json.peak = peak;
    rate ||= Math.round(peak.rps / 2);
    report.push(
      "## Peak",
      "",
      `Closed loop, 16 connections, mixed reads: ${int(peak.rps)} req/s, p99 ${fmt(peak.latency_ms.p99, 2)} ms. ` +
        `Steady load below: **${int(rate)} req/s** open loop (half of peak), 16 connections.`,
      "",
    );
  }

  // ------------------------------------------------------------ soak
  if (sections.includes("soak")) {
    const soakMs = envDurationMs("FAULTS_SOAK", 5 * 60_000);
    const warmMs = Math.min(60_000, Math.max(10_000, soakMs / 5));
    log(`soak: ${soakMs / 1000} s at ${rate} req/s (RSS every 10 s; the first ${warmMs / 1000} s are warm-up)`);
    // Live memory before and after (forced full GC while idle): a leak shows as growth; nothing perturbs the soak itself.
    const gcAfterWarmup = await settledMemory(svc.proc, 1000).catch(() => undefined);
    const bg = loadgenBackground({ pki, urls, label: "soak", rate, durationS: soakMs / 1000, warmupS: 0, intervalS: 10, connections: 16 });
    const rss: { t: number; kb: number }[] = [];
    const t0 = performance.now();
    rss.push({ t: 0, kb: rssKb(svc.proc.pid) });
    const sampler = setInterval(() => {
      try {
        rss.push({ t: Math.round((performance.now() - t0) / 1000), kb: rssKb(svc.proc.pid) });
      } catch { /* gone */ }
    }, 10_000);
    const res = await bg.done;
    clearInterval(sampler);
    const gcAtEnd = await settledMemory(svc.proc, 1000).catch(() => undefined);
    const after = rss.filter((s) => s.t * 1000 >= warmMs);
    const ref = median(after.map((s) => s.kb));
    const dev = Math.max(...after.map((s) => Math.abs(s.kb - ref) / ref));
    const ok = res.error_count === 0 && dev <= 0.10;
    verdicts.soak = ok;
    json.soak = { result: res, rss, warmMs, ref, dev, gcAfterWarmup, gcAtEnd };
    const mb = (kb: number | undefined) => kb === undefined ? "n/a" : fmt(kb / 1024, 1);
    report.push(`## Soak: ${fmt(soakMs / 60000, 1)} min at ${int(rate)} req/s (open loop, 16 connections, same mix of reads)`, "");
    report.push(
      table(["measure", "result", "target", ""], [
        [
          "requests / errors",
          `${int(res.requests)} / ${res.error_count}${res.error_count ? " " + JSON.stringify(res.errors) : ""}`,
          "0 errors",
          verdict(res.error_count === 0),
        ],
        ["achieved rate", `${int(res.rps)} req/s`, `${int(rate)} req/s`, ""],
        [
          "latency",
          `p50 ${fmt(res.latency_ms.p50, 3)} ms, p99 ${fmt(res.latency_ms.p99, 3)} ms, p99.9 ${fmt(res.latency_ms.p999, 2)} ms, max ${
            fmt(res.latency_ms.max, 1)
          } ms`,
          "",
          "",
        ],
        [
          `RSS after warm-up (${warmMs / 1000} s), every 10 s`,
          `median ${mb(ref)} MB, range ${mb(Math.min(...after.map((s) => s.kb)))}–${
            mb(Math.max(...after.map((s) => s.kb)))
          } MB, max deviation ${fmt(dev * 100, 1)}%`,
          "±10%",
          verdict(dev <= 0.10),
        ],
        [
          "after a forced full GC, idle: before the soak (after peak) → after it",
          `RSS ${mb(gcAfterWarmup?.rssKb)} → ${mb(gcAtEnd?.rssKb)} MB; live JS heap ${mb(gcAfterWarmup?.heapUsedKb)} → ${
            mb(gcAtEnd?.heapUsedKb)
          } MB`,
          "no growth",
          "",
        ],
        ["RSS samples (MB)", rss.map((s) => `${s.t}s:${(s.kb / 1024).toFixed(0)}`).join(" "), "", ""],
      ]),
      "",
    );
  }

  // ------------------------------------------------------------ faults
  if (sections.includes("faults")) {
    const phaseS = envNumber("FAULTS_PHASE_S", 35);
    const outageS = envNumber("FAULTS_OUTAGE_S", 5);
    const rows: string[][] = [];
    const phases: Record<string, unknown>[] = [];
    // injectedAt: the moment the fault itself begins (after the changes made just before it), so "503 after" is
    // measured from the kill or stop, not from the start of the phase.
    const faults: { name: string; expectDegrade: boolean; inject: (m: Monitor) => Promise<{ injectedAt: number; backAt: number }> }[] = [
      {
        name: `kube-apiserver stopped gracefully (SIGTERM), down ${outageS} s, restarted`,
        expectDegrade: true,
        inject: async (m) => {
          await makeChanges(kube, 10);
          const injectedAt = m.now();
          await clusterCtl("stop", "kube-apiserver");
          await sleep(outageS * 1000);
          const r = await clusterCtl("start", "kube-apiserver");
          if (r.code !== 0) throw new Error(`restarting kube-apiserver failed: ${r.stderr}`);
          return { injectedAt, backAt: m.now() };
        },
      },
      {
        name: `kube-apiserver SIGKILL, down ${outageS} s, restarted`,
        expectDegrade: true,
        inject: async (m) => {
          await makeChanges(kube, 10); // in flight while it dies
          const injectedAt = m.now();
          await clusterCtl("kill", "kube-apiserver");
          await sleep(outageS * 1000);
          const r = await clusterCtl("start", "kube-apiserver");
          if (r.code !== 0) throw new Error(`restarting kube-apiserver failed: ${r.stderr}`);
          return { injectedAt, backAt: m.now() };
        },
      },
      {
        name: "etcd restarted (SIGTERM, start)",
        expectDegrade: false,
        inject: async (m) => {
          await makeChanges(kube, 10);
          const injectedAt = m.now();
          const r = await clusterCtl("restart", "etcd");
          if (r.code !== 0) throw new Error(`restarting etcd failed: ${r.stderr}`);
          return { injectedAt, backAt: m.now() };
        },
      },
      {
        name: "etcd compacted + kube-apiserver restarted (watch resumes from a compacted resourceVersion: 410)",
        expectDegrade: true,
        inject: async (m) => {
          await makeChanges(kube, 20);
          const c = await clusterCtl("etcd-compact");
          if (c.code !== 0) throw new Error(`etcd compaction failed: ${c.stderr}`);
          const injectedAt = m.now();
          const r = await clusterCtl("restart", "kube-apiserver");
          if (r.code !== 0) throw new Error(`restarting kube-apiserver failed: ${r.stderr}`);
          return { injectedAt, backAt: m.now() };
        },
      },
    ];
    for (const [i, fault] of faults.entries()) {
      log(`faults: ${fault.name}`);
      // A fresh service per fault, so one fault's damage cannot be mistaken for the next one's.
      await stopSvc(svc);
      svc = await startSvc(`svc-fault-${i + 1}`);
      urls = urlsFor(svc.proc);
      const logsBefore = 0;
      const monitor = new Monitor(svc.proc, pki);
      const bg = loadgenBackground({
        pki,
        urls,
        label: `load during: ${fault.name.split(" (")[0]}`,
        rate,
        durationS: phaseS,
        warmupS: 0,
        intervalS: 1,
        connections: 16,
        quiet: true,
      });
      await sleep(3000);
      const faultAt = monitor.now();
      const faultWallMs = Date.now();
      const { injectedAt, backAt } = await fault.inject(monitor);
      // Wait for readiness to come back (at most 30 s), then changes after recovery.
      for (let i = 0; i < 300; i++) {
        const last = monitor.samples.at(-1);
        if (last && last.t > backAt && last.ready === 200) break;
        await sleep(100);
      }
      const changed = await makeChanges(kube, 10);
      const res = await bg.done;
      await monitor.stop();
      const consistency = await waitConsistent(svc.proc, pki, cluster, 10_000);
      const win = monitor.readinessWindow(faultAt);
      const recoveryS = win.recoveredAt !== undefined ? Math.max(0, win.recoveredAt - backAt) / 1000 : NaN;
      // Informer log lines from the fault on (the service's own initial lists come before it).
      const newLogs = svc.proc.readLogs((l) => !l.includes('"msg":"request"')).slice(logsBefore)
        .filter((l) => Date.parse(String(l.time ?? "")) >= faultWallMs);
      const gone = newLogs.filter((l) => String(l.msg ?? "").includes("410")).length;
      const restarts = newLogs.filter((l) => l.msg === "list/watch failed; restarting").length;
      const relists = newLogs.filter((l) => l.msg === "listed").length;
      const failedReads = res.error_count + monitor.failedReads(0);
      // The API server going away must show in readiness (and come back within 10 s of it being back);
      // an etcd restart behind a running API server may go unnoticed.
      const okRecovery = win.degradedAt === undefined ? !fault.expectDegrade : recoveryS <= 10;
      const ok = failedReads === 0 && okRecovery && consistency.diffs.length === 0 && !svc.crashed();
      verdicts[fault.name] = ok;
      phases.push({
        fault: fault.name,
        load: res,
        window: win,
        backAt,
        faultAt,
        injectedAt,
        recoveryS,
        consistency,
        gone,
        restarts,
        relists,
        changed,
        samples: monitor.samples,
      });
      rows.push([
        fault.name,
        `${int(res.requests)} / ${failedReads}${res.error_count ? " " + JSON.stringify(res.errors) : ""}`,
        `p99 ${fmt(res.latency_ms.p99, 2)} ms, max ${fmt(res.latency_ms.max, 0)} ms`,
        `${monitor.staleReads(faultAt)} of ${monitor.samples.filter((s) => s.t >= faultAt).length}`,
        win.degradedAt === undefined
          ? "stayed ready (never 503)"
          : `503 after ${fmt(Math.max(0, win.degradedAt - injectedAt) / 1000, 1)} s; 200 again ${
            fmt(recoveryS, 1)
          } s after the API server was back` +
            ` (${fmt(((win.recoveredAt ?? NaN) - win.degradedAt) / 1000, 1)} s not ready)` +
            (win.recoveredAt === undefined ? ` — NOT ready again within ${fmt((monitor.now() - backAt) / 1000, 0)} s` : ""),
        `after the fault: ${gone ? `410 seen (${gone} log lines), ` : ""}${restarts} list/watch restarts, ${relists} relists`,
        consistency.diffs.length === 0
          ? `equal (${int(consistency.service)} items${consistency.afterMs > 300 ? `, after ${fmt(consistency.afterMs / 1000, 1)} s` : ""})`
          : `${consistency.diffs.length} differ: ${consistency.diffs.slice(0, 3).join("; ")}`,
        verdict(ok),
      ]);
    }
    json.faults = phases;
    report.push(
      `## Faults under steady load (${int(rate)} req/s open loop, ${phaseS} s per fault; monitor polls /readyz and one read every 100 ms)`,
      "",
    );
    report.push(
      table(
        ["fault", "reads / failed", "read latency", "stale-marked monitor reads", "readiness", "informer", "list vs kubectl after", ""],
        rows,
      ),
      "",
    );
    report.push(`Logs of each service: ${BENCH_CACHE}/logs/svc-fault-<n>-*.log.`, "");
  }

  // ------------------------------------------------------------ abuse
  if (sections.includes("abuse")) {
    const abuseS = envNumber("FAULTS_ABUSE_S", 15);
    const goodRate = envNumber("FAULTS_ABUSE_RATE", 1000);
    const bound = envNumber("FAULTS_ABUSE_BOUND", 2);
    await stopSvc(svc);
    // FAULTS_ABUSE_SOURCE_LIMITS=off: the same rows without the per-source limits, for a before/after comparison.
    const sourceLimitsOff = Deno.env.get("FAULTS_ABUSE_SOURCE_LIMITS") === "off";
    svc = await startSvc("svc-abuse", [], sourceLimitsOff ? { MAX_CONNECTIONS_PER_SOURCE: "off", HANDSHAKE_RATE_PER_SOURCE: "off" } : {});
    urls = urlsFor(svc.proc);
    const target = urls[0];
    // The service's defaults: MAX_CONNECTIONS 1000, MAX_CONNECTIONS_PER_SOURCE 100, HANDSHAKE_RATE_PER_SOURCE
    // 50/s (bursts of 50), HANDSHAKE_TIMEOUT and HEADERS_TIMEOUT 10 s. The well-behaved client connects from
    // 127.0.0.1; abusers from other loopback addresses (127.0.0.2, ...: all of 127/8 is loopback on Linux), as
    // other hosts would, each scenario from fresh ones. "Held" abusers open their connections once and the
    // well-behaved client is measured while all of them are open (before the 10 s timeouts close them); they are
    // spread over enough sources to stay within the per-source limits (50 each: one burst), so those rows measure
    // what admitted connections cost. "Re-dialling" ones reconnect whenever the server closes them, which turns them into a burst
    // of handshakes every 10 s (and, once refused, into a stream of connection attempts). Informational rows show
    // what the per-source limits do not bound, or what this one machine cannot separate.
    const heldS = Math.min(6, abuseS);
    /** `sources`: how many addresses this abuser dials from (default 1). */
    type Abuser = { kind: string; c: number; rate?: number; redial?: boolean; sources?: number };
    /** `sharedSources`: all abusers dial from the same addresses (one abusive host running several kinds at once). */
    type Scenario = { name: string; informational?: boolean; goodS?: number; sharedSources?: number; abusers: Abuser[] };
    const scenarios: Scenario[] = [
      { name: "none (baseline)", abusers: [] },
      {
        name: "held: 500 idle TLS connections (valid cert, no request) + 400 idle TCP connections, from 18 sources (50 each)",
        goodS: heldS,
        abusers: [{ kind: "idle-tls", c: 500, sources: 10 }, { kind: "idle-tcp", c: 400, sources: 8 }],
      },
      {
        name: "held: 200 half-sent requests + 200 half-sent TLS handshakes, from 8 sources (50 each)",
        goodS: heldS,
        abusers: [{ kind: "half-request", c: 200, sources: 4 }, { kind: "half-handshake", c: 200, sources: 4 }],
      },
      {
        name: "re-dialling: one source with 500 idle TLS + 200 half-sent requests, reconnected when closed or refused, ≤ 1,000 attempts/s",
        sharedSources: 1,
        abusers: [
          { kind: "idle-tls", c: 500, redial: true, rate: 700 },
          { kind: "half-request", c: 200, redial: true, rate: 300 },
        ],
      },
      {
        // Refused holders retry every 100 ms: ~5,000 attempts/s, each a full ClientHello (X25519MLKEM768 key shares) built
        // by the abuser on this same 2-core machine, about a core of CPU; the server spends ~35 µs on each refusal.
        name: "re-dialling as above, attempts uncapped (~5,000/s: the abuser's own TLS work takes about one of the two cores)",
        informational: true,
        sharedSources: 1,
        abusers: [{ kind: "idle-tls", c: 500, redial: true }, { kind: "half-request", c: 200, redial: true }],
      },
      {
        name: "re-dialling from 7 sources: 100 idle TLS or half-sent requests each, reconnected when closed",
        informational: true,
        abusers: [{ kind: "idle-tls", c: 500, redial: true, sources: 5 }, { kind: "half-request", c: 200, redial: true, sources: 2 }],
      },
      {
        name: "garbage instead of TLS: 100 connections/s from 4 sources, 2 KB random bytes each",
        abusers: [{ kind: "garbage-tcp", c: 8, rate: 100, sources: 4 }],
      },
      {
        name: "garbage after TLS: 50 connections/s from 2 sources, full handshake then 2 KB random bytes",
        abusers: [{ kind: "garbage-http", c: 8, rate: 50, sources: 2 }],
      },
      {
        name: "handshakes without a client certificate: 50/s from 2 sources",
        abusers: [{ kind: "no-cert", c: 8, rate: 50, sources: 2 }],
      },
      {
        name: "connection cap: one source tries to hold 1,100 idle TCP connections; the well-behaved client connects after them",
        goodS: heldS,
        abusers: [{ kind: "idle-tcp", c: 1100 }],
      },
      {
        name: "connection cap: 22 sources hold 50 idle TCP connections each (1,100 > MAX_CONNECTIONS 1,000)",
        informational: true,
        goodS: heldS,
        abusers: [{ kind: "idle-tcp", c: 1100, sources: 22 }],
      },
      { name: "none (baseline, again)", abusers: [] },
    ];
    let sourceCounter = 0;
    /** Fresh loopback source addresses: 127.0.0.2-251, then 127.0.1.2-251, ... */
    const nextSources = (n: number) =>
      Array.from({ length: n }, () => {
        const i = sourceCounter++;
        return `127.0.${Math.floor(i / 250)}.${2 + (i % 250)}`;
      });
    /** replica_api_connections_refused_total by reason, from the service's /metrics. */
    const refusedByReason = async (): Promise<Record<string, number>> => {
      const text = await (await fetch(`${svc.proc.probeUrl}/metrics`)).text();
      const out: Record<string, number> = {};
      for (const m of text.matchAll(/^replica_api_connections_refused_total\{reason="([^"]+)"\} (\d+)$/gm)) out[m[1]] = Number(m[2]);
      return out;
    };
    const results: {
      name: string;
      informational?: boolean;
      good: LoadgenResult;
      abuse: LoadgenResult[];
      sources: string[][];
      refused: Record<string, number>;
    }[] = [];
    for (const s of scenarios) {
      log(`abuse: ${s.name}`);
      const goodS = s.goodS ?? abuseS;
      const before = await refusedByReason();
      const shared = s.sharedSources ? nextSources(s.sharedSources) : undefined;
      const sources = s.abusers.map((a) => shared ?? nextSources(a.sources ?? 1));
      const abusers = s.abusers.map((a, i) =>
        loadgenBackground({
          pki,
          urls: [target],
          label: `abuser ${a.kind}`,
          abuse: a.kind,
          connections: a.c,
          rate: a.rate,
          redial: a.redial,
          laddr: sources[i],
          durationS: goodS + 4,
          quiet: true,
        })
      );
      if (abusers.length) await sleep(3000); // let the connections pile up first
      const good = await loadgen({
        pki,
        urls: [target],
        label: `well-behaved, abuse: ${s.name.split(":")[0]}`,
        rate: goodRate,
        connections: 4,
        durationS: goodS,
        warmupS: 0,
      });
      const abuse = await Promise.all(abusers.map((a) => a.done));
      const after = await refusedByReason();
      const refused = Object.fromEntries(Object.keys(after).map((k) => [k, after[k] - (before[k] ?? 0)]).filter(([, n]) => n));
      results.push({ name: s.name, informational: s.informational, good, abuse, sources, refused });
      await sleep(1000);
    }
    const baseP99 = Math.max(results[0].good.latency_ms.p99, results.at(-1)!.good.latency_ms.p99);
    const rows = results.map((r) => {
      const ratio = r.good.latency_ms.p99 / baseP99;
      const ok = r.good.error_count === 0 && (r.abuse.length === 0 || ratio <= bound);
      if (r.abuse.length && !r.informational) verdicts[`abuse: ${r.name}`] = ok;
      return [
        r.name,
        `${int(r.good.ok)} / ${r.good.error_count}${r.good.error_count ? " " + JSON.stringify(r.good.errors) : ""}`,
        `p50 ${fmt(r.good.latency_ms.p50, 3)} ms, p99 ${fmt(r.good.latency_ms.p99, 3)} ms, max ${fmt(r.good.latency_ms.max, 1)} ms`,
        r.abuse.length ? fmt(ratio, 2) : "",
        r.abuse.map((a) => {
          const x = a.abuse ?? {};
          return `${x.kind}: opened ${x.opened}${x.cycles ? `, cycles ${x.cycles}` : ""}, closed by server ${x.closed_by_server}${
            x.first_server_close_s !== undefined ? ` (first after ${x.first_server_close_s} s)` : ""
          }`;
        }).join("; "),
        Object.entries(r.refused).map(([reason, n]) => `${reason} ${int(n)}`).join(", "),
        r.informational ? "(informational)" : r.abuse.length ? verdict(ok) : "",
      ];
    });
    json.abuse = results;
    report.push(
      `## Abuse: a well-behaved client (${goodRate} req/s open loop, 4 connections, ${abuseS} s) with and without misbehaving ones` +
        (sourceLimitsOff ? " — per-source limits OFF (FAULTS_ABUSE_SOURCE_LIMITS=off)" : ""),
      "",
      `Bound: well-behaved p99 ≤ ${bound} × the worse of the two baselines (${fmt(baseP99, 3)} ms), and zero errors. ` +
        "The well-behaved client connects from 127.0.0.1, the abusers from other loopback addresses; " +
        '"refused before TLS" is replica_api_connections_refused_total during the row.',
      "",
    );
    report.push(
      table(
        ["misbehaving clients", "ok / errors", "well-behaved latency", "p99 ratio", "what the abusers saw", "refused before TLS", ""],
        rows,
      ),
      "",
    );
  }
} finally {
  await stopSvc(svc);
  report.push(`Service processes: ${exits.join("; ")}.`, "");
  kube.close();
  if (Deno.env.get("BENCH_KEEP_CLUSTER") !== "1") {
    log("faults: stopping the bench control plane (BENCH_KEEP_CLUSTER=1 keeps it)");
    await run(clusterScript(), ["down"]);
  }
}

const minutes = (performance.now() - started) / 60_000;
report.push("## Verdicts", "", table(["check", ""], Object.entries(verdicts).map(([k, v]) => [k, verdict(v)])), "");
report.push(`Total runtime: ${minutes.toFixed(1)} min.`);
json.verdicts = verdicts;
json.runtimeMinutes = minutes;
const mdFile = `${resultsDir}/faults-${stamp}.md`;
await Deno.writeTextFile(mdFile, report.join("\n") + "\n");
await Deno.writeTextFile(`${resultsDir}/faults-${stamp}.json`, JSON.stringify(json, null, 2));
console.log("\n" + report.join("\n"));
log(`faults: report ${mdFile}`);
if (Deno.env.get("FAULTS_STRICT") === "1" && Object.values(verdicts).some((v) => !v)) Deno.exit(1);
