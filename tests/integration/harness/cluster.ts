/**
 * Access to the local control plane for integration tests: its settings (from
 * the cluster.env written by tests/cluster/up.sh), kubectl, and a least-privilege
 * ServiceAccount bound by the Helm chart's own RBAC template.
 */
import { parseEnvFile } from "../../support/env_file.ts";

const REPO = new URL("../../../", import.meta.url).pathname;

export interface ClusterEnv {
  readonly kubeconfig: string;
  readonly apiserverUrl: string;
  readonly caFile: string;
  readonly ctl: string;
  readonly helm: string;
  readonly etcdEndpoint: string;
  /** The API server's audit log (Deployment requests only); undefined for a control plane started before it existed. */
  readonly auditLog?: string;
  /** Where each component's log is (`<component>.log`); undefined for a control plane started before it existed. */
  readonly logDir?: string;
}

/** Reads cluster.env; fails with the command that fixes it when the control plane was not started. */
export function clusterEnv(): ClusterEnv {
  const file = Deno.env.get("CLUSTER_ENV_FILE") ?? `${REPO}.cache/cluster/cluster.env`;
  let text: string;
  try {
    text = Deno.readTextFileSync(file);
  } catch {
    throw new Error(`no local control plane: ${file} is missing (run: make cluster-up)`);
  }
  const vars = parseEnvFile(text);
  return {
    kubeconfig: vars.KUBECONFIG,
    apiserverUrl: vars.CLUSTER_APISERVER_URL,
    caFile: vars.CLUSTER_CA_FILE,
    ctl: vars.CLUSTER_CTL,
    helm: vars.CLUSTER_HELM,
    etcdEndpoint: vars.CLUSTER_ETCD_ENDPOINT,
    auditLog: vars.CLUSTER_AUDIT_LOG,
    logDir: vars.CLUSTER_LOG_DIR,
  };
}

export { type CommandResult, run } from "../../support/command.ts";
import { type CommandResult, run } from "../../support/command.ts";
import { waitFor } from "./service.ts";

/** kubectl as the cluster admin (or with the given kubeconfig); throws with stderr unless allowFail. */
export async function kubectl(
  args: string[],
  options: { stdin?: string; kubeconfig?: string; allowFail?: boolean } = {},
): Promise<CommandResult> {
  const kubeconfig = options.kubeconfig ?? clusterEnv().kubeconfig;
  const result = await run("kubectl", ["--kubeconfig", kubeconfig, "--request-timeout=20s", ...args], { stdin: options.stdin });
  if (result.code !== 0 && !options.allowFail) {
    throw new Error(`kubectl ${args.join(" ")} failed (${result.code}): ${result.stderr.trim()}`);
  }
  return result;
}

/** Namespace names are unique per run: without kube-controller-manager deleted namespaces stay Terminating. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

export async function createNamespace(name: string): Promise<void> {
  await kubectl(["create", "namespace", name]);
}

export function deploymentManifest(namespace: string, name: string, replicas: number, image = "nginx:1.27"): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image }] } },
    },
  });
}

export async function createDeployment(namespace: string, name: string, replicas: number, image?: string): Promise<void> {
  await kubectl(["apply", "-f", "-"], { stdin: deploymentManifest(namespace, name, replicas, image) });
}

/** An autoscaling/v2 HPA on CPU for `target` (no metrics server here: it only has to exist and name its range). */
export function hpaManifest(namespace: string, name: string, target: string, minReplicas: number, maxReplicas: number): string {
  return JSON.stringify({
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name, namespace },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target },
      minReplicas,
      maxReplicas,
      metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } }],
    },
  });
}

/**
 * Waits until kube-controller-manager has acted on the Deployment's latest spec (observedGeneration has caught up
 * with generation) and returns the revision it gave it. The Deployment controller's lag is not ours to assert
 * on: on a loaded machine it has exceeded 15 s, so the wait is long, and a timeout says what the controller was
 * doing (the tail of its log) instead of failing later on a revision that was never made.
 */
export async function controllerObserved(namespace: string, name: string, timeoutMs = 90_000): Promise<number> {
  let revision = 0;
  let last = "";
  try {
    await waitFor(
      async () => {
        const d = JSON.parse((await kubectl(["get", "deployment", name, "-n", namespace, "-o", "json"])).stdout);
        revision = Number(d.metadata?.annotations?.["deployment.kubernetes.io/revision"] ?? 0);
        last = `generation ${d.metadata?.generation}, observedGeneration ${d.status?.observedGeneration}, revision ${revision}`;
        return d.status?.observedGeneration >= d.metadata?.generation && revision > 0;
      },
      timeoutMs,
      `deployment ${namespace}/${name} observed`,
      200,
    );
    return revision;
  } catch {
    const logDir = clusterEnv().logDir;
    let tail = "(no controller-manager log known)";
    try {
      if (logDir) tail = (await Deno.readTextFile(`${logDir}/kube-controller-manager.log`)).split("\n").slice(-40).join("\n");
    } catch (error) {
      tail = `(controller-manager log unreadable: ${error})`;
    }
    throw new Error(
      `kube-controller-manager did not act on deployment ${namespace}/${name} within ${timeoutMs} ms (${last}); its log ends:\n${tail}`,
    );
  }
}

export async function specReplicas(namespace: string, name: string): Promise<number> {
  const r = await kubectl(["get", "deployment", name, "-n", namespace, "-o", "jsonpath={.spec.replicas}"]);
  return Number(r.stdout);
}

export interface ServiceAccountIdentity {
  readonly namespace: string;
  readonly name: string;
  /** A kubeconfig that authenticates with the ServiceAccount's token and verifies the API server's CA. */
  readonly kubeconfig: string;
  readonly username: string;
}

/**
 * Creates a ServiceAccount bound by exactly the RBAC the Helm chart renders
 * (templates/rbac.yaml and templates/serviceaccount.yaml), so the suite proves the chart's rules are enough and
 * no more. `watchNamespaces` empty = cluster-wide mode.
 */
export async function chartServiceAccount(
  watchNamespaces: readonly string[] = [],
  /** The chart value `operations`; default the chart's own (scale). */
  operations?: readonly string[],
): Promise<ServiceAccountIdentity> {
  const env = clusterEnv();
  const namespace = uniqueName("replica-sa");
  await createNamespace(namespace);
  const release = uniqueName("it");
  const args = ["template", release, `${REPO}helm/replica-api`, "--namespace", namespace];
  args.push("--show-only", "templates/rbac.yaml", "--show-only", "templates/serviceaccount.yaml");
  if (watchNamespaces.length) args.push("--set", `watchNamespaces={${watchNamespaces.join(",")}}`);
  if (operations) args.push("--set-json", `operations=${JSON.stringify(operations)}`);
  const rendered = await run(env.helm, args);
  if (rendered.code !== 0) throw new Error(`helm template failed: ${rendered.stderr}`);
  // Rendered objects carry their own namespaces (Roles live in each watched namespace).
  await kubectl(["apply", "-f", "-"], { stdin: rendered.stdout });
  const saName = (await kubectl([
    "get",
    "serviceaccount",
    "-n",
    namespace,
    "-l",
    `app.kubernetes.io/instance=${release}`,
    "-o",
    "jsonpath={.items[0].metadata.name}",
  ]))
    .stdout.trim();
  if (!saName) throw new Error("the chart rendered no ServiceAccount");
  const token = (await kubectl(["create", "token", saName, "-n", namespace, "--duration=2h"])).stdout.trim();
  const kubeconfig = await Deno.makeTempFile({ prefix: "replica-sa-", suffix: ".kubeconfig" });
  await Deno.writeTextFile(kubeconfig, tokenKubeconfig(env.apiserverUrl, Deno.readTextFileSync(env.caFile), token));
  return { namespace, name: saName, kubeconfig, username: `system:serviceaccount:${namespace}:${saName}` };
}

export function tokenKubeconfig(server: string, caPem: string, token: string): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "local", cluster: { server, "certificate-authority-data": btoa(caPem) } }],
    users: [{ name: "sa", user: { token } }],
    contexts: [{ name: "sa@local", context: { cluster: "local", user: "sa" } }],
    "current-context": "sa@local",
  });
}
