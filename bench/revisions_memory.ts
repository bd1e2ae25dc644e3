/**
 * What keeping ReplicaSets costs (issue 19 item 3): idle RSS (settled), JS heap and time to ready of the informer
 * cache with 10,000 Deployments, (a) without the ReplicaSet informer (OPERATIONS=scale) and (b) with it and
 * 30,000 ReplicaSets (3 revisions per Deployment), side by side in one run, rounds alternating a, b, a, b.
 *
 *   make bench-revisions                       (bench/cluster.sh up, populate, measure, bench/cluster.sh down)
 *   deno run -A bench/revisions_memory.ts <cluster.env> [rounds]
 *
 * The service's wiring (OPERATIONS containing `undo` turns the ReplicaSet informer on) is not on this branch
 * yet, so each case is a fresh child process that builds the service's InformerCache itself, with the service's
 * real Kubernetes client (its listReplicaSets), `deno task start`'s allocator environment and V8 flags, and measures its own
 * RSS: the numbers are the informer cache's, without the HTTP servers (~constant between the cases).
 *
 * ReplicaSets are created directly through the API: replicas 0, a controller ownerReference to their
 * Deployment's uid, the Deployment's selector plus a pod-template-hash, revision and change-cause annotations,
 * a realistic pod template (two containers, env, resources, probes). The bench control plane runs no
 * kube-controller-manager (bench/cluster.sh), so nothing adopts, scales or deletes them.
 *
 * Settings: BENCH_REVISIONS_SETTLE (seconds after ready before the settled reading, default 30),
 * BENCH_REVISIONS_PER_DEPLOYMENT (3).
 */
import { BIG } from "./scale.ts";
import { DENO, envNumber, Kube, log, pool, populate, readClusterEnv, REPO, sleep, startTask } from "./lib.ts";

const CHILD = Deno.args[0] === "--child";

if (CHILD) await child(Deno.args[1], Deno.args[2] === "true");
else await parent();

// ---------------------------------------------------------------- the measured process

async function child(kubeconfig: string, replicaSets: boolean): Promise<void> {
  const { createKubeClient, loadKubeConfig, InformerCache } = await import("../src/kube/mod.ts");
  const { createLogger } = await import("../src/observability/mod.ts");
  const settleS = envNumber("BENCH_REVISIONS_SETTLE", 30);
  const kc = loadKubeConfig({ kubeconfig, inCluster: false });
  const client = createKubeClient(kc, { watchIdleTimeoutMs: 330_000, requestTimeoutMs: 30_000 });
  // The client's own listReplicaSets (kube branch 17f45c8), the same GET the service's reflectors will make.
  const source = client.source;
  const cache = new InformerCache({
    source,
    namespaces: [],
    watchTimeoutSeconds: 300,
    log: createLogger({ level: "warn" }),
    replicaSets,
  });
  await cache.start();
  while (!cache.status().synced) await sleep(5);
  const readyMs = performance.now(); // since this process started
  const peakRead = () => Number(/VmHWM:\s*(\d+)/.exec(Deno.readTextFileSync("/proc/self/status"))?.[1]);
  const rssRead = () => Number(/VmRSS:\s*(\d+)/.exec(Deno.readTextFileSync("/proc/self/status"))?.[1]);
  const gc = (globalThis as unknown as { gc: () => void }).gc;
  const peakKb = peakRead();
  await sleep(settleS * 1000);
  gc();
  gc();
  await sleep(2000);
  let records = 0;
  if (replicaSets) {
    for (const d of cache.list()) records += cache.revisions(d.namespace, d.name)?.length ?? 0;
  }
  console.log(JSON.stringify({
    replicaSets,
    deployments: cache.status().deployments,
    records,
    readyMs: Math.round(readyMs),
    peakKb,
    rssKb: rssRead(),
    heapUsedKb: Math.round(Deno.memoryUsage().heapUsed / 1024),
  }));
  await cache.stop();
  Deno.exit(0);
}

// ---------------------------------------------------------------- populate and run the cases

interface Sample {
  replicaSets: boolean;
  deployments: number;
  records: number;
  readyMs: number;
  peakKb: number;
  rssKb: number;
  heapUsedKb: number;
}

function hash(s: string): string {
  // pod-template-hash-like: 10 characters of [bcdfghjklmnpqrstvwxz2456789], deterministic per name.
  const alphabet = "bcdfghjklmnpqrstvwxz2456789";
  let h = 2166136261;
  let out = "";
  for (let i = 0; i < 10; i++) {
    for (const c of s + i) h = Math.imul(h ^ c.charCodeAt(0), 16777619) >>> 0;
    out += alphabet[h % alphabet.length];
  }
  return out;
}

export function replicaSetManifest(
  namespace: string,
  deployment: string,
  uid: string,
  revision: number,
): Record<string, unknown> {
  const templateHash = hash(`${namespace}/${deployment}/${revision}`);
  const labels = { app: deployment, "pod-template-hash": templateHash };
  const image = `registry.internal/team/${deployment}:1.${revision}.${revision * 7 % 10}`;
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {
      name: `${deployment}-${templateHash}`,
      namespace,
      labels: { ...labels, "replica-api-bench": "1" },
      annotations: {
        "deployment.kubernetes.io/revision": String(revision),
        "deployment.kubernetes.io/desired-replicas": "1",
        "deployment.kubernetes.io/max-replicas": "2",
        "kubernetes.io/change-cause": `kubectl set image deployment/${deployment} app=${image} --record (ticket OPS-${1000 + revision})`,
      },
      ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: deployment, uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      replicas: 0,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": "9090" } },
        spec: {
          containers: [
            {
              name: "app",
              image,
              ports: [{ name: "http", containerPort: 8080 }, { name: "metrics", containerPort: 9090 }],
              env: [
                { name: "LOG_LEVEL", value: "info" },
                { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                { name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: `${deployment}-db`, key: "url" } } },
              ],
              resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
              readinessProbe: { httpGet: { path: "/readyz", port: "http" }, periodSeconds: 5 },
              livenessProbe: { httpGet: { path: "/livez", port: "http" }, periodSeconds: 10, failureThreshold: 3 },
              securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false },
            },
            {
              name: "proxy",
              image: "registry.internal/platform/envoy:v1.31.2",
              ports: [{ containerPort: 15001 }],
              resources: { requests: { cpu: "50m", memory: "64Mi" } },
            },
          ],
          terminationGracePeriodSeconds: 30,
        },
      },
    },
  };
}

async function populateReplicaSets(kube: Kube, perDeployment: number): Promise<{ created: number; total: number; seconds: number }> {
  const started = performance.now();
  const existing = new Set<string>();
  // deno-lint-ignore no-explicit-any
  const deployments: any[] = [];
  for (const [path, sink] of [["deployments", deployments], ["replicasets", undefined]] as const) {
    let cont = "";
    do {
      const page = await kube.json(
        "GET",
        `/apis/apps/v1/${path}?labelSelector=replica-api-bench%3D1&limit=5000${cont ? `&continue=${encodeURIComponent(cont)}` : ""}`,
      );
      for (const o of page.items) {
        if (sink) sink.push(o);
        else existing.add(`${o.metadata.namespace}/${o.metadata.name}`);
      }
      cont = page.metadata?.continue ?? "";
    } while (cont);
  }
  const todo: [string, Record<string, unknown>][] = [];
  for (const d of deployments) {
    for (let rev = 1; rev <= perDeployment; rev++) {
      const rs = replicaSetManifest(d.metadata.namespace, d.metadata.name, d.metadata.uid, rev);
      // deno-lint-ignore no-explicit-any
      const name = (rs.metadata as any).name;
      if (!existing.has(`${d.metadata.namespace}/${name}`)) todo.push([d.metadata.namespace, rs]);
    }
  }
  await pool(todo, 48, async ([ns, rs]) => {
    for (let attempt = 0;; attempt++) {
      const res = await kube.request("POST", `/apis/apps/v1/namespaces/${ns}/replicasets`, rs);
      const text = await res.text();
      if (res.ok || res.status === 409) return;
      if ((res.status === 429 || res.status >= 500) && attempt < 5) {
        await sleep(200 * (attempt + 1));
        continue;
      }
      throw new Error(`creating a ReplicaSet in ${ns}: ${res.status} ${text.slice(0, 200)}`);
    }
  });
  return { created: todo.length, total: existing.size + todo.length, seconds: (performance.now() - started) / 1000 };
}

async function runCase(kubeconfig: string, replicaSets: boolean): Promise<Sample> {
  const task = startTask();
  const flags = task.flags.map((f) => f.startsWith("--v8-flags=") ? `${f},--expose-gc` : f);
  if (!flags.some((f) => f.startsWith("--v8-flags="))) flags.push("--v8-flags=--expose-gc");
  const out = await new Deno.Command(DENO, {
    // --allow-all: /proc/self/status needs it in Deno.
    args: [
      "run",
      ...flags.filter((f) => !f.startsWith("--allow-")),
      "--allow-all",
      `${REPO}bench/revisions_memory.ts`,
      "--child",
      kubeconfig,
      String(replicaSets),
    ],
    env: task.env,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) throw new Error(`case replicaSets=${replicaSets} failed (${out.code}): ${text}`);
  return JSON.parse(text.split("\n").at(-1)!) as Sample;
}

async function parent(): Promise<void> {
  const clusterEnv = Deno.args[0];
  if (!clusterEnv) throw new Error("usage: revisions_memory.ts <cluster.env> [rounds]");
  const rounds = Number(Deno.args[1] ?? 2);
  const cluster = readClusterEnv(clusterEnv);
  const kube = new Kube(cluster);
  const deps = await populate(kube, BIG);
  log(`revisions: ${deps.created} Deployments created in ${deps.seconds.toFixed(1)} s`);
  const rs = await populateReplicaSets(kube, envNumber("BENCH_REVISIONS_PER_DEPLOYMENT", 3));
  log(`revisions: ${rs.created} ReplicaSets created in ${rs.seconds.toFixed(1)} s (${rs.total} in all)`);
  kube.close();
  const samples: Sample[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const replicaSets of [false, true]) {
      const s = await runCase(cluster.kubeconfig, replicaSets);
      log(`revisions: round ${round} ${replicaSets ? "(b) with" : "(a) without"} ReplicaSets: ${JSON.stringify(s)}`);
      samples.push(s);
    }
  }
  const mb = (kb: number) => (kb / 1024).toFixed(1);
  const rows = [
    "| case | round | ReplicaSets (records) | ready s | peak RSS MB | idle RSS MB | heap MB | bytes per RS record (RSS / heap) |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    const base = s.replicaSets ? samples[i - 1] : undefined;
    const per = base && s.records
      ? `${Math.round((s.rssKb - base.rssKb) * 1024 / s.records)} / ${Math.round((s.heapUsedKb - base.heapUsedKb) * 1024 / s.records)}`
      : "–";
    rows.push(
      `| ${s.replicaSets ? "(b) with the RS informer" : "(a) without (OPERATIONS=scale)"} | ${Math.floor(i / 2)} | ${
        s.replicaSets ? `${rs.total} (${s.records})` : "0"
      } | ${(s.readyMs / 1000).toFixed(2)} | ${mb(s.peakKb)} | ${mb(s.rssKb)} | ${mb(s.heapUsedKb)} | ${per} |`,
    );
  }
  console.log(rows.join("\n"));
  console.log(JSON.stringify({ samples }));
}
