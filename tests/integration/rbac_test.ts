/**
 * [integration] Least privilege: the ServiceAccount bound by the chart's RBAC
 * can do what the service needs and nothing else, checked both with
 * `kubectl auth can-i` and with real attempts using its token; and for every
 * combination of the chart value `operations`, exactly what those operations need.
 */
import assert from "node:assert/strict";
import {
  chartServiceAccount,
  clusterEnv,
  createDeployment,
  createNamespace,
  deploymentManifest,
  kubectl,
  run,
  tokenKubeconfig,
  uniqueName,
} from "./harness/cluster.ts";
import { startService } from "./harness/service.ts";

const CHART = new URL("../../helm/replica-api", import.meta.url).pathname;

async function canI(username: string, verb: string, resource: string, namespace?: string): Promise<boolean> {
  const [kind, subresource] = resource.split("/");
  const args = ["auth", "can-i", verb, kind, `--as=${username}`];
  if (subresource) args.push(`--subresource=${subresource}`);
  args.push(namespace ? `--namespace=${namespace}` : "--all-namespaces");
  const r = await kubectl(args, { allowFail: true });
  return r.stdout.trim() === "yes";
}

Deno.test("[integration] the chart's cluster-wide RBAC grants exactly what the service needs", async (t) => {
  const ns = uniqueName("it-rbac");
  await createNamespace(ns);
  await createDeployment(ns, "web", 1);
  await kubectl(["create", "secret", "generic", "s", "-n", ns, "--from-literal=k=v"]);
  const sa = await chartServiceAccount();

  await t.step(
    "can-i: list/watch/get deployments, get/patch deployments/scale, list/watch namespaces and HPAs, create/list/watch Events",
    async () => {
      for (
        const [verb, resource] of [
          ["list", "deployments"],
          ["watch", "deployments"],
          ["get", "deployments"],
          ["patch", "deployments/scale"],
          ["get", "deployments/scale"],
          ["list", "namespaces"],
          ["watch", "namespaces"],
          ["list", "horizontalpodautoscalers.autoscaling"],
          ["watch", "horizontalpodautoscalers.autoscaling"],
          ["create", "events.events.k8s.io"],
          ["list", "events.events.k8s.io"],
          ["watch", "events.events.k8s.io"],
        ]
      ) {
        assert.ok(await canI(sa.username, verb, resource, ns), `${verb} ${resource} allowed`);
      }
    },
  );

  await t.step("can-i: no delete, update, create of deployments, no secrets, no update of scale", async () => {
    for (
      const [verb, resource] of [
        ["delete", "deployments"],
        ["update", "deployments"],
        ["patch", "deployments"],
        ["create", "deployments"],
        ["get", "secrets"],
        ["list", "secrets"],
        ["update", "deployments/scale"],
        ["list", "pods"],
        ["get", "namespaces"],
        ["update", "horizontalpodautoscalers.autoscaling"],
        ["delete", "horizontalpodautoscalers.autoscaling"],
        ["get", "events.events.k8s.io"],
        ["delete", "events.events.k8s.io"],
        ["update", "events.events.k8s.io"],
        ["create", "events"],
        ["list", "events"],
      ]
    ) {
      assert.equal(await canI(sa.username, verb, resource, ns), false, `${verb} ${resource} denied`);
    }
  });

  await t.step("real attempts with the token: delete, whole-object update and reading secrets are Forbidden", async () => {
    const as = { kubeconfig: sa.kubeconfig, allowFail: true };
    const del = await kubectl(["delete", "deployment", "web", "-n", ns], as);
    assert.notEqual(del.code, 0);
    assert.match(del.stderr, /forbidden/i);
    const replace = await kubectl(["replace", "-f", "-"], { ...as, stdin: deploymentManifest(ns, "web", 3) });
    assert.notEqual(replace.code, 0);
    assert.match(replace.stderr, /forbidden/i);
    const secrets = await kubectl(["get", "secrets", "-n", ns], as);
    assert.notEqual(secrets.code, 0);
    assert.match(secrets.stderr, /forbidden/i);
    const scale = await kubectl(["scale", "deployment", "web", "-n", ns, "--replicas=2"], as);
    assert.equal(scale.code, 0, `scaling is allowed: ${scale.stderr}`);
  });
});

Deno.test("[integration] with WATCH_NAMESPACES the chart's namespaced RBAC is enough and confines the service", async (t) => {
  const watched = uniqueName("it-watched");
  const other = uniqueName("it-other");
  await createNamespace(watched);
  await createNamespace(other);
  await createDeployment(watched, "web", 1);
  await createDeployment(other, "web", 1);
  const sa = await chartServiceAccount([watched]);

  await t.step("can-i is limited to the watched namespace and grants nothing cluster-wide", async () => {
    assert.ok(await canI(sa.username, "list", "deployments", watched));
    assert.ok(await canI(sa.username, "patch", "deployments/scale", watched));
    assert.ok(await canI(sa.username, "watch", "horizontalpodautoscalers.autoscaling", watched));
    assert.ok(await canI(sa.username, "create", "events.events.k8s.io", watched));
    assert.ok(await canI(sa.username, "watch", "events.events.k8s.io", watched));
    assert.equal(await canI(sa.username, "watch", "horizontalpodautoscalers.autoscaling", other), false);
    assert.equal(await canI(sa.username, "create", "events.events.k8s.io", other), false, "Events only in served namespaces");
    assert.equal(await canI(sa.username, "list", "events.events.k8s.io", other), false, "the history only in served namespaces");
    assert.equal(await canI(sa.username, "list", "deployments", other), false);
    assert.equal(await canI(sa.username, "patch", "deployments/scale", other), false);
    assert.equal(await canI(sa.username, "list", "namespaces"), false);
  });

  await t.step("the service syncs with it, serves the watched namespace and 404s the other", async () => {
    const svc = await startService({ kubeconfig: sa.kubeconfig, env: { WATCH_NAMESPACES: watched } });
    try {
      const list = await svc.api("/api/v1/deployments");
      assert.deepEqual(list.body.items.map((d: { namespace: string }) => d.namespace), [watched]);
      assert.equal((await svc.api(`/api/v1/namespaces/${other}/deployments`)).status, 404);
      const put = await svc.api(`/api/v1/namespaces/${other}/deployments/web/replicas`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: '{"replicas":3}',
      });
      assert.equal(put.status, 404, "an unwatched namespace cannot be scaled through the service");
      const ok = await svc.api(`/api/v1/namespaces/${watched}/deployments/web/replicas`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: '{"replicas":3}',
      });
      assert.equal(ok.status, 200);
    } finally {
      assert.equal(await svc.stop(), 0);
    }
  });
});

// ------------------------------------------------------------------------------------------ operations
const OPERATIONS = ["scale", "restart", "pause", "undo", "image"] as const;
type Operation = typeof OPERATIONS[number];

/**
 * What each operation needs ("verb resource" as kubectl names them), written down from what the service does,
 * not from the chart: scale reads and patches the scale subresource; restart, pause/resume, set image and undo
 * patch the Deployment; undo also reads the ReplicaSets (its informer lists and watches them, the undo gets the
 * target revision). Every write records an Event, and the history read lists and watches those Events; the reads
 * need the Deployment and HPA informers.
 */
const NEEDS: Record<Operation, readonly string[]> = {
  scale: ["get deployments.apps/scale", "patch deployments.apps/scale"],
  restart: ["patch deployments.apps"],
  pause: ["patch deployments.apps"],
  undo: ["patch deployments.apps", "get replicasets.apps", "list replicasets.apps", "watch replicasets.apps"],
  image: ["patch deployments.apps"],
};
const READS = [
  "get deployments.apps",
  "list deployments.apps",
  "watch deployments.apps",
  "list horizontalpodautoscalers.autoscaling",
  "watch horizontalpodautoscalers.autoscaling",
];
const WRITE_RECORD = ["create events.events.k8s.io", "list events.events.k8s.io", "watch events.events.k8s.io"];
/** The ClusterRole alone: the service discovers the namespaces it serves. */
const CLUSTER_READS = ["list namespaces", "watch namespaces"];
/** Everything the chart can ever grant: whether each one is allowed is checked for every combination. */
const UNIVERSE = [...new Set([...READS, ...Object.values(NEEDS).flat(), ...WRITE_RECORD, ...CLUSTER_READS])].sort();
/** Never granted, whatever is enabled: asked about with every operation on (the strongest role). */
const NEVER = [
  "update deployments.apps",
  "delete deployments.apps",
  "create deployments.apps",
  "update deployments.apps/scale",
  "patch deployments.apps/status",
  "patch replicasets.apps",
  "delete replicasets.apps",
  "create replicasets.apps",
  "list pods",
  "delete pods",
  "get secrets",
  "create events",
  "list events",
  "get events.events.k8s.io",
  "delete events.events.k8s.io",
  "update events.events.k8s.io",
  "update horizontalpodautoscalers.autoscaling",
  "get namespaces",
];
/** Rules every authenticated identity has (self reviews), not the chart's. */
const EVERYONE = /^(selfsubject\w+\.authorization\.k8s\.io|selfsubjectreviews\.authentication\.k8s\.io)$/;

type Mode = "namespaced" | "cluster";
interface Combination {
  readonly mode: Mode;
  readonly ops: readonly Operation[];
  readonly release: string;
  /** system:serviceaccount:<ns>:<name> */
  readonly username: string;
  readonly saName: string;
}

function expected(c: Combination): Set<string> {
  return new Set([
    ...READS,
    ...c.ops.flatMap((o) => NEEDS[o]),
    ...(c.ops.length ? WRITE_RECORD : []),
    ...(c.mode === "cluster" ? CLUSTER_READS : []),
  ]);
}

function describe(c: Combination): string {
  return `${c.mode} [${c.ops.join(",")}]`;
}

/** Runs `fn` over `items`, at most `limit` at once: every check is a kubectl process, and the machine has few cores. */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** `kubectl auth can-i --list` in a namespace: the "verb resource" pairs granted there, minus everyone's self reviews. */
async function grantedIn(username: string, namespace: string): Promise<Set<string>> {
  const r = await kubectl(["auth", "can-i", "--list", `--as=${username}`, `--namespace=${namespace}`]);
  const out = new Set<string>();
  for (const line of r.stdout.trim().split("\n").slice(1)) {
    const fields = line.trim().split(/\s{2,}/);
    const resource = fields[0];
    // Non-resource URL rows (discovery, /version) start with "[": every identity has them.
    if (resource.startsWith("[") || EVERYONE.test(resource)) continue;
    for (const verb of fields[fields.length - 1].replace(/^\[|\]$/g, "").split(" ")) out.add(`${verb} ${resource}`);
  }
  return out;
}

function sameSet(a: Set<string>, b: Set<string>): boolean {
  return a.size === b.size && [...a].every((x) => b.has(x));
}

const CONCURRENCY = 6;

Deno.test("[integration] every combination of operations (32, both RBAC modes): kubectl auth can-i allows each verb exactly when an enabled operation needs it", async (t) => {
  const env = clusterEnv();
  const saNamespace = uniqueName("it-ops-sa");
  const watched = uniqueName("it-ops-watched");
  const other = uniqueName("it-ops-other");
  for (const n of [saNamespace, watched, other]) await createNamespace(n);
  const runId = crypto.randomUUID().slice(0, 6);
  const subsets = Array.from({ length: 1 << OPERATIONS.length }, (_, mask) => OPERATIONS.filter((_, i) => mask & (1 << i)));
  const combinations: Combination[] = (["namespaced", "cluster"] as const).flatMap((mode) =>
    subsets.map((ops, mask) => {
      // Distinct releases, hence distinct ServiceAccounts, Roles and ClusterRoles, all applied at once.
      const release = `ops-${runId}-${mode[0]}${mask}`;
      const saName = `${release}-replica-api`;
      return { mode, ops, release, saName, username: `system:serviceaccount:${saNamespace}:${saName}` };
    })
  );
  const timings: string[] = [];
  const timed = async (what: string, fn: () => Promise<void>) => {
    const started = performance.now();
    await fn();
    timings.push(`${what} ${((performance.now() - started) / 1000).toFixed(1)} s`);
  };
  const clusterObjects: string[] = [];
  const tempFiles: string[] = [];

  try {
    await t.step(`helm template of ${combinations.length} releases, created in one kubectl create`, async () => {
      const rendered: string[] = new Array(combinations.length);
      await timed("render", () =>
        eachLimited(combinations.map((c, i) => [c, i] as const), 4, async ([c, i]) => {
          const args = ["template", c.release, CHART, "--namespace", saNamespace];
          args.push("--show-only", "templates/rbac.yaml", "--show-only", "templates/serviceaccount.yaml");
          args.push("--set-json", `operations=${JSON.stringify(c.ops)}`);
          if (c.mode === "namespaced") args.push("--set", `watchNamespaces={${watched}}`);
          const r = await run(env.helm, args);
          if (r.code !== 0) throw new Error(`helm template ${describe(c)} failed: ${r.stderr}`);
          rendered[i] = r.stdout;
        }));
      // create, not apply: every name is new (the run id), and apply would read each object back first.
      await timed("create", async () => {
        await kubectl(["create", "-f", "-"], { stdin: rendered.join("\n---\n") });
      });
      for (const c of combinations) {
        if (c.mode === "cluster") clusterObjects.push(`clusterrole/${c.saName}`, `clusterrolebinding/${c.saName}`);
      }
    });

    await t.step("can-i --list, all 64: exactly the grants the combination needs, and nothing outside the watched namespaces", async () => {
      const lists = combinations.flatMap((c) =>
        c.mode === "namespaced"
          ? [{ c, namespace: watched, want: expected(c) }, { c, namespace: other, want: new Set<string>() }]
          : [{ c, namespace: other, want: expected(c) }]
      );
      const wrong: string[] = [];
      await timed(`${lists.length} can-i --list`, () =>
        eachLimited(lists, CONCURRENCY, async ({ c, namespace, want }) => {
          const got = await grantedIn(c.username, namespace);
          if (!sameSet(got, want)) {
            const where = namespace === watched ? "the watched" : "another";
            wrong.push(`${describe(c)} in ${where} namespace: [${[...got].sort().join(", ")}], wanted [${[...want].sort().join(", ")}]`);
          }
        }));
      assert.deepEqual(wrong.sort(), [], `combinations whose RBAC is not what they need:\n${wrong.join("\n")}`);
    });

    // One access review per verb and resource (the decision a real request gets) costs a kubectl process
    // (~0.1 s of CPU) each, 14 per combination: by default read-only, each single operation and all five, in
    // both modes (the lists above already pin every combination); REPLICA_API_RBAC_REVIEWS=all asks for all 64.
    const all = Deno.env.get("REPLICA_API_RBAC_REVIEWS") === "all";
    const reviewed = combinations.filter((c) => all || [0, 1, OPERATIONS.length].includes(c.ops.length));
    await t.step(
      `can-i per verb (${reviewed.length} combinations): each grant the chart can give, allowed exactly when needed`,
      async () => {
        const checks = reviewed.flatMap((c) => UNIVERSE.map((grant) => ({ c, grant })));
        const wrong: string[] = [];
        await timed(`${checks.length} can-i`, () =>
          eachLimited(checks, CONCURRENCY, async ({ c, grant }) => {
            const [verb, resource] = grant.split(" ");
            // Namespaced: in the watched namespace. Cluster-wide: in a namespace that has no Role at all.
            const namespace = resource === "namespaces" ? undefined : c.mode === "namespaced" ? watched : other;
            const allowed = await canI(c.username, verb, resource, namespace);
            if (allowed !== expected(c).has(grant)) wrong.push(`${describe(c)}: ${grant} ${allowed ? "allowed" : "denied"}`);
          }));
        assert.deepEqual(wrong.sort(), [], `combinations whose RBAC is not what they need:\n${wrong.join("\n")}`);
      },
    );

    await t.step("can-i: with every operation on, still no update, delete, create, other resources or core Events", async () => {
      const strongest = combinations.filter((c) => c.ops.length === OPERATIONS.length);
      const wrong: string[] = [];
      await eachLimited(strongest.flatMap((c) => NEVER.map((grant) => ({ c, grant }))), CONCURRENCY, async ({ c, grant }) => {
        const [verb, resource] = grant.split(" ");
        const namespace = resource === "namespaces" ? undefined : c.mode === "namespaced" ? watched : other;
        if (await canI(c.username, verb, resource, namespace)) wrong.push(`${describe(c)}: ${grant} allowed`);
      });
      assert.deepEqual(wrong, []);
    });

    await t.step("real attempts with tokens: kubectl's own rollout, set image and history need exactly those rules", async () => {
      await createDeployment(watched, "web", 1);
      const as = async (ops: readonly Operation[]) => {
        const c = combinations.find((x) => x.mode === "namespaced" && x.ops.join() === ops.join())!;
        const token = (await kubectl(["create", "token", c.saName, "-n", saNamespace, "--duration=10m"])).stdout.trim();
        const kubeconfig = await Deno.makeTempFile({ prefix: "replica-ops-", suffix: ".kubeconfig" });
        tempFiles.push(kubeconfig);
        await Deno.writeTextFile(kubeconfig, tokenKubeconfig(env.apiserverUrl, Deno.readTextFileSync(env.caFile), token));
        return async (...args: string[]) => {
          const r = await kubectl([...args, "-n", watched], { kubeconfig, allowFail: true });
          return r.code === 0 ? "ok" : /forbidden/i.test(r.stderr) ? "forbidden" : `failed: ${r.stderr.trim()}`;
        };
      };
      const scaleOnly = await as(["scale"]);
      assert.equal(await scaleOnly("scale", "deployment/web", "--replicas=2"), "ok");
      assert.equal(await scaleOnly("rollout", "restart", "deployment/web"), "forbidden");
      assert.equal(await scaleOnly("set", "image", "deployment/web", "app=nginx:1.28"), "forbidden");
      assert.equal(await scaleOnly("rollout", "history", "deployment/web"), "forbidden", "no ReplicaSet reads without undo");
      const readOnly = await as([]);
      assert.equal(await readOnly("get", "deployment/web"), "ok");
      assert.equal(await readOnly("scale", "deployment/web", "--replicas=3"), "forbidden");
      const everything = await as(OPERATIONS);
      assert.equal(await everything("rollout", "restart", "deployment/web"), "ok");
      assert.equal(await everything("set", "image", "deployment/web", "app=nginx:1.28"), "ok");
      assert.equal(await everything("rollout", "pause", "deployment/web"), "ok");
      assert.equal(await everything("rollout", "resume", "deployment/web"), "ok");
      assert.equal(await everything("rollout", "history", "deployment/web"), "ok");
      assert.equal(await everything("delete", "deployment/web"), "forbidden");
    });
  } finally {
    console.log(`  ${combinations.length} combinations: ${timings.join(", ")}`);
    // Cluster-scoped: left behind they would pile up on a control plane that outlives the run.
    if (clusterObjects.length) await kubectl(["delete", "--ignore-not-found", "--wait=false", ...clusterObjects], { allowFail: true });
    for (const f of tempFiles) await Deno.remove(f).catch(() => {});
  }
});
