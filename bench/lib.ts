/**
 * Shared helpers for the benchmark scripts: the bench control plane, the dev
 * PKI, starting the service / the ceiling responder as processes (port 0, the
 * real port read from their "listening" log line, like the integration
 * harness), running the Go load generator, reading /proc, and the inspector
 * (forced GC, CPU profiles) over its WebSocket.
 */

export const REPO = new URL("../", import.meta.url).pathname;
export const BENCH_CACHE = Deno.env.get("BENCH_CACHE") ?? `${REPO}.cache/bench`;
export const LOADGEN = Deno.env.get("LOADGEN") ?? `${BENCH_CACHE}/loadgen`;
export const DENO = Deno.env.get("DENO") || Deno.execPath();
const ENV_KEYS_KEPT = ["PATH", "HOME", "DENO_DIR", "TMPDIR"];

// ---------------------------------------------------------------- small utilities

export { type CommandResult, run } from "../tests/support/command.ts";
import { type CommandResult, run } from "../tests/support/command.ts";
import { parseEnvFile } from "../tests/support/env_file.ts";

export async function mustRun(cmd: string, args: string[], options: Parameters<typeof run>[2] = {}): Promise<CommandResult> {
  const r = await run(cmd, args, options);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr.trim()}`);
  return r;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function log(...parts: unknown[]): void {
  console.error(`[${new Date().toISOString().slice(11, 19)}]`, ...parts);
}

export function envNumber(name: string, fallback: number): number {
  const v = Deno.env.get(name);
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got "${v}"`);
  return n;
}

/** Durations like 300, 300s, 5m, 1500ms → milliseconds. */
export function envDurationMs(name: string, fallbackMs: number): number {
  const v = Deno.env.get(name);
  if (!v) return fallbackMs;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v.trim());
  if (!m) throw new Error(`${name} must be a duration like 300s or 5m, got "${v}"`);
  const n = Number(m[1]);
  return n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? "s"] as number);
}

export function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

/** The middle value; the mean of the two middle ones for an even count. */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export function fmt(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return "n/a";
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function int(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "n/a";
}

/** A Markdown table (also readable as plain text). */
export function table(header: string[], rows: string[][]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => "| " + r.map((c, i) => (c ?? "").padEnd(widths[i])).join(" | ") + " |";
  return [line(header), "| " + widths.map((w) => "-".repeat(w)).join(" | ") + " |", ...rows.map(line)].join("\n");
}

export function verdict(ok: boolean): string {
  return ok ? "met" : "MISSED";
}

// ---------------------------------------------------------------- machine facts

export async function machineInfo(): Promise<Record<string, string>> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo");
  const meminfo = await Deno.readTextFile("/proc/meminfo");
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1] ?? "unknown";
  const memKb = Number(/MemTotal:\s*(\d+)/.exec(meminfo)?.[1] ?? 0);
  const nproc = (await run("nproc", [])).stdout.trim();
  const denoV = (await run(DENO, ["--version"])).stdout.split("\n")[0];
  const goV = (await run(Deno.env.get("GO") ?? "/usr/local/go/bin/go", ["version"]).catch(() => ({ stdout: "?" }))).stdout.trim();
  const kernel = (await run("uname", ["-r"])).stdout.trim();
  // Read-only git queries: which service code was measured.
  const head = (await run("git", ["-C", REPO, "rev-parse", "--short", "HEAD"]).catch(() => ({ stdout: "?" }))).stdout.trim();
  const dirty = (await run("git", ["-C", REPO, "status", "--porcelain", "--", "src"]).catch(() => ({ stdout: "" }))).stdout
    .split("\n").filter(Boolean).length;
  return {
    nproc,
    cpu: model,
    memory: `${(memKb / 1024 / 1024).toFixed(1)} GiB`,
    deno: denoV,
    go: goV,
    kernel,
    "service source": `commit ${head}${dirty ? ` + ${dirty} uncommitted change(s) in src/` : ""}`,
  };
}

export function hasTaskset(): boolean {
  try {
    return Deno.statSync("/usr/bin/taskset").isFile || Deno.statSync("/bin/taskset").isFile;
  } catch {
    return false;
  }
}

/** `taskset -c cpus cmd args` when cpus is given (taskset execs, so the pid stays the command's). */
export function pinned(cpus: string | undefined, cmd: string, args: string[]): { cmd: string; args: string[] } {
  return cpus ? { cmd: "taskset", args: ["-c", cpus, cmd, ...args] } : { cmd, args };
}

// ---------------------------------------------------------------- /proc

export function rssKb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s*(\d+)/.exec(status)?.[1] ?? NaN);
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

// ---------------------------------------------------------------- PKI

export interface Pki {
  readonly dir: string;
  readonly ca: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
}

/** The dev PKI (certs/gen.sh) in the bench cache: CN=bench-client. */
export async function ensurePki(): Promise<Pki> {
  const dir = `${BENCH_CACHE}/pki`;
  await mustRun(`${REPO}certs/gen.sh`, [dir], { env: { ...Deno.env.toObject(), CLIENT_CN: "bench-client", CLIENT_O: "sre" } });
  return {
    dir,
    ca: `${dir}/ca.crt`,
    serverCert: `${dir}/server.crt`,
    serverKey: `${dir}/server.key`,
    clientCert: `${dir}/client.crt`,
    clientKey: `${dir}/client.key`,
  };
}

// ---------------------------------------------------------------- the bench control plane

export interface BenchCluster {
  readonly kubeconfig: string;
  readonly apiserverUrl: string;
  readonly caFile: string;
  readonly adminCert: string;
  readonly adminKey: string;
  readonly etcdEndpoint: string;
  readonly env: Record<string, string>;
}

export function clusterScript(): string {
  return `${REPO}bench/cluster.sh`;
}

/** Starts (or reuses) the bench control plane; returns its settings. */
export async function clusterUp(): Promise<BenchCluster> {
  const r = await run(clusterScript(), ["up"], { passStderr: false });
  if (r.code !== 0) throw new Error(`bench/cluster.sh up failed:\n${r.stderr}`);
  return readClusterEnv(r.stdout.trim());
}

export async function clusterCtl(...args: string[]): Promise<CommandResult> {
  return await run(clusterScript(), ["ctl", ...args]);
}

export async function clusterRunning(): Promise<boolean> {
  return (await clusterCtl("status", "kube-apiserver")).code === 0;
}

export function readClusterEnv(file: string): BenchCluster {
  const vars = parseEnvFile(Deno.readTextFileSync(file));
  return {
    kubeconfig: vars.KUBECONFIG,
    apiserverUrl: vars.CLUSTER_APISERVER_URL,
    caFile: vars.CLUSTER_CA_FILE,
    adminCert: vars.CLUSTER_ADMIN_CERT_FILE,
    adminKey: vars.CLUSTER_ADMIN_KEY_FILE,
    etcdEndpoint: vars.CLUSTER_ETCD_ENDPOINT,
    env: vars,
  };
}

/** A small client for the API server with the admin certificate (HTTP/1.1, keep-alive). */
export class Kube {
  readonly #client: Deno.HttpClient;
  readonly base: string;

  constructor(cluster: BenchCluster, poolSize = 64) {
    this.base = cluster.apiserverUrl;
    this.#client = Deno.createHttpClient({
      caCerts: [Deno.readTextFileSync(cluster.caFile)],
      cert: Deno.readTextFileSync(cluster.adminCert),
      key: Deno.readTextFileSync(cluster.adminKey),
      poolMaxIdlePerHost: poolSize,
      http2: false,
    });
  }

  async request(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<Response> {
    return await fetch(this.base + path, {
      method,
      client: this.#client,
      headers: body === undefined ? {} : { "content-type": contentType },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
  }

  // deno-lint-ignore no-explicit-any
  async json(method: string, path: string, body?: unknown, contentType?: string): Promise<any> {
    const res = await this.request(method, path, body, contentType);
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return text ? JSON.parse(text) : undefined;
  }

  /** Sum of apiserver_request_total for a resource and verbs (upper case), like the integration harness. */
  async requestCount(resource: string, verbs: readonly string[], subresource = ""): Promise<number> {
    const res = await this.request("GET", "/metrics");
    const text = await res.text();
    let total = 0;
    for (const line of text.split("\n")) {
      if (!line.startsWith("apiserver_request_total{")) continue;
      const labels = line.slice(line.indexOf("{") + 1, line.lastIndexOf("}"));
      if (!labels.includes(`resource="${resource}"`) || !labels.includes(`subresource="${subresource}"`)) continue;
      const verb = /verb="([A-Z]+)"/.exec(labels)?.[1];
      if (verb && verbs.includes(verb)) total += Number(line.slice(line.lastIndexOf(" ") + 1));
    }
    return total;
  }

  close(): void {
    this.#client.close();
  }
}

export function deploymentManifest(namespace: string, name: string, replicas: number): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, labels: { app: name, "replica-api-bench": "1" } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "app", image: "nginx:1.27", ports: [{ containerPort: 80 }] }] },
      },
    },
  };
}

/** Runs `fn` over `items` with at most `concurrency` in flight. */
export async function pool<T>(items: T[], concurrency: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  });
  await Promise.all(workers);
}

/**
 * Makes sure `namespaces` × `perNamespace` Deployments exist (names ns-prefix-NNN / app-NNNNN),
 * creating what is missing with `concurrency` parallel POSTs. Returns the time it took and how many were created.
 */
export async function populate(
  kube: Kube,
  opts: { prefix: string; namespaces: number; perNamespace: number; concurrency?: number },
): Promise<{ created: number; seconds: number; namespaces: string[] }> {
  const started = performance.now();
  const nsNames = Array.from({ length: opts.namespaces }, (_, i) => `${opts.prefix}-${String(i).padStart(3, "0")}`);
  const existingNs = new Set<string>(
    // deno-lint-ignore no-explicit-any
    (await kube.json("GET", "/api/v1/namespaces")).items.map((n: any) => n.metadata.name),
  );
  await pool(nsNames.filter((n) => !existingNs.has(n)), 16, async (ns) => {
    const res = await kube.request("POST", "/api/v1/namespaces", { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } });
    await res.body?.cancel();
    if (!res.ok && res.status !== 409) throw new Error(`creating namespace ${ns}: ${res.status}`);
  });
  const existing = new Set<string>();
  let cont = "";
  do {
    const page = await kube.json(
      "GET",
      `/apis/apps/v1/deployments?labelSelector=replica-api-bench%3D1&limit=5000${cont ? `&continue=${encodeURIComponent(cont)}` : ""}`,
    );
    for (const d of page.items) existing.add(`${d.metadata.namespace}/${d.metadata.name}`);
    cont = page.metadata?.continue ?? "";
  } while (cont);
  const todo: [string, string][] = [];
  for (const ns of nsNames) {
    for (let i = 0; i < opts.perNamespace; i++) {
      const name = `app-${String(i).padStart(5, "0")}`;
      if (!existing.has(`${ns}/${name}`)) todo.push([ns, name]);
    }
  }
  await pool(todo, opts.concurrency ?? 48, async ([ns, name]) => {
    for (let attempt = 0;; attempt++) {
      const res = await kube.request("POST", `/apis/apps/v1/namespaces/${ns}/deployments`, deploymentManifest(ns, name, 1));
      const text = await res.text();
      if (res.ok || res.status === 409) return;
      if ((res.status === 429 || res.status >= 500) && attempt < 5) {
        await sleep(200 * (attempt + 1));
        continue;
      }
      throw new Error(`creating ${ns}/${name}: ${res.status} ${text.slice(0, 200)}`);
    }
  });
  return { created: todo.length, seconds: (performance.now() - started) / 1000, namespaces: nsNames };
}

// ---------------------------------------------------------------- processes with a "listening" line

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly apiUrl: string;
  readonly apiPort: number;
  readonly probeUrl?: string;
  /** performance.now() when spawned, and when the listening line was seen. */
  readonly spawnedAt: number;
  readonly listeningAt: number;
  /** stdout and stderr of the process (JSON lines), appended to this file. */
  readonly logFile: string;
  readonly exited: Promise<number>;
  /** Inspector WebSocket URL when started with --inspect. */
  readonly inspectorUrl?: string;
  /** Parses the log file now (JSON lines; other lines as {raw}). */
  readLogs(filter?: (line: string) => boolean): Record<string, unknown>[];
  stop(signal?: Deno.Signal): Promise<number>;
}

export interface StartOptions {
  /** Name for the log file (default: derived from the script). */
  name?: string;
  /** taskset CPU list, e.g. "0". */
  cpus?: string;
  env?: Record<string, string>;
  /** Extra deno flags before the script, e.g. ["--inspect=127.0.0.1:0"]. */
  denoFlags?: string[];
  /** The script is an executable (the Go reference), not a Deno script. */
  binary?: boolean;
  /** A cgroup v1 directory (e.g. a memory cgroup from {@link memoryCgroup}) the server runs in. */
  cgroup?: string;
}

/**
 * A cgroup v1 memory cgroup with a hard limit, as a Pod's memory limit is one (the kubelet sets
 * memory.limit_in_bytes the same way on cgroup v1 nodes): a process above it is OOM-killed (exit 137).
 * Needs root and a mounted memory controller; systemd-run needs a running systemd, which this VM lacks.
 */
export function memoryCgroup(
  name: string,
  limitBytes: number,
): { path: string; usage(): { maxBytes: number; failcnt: number; oomKills: number }; remove(): void } {
  const path = `/sys/fs/cgroup/memory/${name}`;
  Deno.mkdirSync(path, { recursive: true });
  Deno.writeTextFileSync(`${path}/memory.limit_in_bytes`, String(limitBytes));
  try {
    Deno.writeTextFileSync(`${path}/memory.swappiness`, "0"); // a Pod does not swap
  } catch { /* not settable everywhere */ }
  const read = (file: string) => Deno.readTextFileSync(`${path}/${file}`);
  return {
    path,
    usage: () => ({
      maxBytes: Number(read("memory.max_usage_in_bytes")),
      failcnt: Number(read("memory.failcnt")),
      oomKills: Number(/oom_kill (\d+)/.exec(read("memory.oom_control"))?.[1] ?? 0),
    }),
    remove: () => {
      try {
        Deno.removeSync(path);
      } catch { /* still has a process: left for the next run */ }
    },
  };
}

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const k of ENV_KEYS_KEPT) {
    const v = Deno.env.get(k);
    if (v) env[k] = v;
  }
  return env;
}

let spawnCounter = 0;

/**
 * Starts a Deno script whose stdout and stderr go to a log file (as they would
 * to a container runtime's log file: reading them through a pipe here would put
 * this process's CPU on the scale). The file is polled only until the
 * "listening" line (and the inspector URL when asked for) appear.
 */
async function spawnListening(script: string, permissions: string[], options: StartOptions): Promise<ServerProcess> {
  const name = options.name ?? script.split("/").pop()!.replace(/\.ts$/, "");
  await Deno.mkdir(`${BENCH_CACHE}/logs`, { recursive: true });
  const logFile = `${BENCH_CACHE}/logs/${name}-${Deno.pid}-${++spawnCounter}.log`;
  await Deno.writeTextFile(logFile, "");
  const { cmd, args } = options.binary
    ? pinned(options.cpus, script, [])
    : pinned(options.cpus, DENO, ["run", ...permissions, ...(options.denoFlags ?? []), script]);
  const spawnedAt = performance.now();
  // exec: the pid we get is the server's own (taskset execs too).
  const child = new Deno.Command("bash", {
    // With a memory cgroup: the shell moves itself into it first, so the server starts (and stays) inside it.
    args: options.cgroup
      ? ["-c", 'f="$1"; echo $$ >"$2/cgroup.procs"; shift 2; exec "$@" >>"$f" 2>&1', "bash", logFile, options.cgroup, cmd, ...args]
      : ["-c", 'f="$1"; shift; exec "$@" >>"$f" 2>&1', "bash", logFile, cmd, ...args],
    cwd: REPO,
    clearEnv: true,
    env: { ...baseEnv(), ...options.env },
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const exited = child.status.then((s) => s.code);
  let exitCode: number | undefined;
  exited.then((code) => exitCode = code);
  const wantInspector = (options.denoFlags ?? []).some((f) => f.startsWith("--inspect"));
  const readLogs = (filter?: (line: string) => boolean) => {
    const out: Record<string, unknown>[] = [];
    for (const line of Deno.readTextFileSync(logFile).split("\n")) {
      if (!line.trim() || (filter && !filter(line))) continue;
      try {
        out.push(JSON.parse(line));
      } catch {
        out.push({ raw: line });
      }
    }
    return out;
  };
  let api: string | undefined, probe: string | undefined, inspectorUrl: string | undefined, listeningAt = 0;
  const deadline = performance.now() + 60_000;
  for (;;) {
    const text = Deno.readTextFileSync(logFile);
    const m = /^\{.*"msg":"listening".*\}$/m.exec(text);
    if (m && !api) {
      listeningAt = performance.now();
      const record = JSON.parse(m[0]);
      api = String(record.api);
      probe = record.probe;
    }
    inspectorUrl ??= /Debugger listening on (ws:\/\/\S+)/.exec(text)?.[1];
    if (api && (!wantInspector || inspectorUrl)) break;
    if (exitCode !== undefined || performance.now() > deadline) {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
      throw new Error(
        `${name} ${exitCode !== undefined ? `exited with ${exitCode}` : "did not listen within 60 s"}; log ${logFile}:\n${
          text.slice(-3000)
        }`,
      );
    }
    await sleep(5);
  }
  const apiPort = Number(api.split(":").pop());
  let stopping: Promise<number> | undefined;
  return {
    name,
    pid: child.pid,
    apiUrl: `https://127.0.0.1:${apiPort}`,
    apiPort,
    probeUrl: probe ? `http://127.0.0.1:${probe.split(":").pop()}` : undefined,
    spawnedAt,
    listeningAt,
    logFile,
    exited,
    inspectorUrl,
    readLogs,
    stop(signal = "SIGTERM") {
      stopping ??= (async () => {
        try {
          child.kill(signal);
        } catch { /* already gone */ }
        const killer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* gone */ }
        }, 20_000);
        const code = await exited;
        clearTimeout(killer);
        return code;
      })();
      return stopping;
    },
  };
}

/** The per-certificate rate limit the benchmarks run with (see startService). */
export const BENCH_RATE_LIMIT = "1000000/s,burst=1000000";

/**
 * Per-source connection limits for runs whose load generator opens new connections at full speed from one
 * address (a new TLS connection per request: ~1,200 handshakes/s from 127.0.0.1). Raised far above that, like
 * the rate limits, so the gate still runs on every connection and never refuses. Everything else (and the abuse
 * runs, which are about these limits) runs with the service's defaults.
 */
export const BENCH_UNLIMITED_SOURCES: Readonly<Record<string, string>> = Object.freeze({
  MAX_CONNECTIONS_PER_SOURCE: "1000000",
  HANDSHAKE_RATE_PER_SOURCE: BENCH_RATE_LIMIT,
});

export interface ServiceStartOptions extends StartOptions {
  kubeconfig: string;
  pki: Pki;
  accessLog?: boolean;
  /** Default true: the start task's environment and Deno flags (false: only its permissions, for before/after runs). */
  startTask?: boolean;
}

/**
 * `deno task start` taken apart: `[VAR=value ...] deno run [flags ...] src/main.ts`. The benchmarks run the
 * service with exactly these, so a setting the start task (and so the image) needs is measured, not assumed.
 */
export function startTask(): { env: Record<string, string>; flags: string[] } {
  const tokens = JSON.parse(Deno.readTextFileSync(`${REPO}deno.json`)).tasks.start.trim().split(/\s+/) as string[];
  const env: Record<string, string> = {};
  while (/^[A-Z_][A-Z0-9_]*=/.test(tokens[0])) {
    const [name, ...rest] = tokens.shift()!.split("=");
    const value = rest.join("=");
    // `VAR=$(command)` (LD_PRELOAD=$(scripts/jemalloc.sh)): the task shell runs it in the repository, so do we.
    const substituted = /^\$\((.+)\)$/.exec(value);
    env[name] = substituted ? commandOutput(substituted[1]) : value;
  }
  if (tokens[0] !== "deno" || tokens[1] !== "run" || tokens.at(-1) !== "src/main.ts") {
    throw new Error(`unexpected start task in deno.json: ${tokens.join(" ")}`);
  }
  return { env, flags: tokens.slice(2, -1) };
}

/** What `command` (a path relative to the repository, no arguments) prints, as the task shell substitutes it. */
function commandOutput(command: string): string {
  const program = command.includes("/") && !command.startsWith("/") ? REPO + command : command;
  const out = new Deno.Command(program, { cwd: REPO, stdout: "piped", stderr: "inherit" }).outputSync();
  if (!out.success) throw new Error(`start task: ${command} failed (exit ${out.code})`);
  return new TextDecoder().decode(out.stdout).replace(/\n+$/, "");
}

/** replica-api as users run it (`deno task start`'s environment, flags and permissions), with the bench PKI, ports 0. */
export async function startService(options: ServiceStartOptions): Promise<ServerProcess> {
  const task = startTask();
  const useTask = options.startTask ?? true;
  const flags = useTask ? task.flags : task.flags.filter((f) => f.startsWith("--allow-"));
  return await spawnListening(`${REPO}src/main.ts`, flags, {
    ...options,
    env: {
      ...(useTask ? task.env : {}),
      KUBECONFIG: options.kubeconfig,
      TLS_CERT_FILE: options.pki.serverCert,
      TLS_KEY_FILE: options.pki.serverKey,
      TLS_CLIENT_CA_FILE: options.pki.ca,
      LISTEN_ADDR: "127.0.0.1:0",
      PROBE_ADDR: "127.0.0.1:0",
      ACCESS_LOG: String(options.accessLog ?? false),
      LOG_LEVEL: "info",
      // One client certificate drives thousands of requests per second here, so the per-certificate rate
      // limits are raised far above that: the limiter still runs on every request, it just never refuses.
      RATE_LIMIT_READS: BENCH_RATE_LIMIT,
      RATE_LIMIT_WRITES: BENCH_RATE_LIMIT,
      ...options.env,
    },
  });
}

export async function startCeiling(options: StartOptions & { pki: Pki; body?: string }): Promise<ServerProcess> {
  return await spawnListening(`${REPO}bench/ceiling_server.ts`, ["--allow-net", "--allow-read", "--allow-env"], {
    ...options,
    env: {
      TLS_CERT_FILE: options.pki.serverCert,
      TLS_KEY_FILE: options.pki.serverKey,
      TLS_CLIENT_CA_FILE: options.pki.ca,
      LISTEN_ADDR: "127.0.0.1:0",
      ...(options.body ? { CEILING_BODY: options.body } : {}),
      ...options.env,
    },
  });
}

/** bench/ceiling_workers.ts: the ceiling in `workers` Worker isolates on one port, answering locally or through the main isolate (one message per request, or per batch). */
export async function startCeilingWorkers(
  options: StartOptions & { pki: Pki; workers: number; mode: "local" | "forward" | "batch" | "ring"; body?: string },
): Promise<ServerProcess> {
  return await spawnListening(`${REPO}bench/ceiling_workers.ts`, ["--allow-net", "--allow-read", "--allow-env"], {
    ...options,
    name: options.name ?? `ceiling-workers-${options.mode}-${options.workers}`,
    env: {
      TLS_CERT_FILE: options.pki.serverCert,
      TLS_KEY_FILE: options.pki.serverKey,
      TLS_CLIENT_CA_FILE: options.pki.ca,
      LISTEN_ADDR: "127.0.0.1:0",
      CEILING_WORKERS: String(options.workers),
      CEILING_MODE: options.mode,
      ...(options.body ? { CEILING_BODY: options.body } : {}),
      ...options.env,
    },
  });
}

/** The Go reference (bench/goref: net/http + a client-go Deployment informer), built by `make bench`. */
export const GOREF = Deno.env.get("GOREF") ?? `${BENCH_CACHE}/goref`;

/** Starts the Go reference against the bench control plane; it prints its listening line once its informer synced. */
export async function startGoReference(options: StartOptions & { pki: Pki; cluster: BenchCluster }): Promise<ServerProcess> {
  return await spawnListening(GOREF, [], {
    ...options,
    binary: true,
    env: {
      KUBECONFIG: options.cluster.kubeconfig,
      TLS_CERT_FILE: options.pki.serverCert,
      TLS_KEY_FILE: options.pki.serverKey,
      TLS_CLIENT_CA_FILE: options.pki.ca,
      LISTEN_ADDR: "127.0.0.1:0",
      ...options.env,
    },
  });
}

/** Polls the probe's /readyz until 200; resolves with performance.now() at that moment. */
export async function waitReady(proc: ServerProcess, timeoutMs = 60_000, intervalMs = 10): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(`${proc.probeUrl}/readyz`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.status === 200) return performance.now();
    } catch { /* not yet */ }
    if (performance.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms; log ${proc.logFile}:\n${tail(proc.readLogs())}`);
    await sleep(intervalMs);
  }
}

export function tail(logs: Record<string, unknown>[], n = 15): string {
  return logs.slice(-n).map((l) => JSON.stringify(l)).join("\n");
}

/** An mTLS fetch client for the service with the bench client certificate. */
export function serviceClient(pki: Pki): Deno.HttpClient {
  return Deno.createHttpClient({
    caCerts: [Deno.readTextFileSync(pki.ca)],
    cert: Deno.readTextFileSync(pki.clientCert),
    key: Deno.readTextFileSync(pki.clientKey),
    http2: false,
  });
}

// ---------------------------------------------------------------- load generator

export interface LatencySummary {
  count: number;
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
}

export interface LoadgenResult {
  label: string;
  mode: string;
  connections: number;
  duration_s: number;
  requests: number;
  ok: number;
  error_count: number;
  errors: Record<string, number>;
  status: Record<string, number>;
  rps: number;
  latency_ms: LatencySummary;
  connect_handshake_ms?: LatencySummary;
  reconnects: number;
  bytes_read: number;
  intervals?: { t: number; rps: number; ok: number; errors: number; p50: number; p99: number; max: number }[];
  abuse?: Record<string, unknown>;
  /** Filled in by the caller: CPU seconds used by the server during the run, etc. */
  serverCpuS?: number;
}

export interface LoadgenOptions {
  pki: Pki;
  urls: string[];
  label: string;
  connections?: number;
  durationS?: number;
  warmupS?: number;
  rate?: number;
  total?: number;
  warmupN?: number;
  newConn?: boolean;
  method?: string;
  body?: string;
  headers?: string[];
  expect?: number;
  intervalS?: number;
  abuse?: string;
  redial?: boolean;
  /** Local addresses to dial from (round-robin), e.g. 127.0.0.2: the service sees each as another client host. */
  laddr?: string[];
  timeoutS?: number;
  cpus?: string;
  /** Show the human-readable line (and interval lines) on stderr. */
  quiet?: boolean;
}

export function loadgenArgs(o: LoadgenOptions): string[] {
  const a = ["-cert", o.pki.clientCert, "-key", o.pki.clientKey, "-cacert", o.pki.ca, "-label", o.label];
  a.push("-c", String(o.connections ?? 16));
  if (o.durationS !== undefined) a.push("-d", `${o.durationS}s`);
  if (o.warmupS !== undefined) a.push("-warmup", `${o.warmupS}s`);
  if (o.rate) a.push("-rate", String(o.rate));
  if (o.total) a.push("-n", String(o.total));
  if (o.warmupN) a.push("-warmup-n", String(o.warmupN));
  if (o.newConn) a.push("-new-conn");
  if (o.method) a.push("-method", o.method);
  if (o.body !== undefined) a.push("-body", o.body);
  for (const h of o.headers ?? []) a.push("-H", h);
  if (o.expect !== undefined) a.push("-expect", String(o.expect));
  if (o.intervalS) a.push("-interval", `${o.intervalS}s`);
  if (o.abuse) a.push("-abuse", o.abuse);
  if (o.redial) a.push("-abuse-redial");
  if (o.laddr?.length) a.push("-laddr", o.laddr.join(","));
  if (o.timeoutS) a.push("-timeout", `${o.timeoutS}s`);
  return [...a, ...o.urls];
}

/** Runs the Go load generator; optionally measures a server's CPU use during the run. */
export async function loadgen(o: LoadgenOptions, serverPid?: number): Promise<LoadgenResult> {
  const { cmd, args } = pinned(o.cpus, LOADGEN, loadgenArgs(o));
  const cpu0 = serverPid ? cpuSeconds(serverPid) : 0;
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: o.quiet ? "piped" : "inherit" }).spawn();
  const out = await child.output();
  const stdout = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) {
    throw new Error(`loadgen ${o.label} failed (${out.code}): ${new TextDecoder().decode(out.stderr ?? new Uint8Array())}`);
  }
  const result = JSON.parse(stdout) as LoadgenResult;
  if (serverPid) result.serverCpuS = cpuSeconds(serverPid) - cpu0;
  return result;
}

/** Starts the load generator without waiting (for load that runs alongside other steps). */
export function loadgenBackground(o: LoadgenOptions): { done: Promise<LoadgenResult>; kill(): void } {
  const { cmd, args } = pinned(o.cpus, LOADGEN, loadgenArgs(o));
  const child = new Deno.Command(cmd, { args, stdout: "piped", stderr: o.quiet ? "null" : "inherit" }).spawn();
  const done = child.output().then((out) => {
    if (out.code !== 0) throw new Error(`loadgen ${o.label} failed (${out.code})`);
    return JSON.parse(new TextDecoder().decode(out.stdout)) as LoadgenResult;
  });
  return {
    done,
    kill: () => {
      try {
        child.kill("SIGKILL");
      } catch { /* gone */ }
    },
  };
}

// ---------------------------------------------------------------- inspector (forced GC, CPU profile)

/** A minimal Chrome DevTools Protocol session over the inspector's WebSocket. */
export class Inspector {
  #ws: WebSocket;
  #next = 1;
  #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.onmessage = (ev) => {
      const msg = JSON.parse(String(ev.data));
      if (msg.id === undefined) return;
      const p = this.#pending.get(msg.id);
      if (!p) return;
      this.#pending.delete(msg.id);
      if (msg.error) p.reject(new Error(JSON.stringify(msg.error)));
      else p.resolve(msg.result);
    };
  }

  static async connect(url: string): Promise<Inspector> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = (e) => reject(new Error(`inspector connect failed: ${(e as ErrorEvent).message ?? e}`));
    });
    return new Inspector(ws);
  }

  // deno-lint-ignore no-explicit-any
  send(method: string, params: Record<string, unknown> = {}): Promise<any> {
    const id = this.#next++;
    const p = new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    this.#ws.send(JSON.stringify({ id, method, params }));
    return p;
  }

  /** Full GC (twice, so weak/finalizable garbage goes too). */
  async collectGarbage(): Promise<void> {
    await this.send("HeapProfiler.collectGarbage");
    await this.send("HeapProfiler.collectGarbage");
  }

  async heapUsedBytes(): Promise<number> {
    const r = await this.send("Runtime.getHeapUsage");
    return r.usedSize;
  }

  close(): void {
    this.#ws.close();
  }
}

/** Forces a full GC in `proc` (started with --inspect) and waits for RSS to settle; returns RSS and heap in KB. */
export async function settledMemory(proc: ServerProcess, settleMs = 2000): Promise<{ rssKb: number; heapUsedKb: number }> {
  if (!proc.inspectorUrl) throw new Error("process not started with --inspect");
  const insp = await Inspector.connect(proc.inspectorUrl);
  try {
    await insp.collectGarbage();
    await sleep(settleMs);
    await insp.collectGarbage();
    await sleep(500);
    const heap = await insp.heapUsedBytes();
    return { rssKb: rssKb(proc.pid), heapUsedKb: Math.round(heap / 1024) };
  } finally {
    insp.close();
  }
}

/** What a benchmark run needs before its first measurement; see {@link prepareRun}. */
export interface RunSetup {
  /** performance.now() at the start, for the total runtime. */
  readonly started: number;
  readonly resultsDir: string;
  /** A timestamp for result file names. */
  readonly stamp: string;
  readonly machine: Record<string, string>;
  readonly pki: Pki;
}

/**
 * The common start of bench.ts and faults.ts: exits 2 with `missingHint` when the load generator
 * is not built, clears the previous run's server logs, and prepares the results folder, the
 * machine description and the dev PKI.
 */
export async function prepareRun(script: string, missingHint: string): Promise<RunSetup> {
  const started = performance.now();
  try {
    await Deno.stat(LOADGEN);
  } catch {
    console.error(`${script}: ${LOADGEN} is missing: ${missingHint}`);
    Deno.exit(2);
  }
  await Deno.remove(`${BENCH_CACHE}/logs`, { recursive: true }).catch(() => {});
  const resultsDir = `${BENCH_CACHE}/results`;
  await Deno.mkdir(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
  return { started, resultsDir, stamp, machine: await machineInfo(), pki: await ensurePki() };
}
