/**
 * What the KIND suite needs from its surroundings: the settings scripts/kind/integration-test.sh
 * passes, kubectl and helm bound to the KIND cluster's own kubeconfig, Pods run to completion,
 * and the load generator in the cluster.
 */
import { run } from "../support/command.ts";

/** The suite's settings; `undefined` entries mean it was not started by scripts/kind/integration-test.sh. */
export interface KindSettings {
  /** Repository root: the README and certs/ are read from here. */
  repo: string;
  namespace: string;
  release: string;
  /** The chart's object name (Service, Deployment, ServiceAccount). */
  fullname: string;
  chart: string;
  certDir: string;
  kubectl: string;
  helm: string;
  /** The Debian curl image (helm test, client Pods, workloads). */
  toolsImage: string;
  /** A second tag of toolsImage's repository (another image id): what set image rolls to and undo rolls back from. */
  toolsImageNext: string;
  loadgenImage: string;
}

const REQUIRED = [
  "REPLICA_API_REPO",
  "REPLICA_API_NAMESPACE",
  "REPLICA_API_RELEASE",
  "REPLICA_API_FULLNAME",
  "REPLICA_API_CHART",
  "REPLICA_API_CERT_DIR",
  "KUBECONFIG",
  "HELM",
  "TOOLS_IMAGE",
  "TOOLS_IMAGE_NEXT",
  "LOADGEN_IMAGE",
] as const;

/** The settings, or the names of the missing ones. */
export function kindSettings(env: Record<string, string>): KindSettings | { missing: string[] } {
  const missing = REQUIRED.filter((k) => !env[k]);
  if (missing.length) return { missing };
  return {
    repo: env.REPLICA_API_REPO,
    namespace: env.REPLICA_API_NAMESPACE,
    release: env.REPLICA_API_RELEASE,
    fullname: env.REPLICA_API_FULLNAME,
    chart: env.REPLICA_API_CHART,
    certDir: env.REPLICA_API_CERT_DIR,
    kubectl: env.KUBECTL || "kubectl",
    helm: env.HELM,
    toolsImage: env.TOOLS_IMAGE,
    toolsImageNext: env.TOOLS_IMAGE_NEXT,
    loadgenImage: env.LOADGEN_IMAGE,
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a value other than undefined, or fails naming `what`. */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, everyMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (true) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}${last ? `: ${last}` : ""}`);
    await sleep(everyMs);
  }
}

/** kubectl and helm against the KIND cluster only (KUBECONFIG holds its context alone). */
export function tools(s: KindSettings) {
  const must = async (cmd: string, args: string[], stdin?: string) => {
    const r = await run(cmd, args, { stdin });
    if (r.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  };
  const kubectl = (...args: string[]) => must(s.kubectl, args);
  const kubectlIn = (stdin: string, ...args: string[]) => must(s.kubectl, args, stdin);
  const kubectlJson = async (...args: string[]) => JSON.parse(await kubectl(...args, "-o", "json"));
  const helm = (...args: string[]) => must(s.helm, args);
  return { kubectl, kubectlIn, kubectlJson, helm, tryKubectl: (...args: string[]) => run(s.kubectl, args) };
}

export type Tools = ReturnType<typeof tools>;

/** The release's pods (name, uid, node, ready, containers' restart state), sorted by name. */
export async function releasePods(t: Tools, s: KindSettings) {
  const list = await t.kubectlJson(
    "-n",
    s.namespace,
    "get",
    "pods",
    "-l",
    `app.kubernetes.io/name=replica-api,app.kubernetes.io/instance=${s.release},app.kubernetes.io/component!=test`,
  );
  // deno-lint-ignore no-explicit-any
  return (list.items as any[]).filter((p) => !p.metadata.deletionTimestamp).map((p) => ({
    name: p.metadata.name as string,
    uid: p.metadata.uid as string,
    ip: p.status.podIP as string,
    node: p.spec.nodeName as string,
    // deno-lint-ignore no-explicit-any
    ready: (p.status.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True"),
    // deno-lint-ignore no-explicit-any
    containers: (p.status.containerStatuses ?? []).map((c: any) => ({
      name: c.name as string,
      restartCount: c.restartCount as number,
      lastTerminated: c.lastState?.terminated?.reason as string | undefined,
    })),
  })).sort((a, b) => a.name.localeCompare(b.name));
}

export interface PodRun {
  phase: string;
  /** Each container's log (init containers included), by container name. */
  logs: Record<string, string>;
  /** The Pod's final status (containers' and init containers' start and finish times, exit codes). */
  // deno-lint-ignore no-explicit-any
  status: any;
}

/**
 * Runs a Pod to completion (restartPolicy Never) and returns its phase and logs, then deletes it.
 * The spec is the Pod's `spec`; metadata gets the name and the suite's label.
 */
export async function runPod(
  t: Tools,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
  timeoutMs: number,
  labels: Record<string, string> = {},
) {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { "app.kubernetes.io/part-of": "replica-api-kind-suite", "kind-suite/pod": name, ...labels } },
    spec: { restartPolicy: "Never", automountServiceAccountToken: false, ...spec },
  };
  await t.tryKubectl("-n", namespace, "delete", "pod", name, "--ignore-not-found", "--wait=true", "--timeout=60s");
  await t.kubectlIn(JSON.stringify(pod), "apply", "-f", "-");
  try {
    const phase = await waitFor(`pod ${namespace}/${name} to finish`, timeoutMs, async () => {
      const p = (await t.kubectl("-n", namespace, "get", "pod", name, "-o", "jsonpath={.status.phase}")).trim();
      return p === "Succeeded" || p === "Failed" ? p : undefined;
    }, 1000);
    const status = (await t.kubectlJson("-n", namespace, "get", "pod", name)).status;
    const logs: Record<string, string> = {};
    // deno-lint-ignore no-explicit-any
    const containers = [...((spec.initContainers as any[]) ?? []), ...(spec.containers as any[])].map((c) => c.name as string);
    for (const c of containers) {
      logs[c] = (await t.tryKubectl("-n", namespace, "logs", name, "-c", c)).stdout;
    }
    return { phase, logs, status } as PodRun;
  } finally {
    await t.tryKubectl("-n", namespace, "delete", "pod", name, "--ignore-not-found", "--wait=false");
  }
}

/** Starts a Pod and returns once it runs (for load that goes on while the test acts). */
export async function startPod(t: Tools, namespace: string, name: string, spec: Record<string, unknown>) {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { "app.kubernetes.io/part-of": "replica-api-kind-suite", "kind-suite/pod": name } },
    spec: { restartPolicy: "Never", automountServiceAccountToken: false, ...spec },
  };
  await t.tryKubectl("-n", namespace, "delete", "pod", name, "--ignore-not-found", "--wait=true", "--timeout=60s");
  await t.kubectlIn(JSON.stringify(pod), "apply", "-f", "-");
  await waitFor(`pod ${namespace}/${name} to run`, 60_000, async () => {
    const p = (await t.kubectl("-n", namespace, "get", "pod", name, "-o", "jsonpath={.status.phase}")).trim();
    if (p === "Failed" || p === "Succeeded") throw new Error(`pod ${name} ended early (${p})`);
    return p === "Running" ? true : undefined;
  }, 500);
}

/** The restricted-profile security settings of the suite's own containers. */
export const restricted = {
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

/** A Secret volume with the client certificate (tls.crt, tls.key, ca.crt). */
export function clientCertVolume(secretName: string) {
  return { name: "client-tls", secret: { secretName, defaultMode: 0o444 } };
}

/** One run of bench/loadgen: its JSON result (requests, ok, error_count, errors, rps, latency_ms, ...). */
export interface LoadResult {
  label: string;
  mode: string;
  connections: number;
  target_rate?: number;
  duration_s: number;
  requests: number;
  ok: number;
  error_count: number;
  errors: Record<string, number>;
  status: Record<string, number>;
  rps: number;
  latency_ms: { p50: number; p99: number; max: number } | null;
  reconnects: number;
}

/** A container of the load generator against `url` with the client certificate of the volume. */
export function loadgenContainer(s: KindSettings, name: string, url: string, args: string[], serverName?: string) {
  return {
    name,
    image: s.loadgenImage,
    imagePullPolicy: "Never",
    args: [
      "-cert",
      "/tls/tls.crt",
      "-key",
      "/tls/tls.key",
      "-cacert",
      "/tls/ca.crt",
      "-label",
      name,
      ...(serverName ? ["-server-name", serverName] : []),
      ...args,
      url,
    ],
    securityContext: restricted,
    resources: { requests: { cpu: "50m", memory: "32Mi" }, limits: { memory: "256Mi" } },
    volumeMounts: [{ name: "client-tls", mountPath: "/tls", readOnly: true }],
  };
}

/**
 * The JSON result in a load generator container's log: indented JSON on stdout, with its one
 * unindented stderr line possibly interleaved by the container log, so only "{", "}" and
 * indented lines are kept.
 */
export function parseLoad(log: string): LoadResult {
  const lines = log.split("\n");
  const start = lines.indexOf("{");
  const end = lines.indexOf("}", start);
  if (start < 0 || end < 0) throw new Error(`no loadgen result in the log:\n${log.slice(-2000)}`);
  const json = lines.slice(start, end + 1).filter((l, i, all) => i === 0 || i === all.length - 1 || l.startsWith(" "));
  return JSON.parse(json.join("\n"));
}

/** One line for the closing note: what ran and what came back. */
export function describeLoad(r: LoadResult): string {
  const errors = Object.entries(r.errors ?? {}).map(([k, v]) => `${k}=${v}`).join(",") || "none";
  return `${r.label}: ${r.mode}, ${r.connections} conns${r.target_rate ? `, target ${r.target_rate}/s` : ""}, ${
    r.duration_s.toFixed(1)
  } s, ` +
    `${r.requests} requests (${r.rps.toFixed(0)}/s), ${r.ok} ok, ${r.error_count} failed (${errors}), ` +
    `p99 ${r.latency_ms?.p99?.toFixed(1) ?? "-"} ms, max ${r.latency_ms?.max?.toFixed(1) ?? "-"} ms, reconnects ${r.reconnects}`;
}

/**
 * The memory cgroup of a Pod on its KIND node (a container of the engine): peak usage in bytes
 * (cgroup v1 memory.max_usage_in_bytes, v2 memory.peak), after an optional reset of that peak.
 * Undefined when the node's cgroup files cannot be read: the figure is reported, never asserted.
 */
export async function podMemoryPeak(docker: string, node: string, uid: string, reset: boolean): Promise<number | undefined> {
  const script = `d=$(find /sys/fs/cgroup -maxdepth 8 -type d \\( -name "*pod${uid}*" -o -name "*pod${uid.replaceAll("-", "_")}*" \\) ` +
    `-path "*memory*" -prune -print 2>/dev/null | head -n 1); [ -n "$d" ] || d=$(find /sys/fs/cgroup -maxdepth 8 -type d ` +
    `\\( -name "*pod${uid}*" -o -name "*pod${uid.replaceAll("-", "_")}*" \\) -prune -print 2>/dev/null | head -n 1); ` +
    `f=$d/memory.max_usage_in_bytes; [ -f "$f" ] || f=$d/memory.peak; ` +
    (reset ? `echo 0 > "$f" 2>/dev/null || true; ` : "") + `cat "$f"`;
  const r = await run(docker, ["exec", node, "sh", "-c", script]);
  const n = Number(r.stdout.trim());
  return r.code === 0 && Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * One reading of a Pod's memory cgroup on its node, in bytes: what the limit is enforced on (`usage`) and what it
 * is made of: anonymous memory (the process's heap and buffers: RSS), page cache, shmem (tmpfs), kernel memory,
 * socket buffers. cgroup v1 (memory.usage_in_bytes, the hierarchical total_* of memory.stat, memory.kmem.*) or v2
 * (memory.current; anon, file, shmem, kernel, sock of memory.stat). `failcnt` (v1): how often usage hit the limit
 * and the kernel had to reclaim; `oomKills`: processes killed by the cgroup's OOM killer.
 */
export interface MemorySample {
  at: number;
  usage: number;
  rss: number;
  cache: number;
  shmem: number;
  kernel: number;
  sock: number;
  failcnt: number;
  oomKills: number;
}

/** The directory of a Pod's memory cgroup on its KIND node (v1 memory hierarchy, else v2), or undefined. */
export async function podMemoryCgroup(docker: string, node: string, uid: string): Promise<string | undefined> {
  const names = `\\( -name "*pod${uid}*" -o -name "*pod${uid.replaceAll("-", "_")}*" \\)`;
  const script = `d=$(find /sys/fs/cgroup/memory -maxdepth 8 -type d ${names} -prune -print 2>/dev/null | head -n 1); ` +
    `[ -n "$d" ] || d=$(find /sys/fs/cgroup -maxdepth 8 -type d ${names} -prune -print 2>/dev/null | head -n 1); echo "$d"`;
  const r = await run(docker, ["exec", node, "sh", "-c", script]);
  const dir = r.stdout.trim();
  return r.code === 0 && dir ? dir : undefined;
}

/** A reading of the memory cgroup `dir` on `node` (see MemorySample), or undefined when it cannot be read. */
export async function memorySample(docker: string, node: string, dir: string): Promise<MemorySample | undefined> {
  const script = `d='${dir}'; if [ -f "$d/memory.usage_in_bytes" ]; then ` +
    `echo usage $(cat "$d/memory.usage_in_bytes"); echo kernel $(cat "$d/memory.kmem.usage_in_bytes" 2>/dev/null || echo 0); ` +
    `echo sock $(cat "$d/memory.kmem.tcp.usage_in_bytes" 2>/dev/null || echo 0); echo failcnt $(cat "$d/memory.failcnt"); ` +
    `sed -n 's/^oom_kill /oomKills /p' "$d/memory.oom_control"; ` +
    `sed -n 's/^total_rss /rss /p; s/^total_cache /cache /p; s/^total_shmem /shmem /p' "$d/memory.stat"; ` +
    `else echo usage $(cat "$d/memory.current"); sed -n 's/^oom_kill /oomKills /p' "$d/memory.events"; ` +
    `sed -n 's/^anon /rss /p; s/^file /cache /p; s/^shmem /shmem /p; s/^kernel /kernel /p; s/^sock /sock /p' "$d/memory.stat"; fi`;
  const r = await run(docker, ["exec", node, "sh", "-c", script]);
  if (r.code !== 0) return undefined;
  const v: Record<string, number> = {};
  for (const line of r.stdout.trim().split("\n")) {
    const [k, n] = line.split(" ");
    if (k && Number.isFinite(Number(n))) v[k] = Number(n);
  }
  if (!(v.usage > 0)) return undefined;
  return {
    at: Date.now(),
    usage: v.usage,
    rss: v.rss ?? 0,
    cache: v.cache ?? 0,
    shmem: v.shmem ?? 0,
    kernel: v.kernel ?? 0,
    sock: v.sock ?? 0,
    failcnt: v.failcnt ?? 0,
    oomKills: v.oomKills ?? 0,
  };
}

/** Samples `dir` every `everyMs` until stop() is called; stop() returns the readings. */
export function sampleMemory(docker: string, node: string, dir: string, everyMs = 1000) {
  const samples: MemorySample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      const s = await memorySample(docker, node, dir).catch(() => undefined);
      if (s) samples.push(s);
      await sleep(Math.max(0, everyMs - (Date.now() - started)));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return samples;
    },
  };
}
