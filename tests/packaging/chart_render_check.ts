/**
 * Static checks of the Helm chart: renders helm/replica-api with `helm template` in both
 * RBAC modes and asserts what comes out (kinds, RBAC verbs for every combination of
 * `operations`, probes, security settings, checksums), and that values.schema.json rejects
 * bad values. No cluster needed.
 *
 * Run through scripts/chart-test.sh (it passes HELM and the config that maps "yaml"):
 *   HELM=/path/to/helm deno test --config tests/packaging/deno.json \
 *     --allow-run --allow-read --allow-env tests/packaging/chart_render_check.ts
 */
import { SETTINGS } from "../../src/config/settings.ts";

/** A rendered Kubernetes object, loosely typed: the checks below read only what they assert. */
// deno-lint-ignore no-explicit-any
type Obj = Record<string, any>;
type YamlModule = { parseAllDocuments(source: string): { toJS(): unknown }[] };

// The YAML parser comes from tests/packaging/deno.json's import map. The specifier is a
// variable on purpose: the project's root `deno check src/ tests/` must not try to resolve
// an npm package that only this check (with its own config and lock) depends on.
const YAML_MODULE: string = "yaml";
const yaml: YamlModule = await import(YAML_MODULE);

const HELM = Deno.env.get("HELM") ?? "helm";
const CHART = new URL("../../helm/replica-api", import.meta.url).pathname;
const FAKE_CERT = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
// Assembled so secret scanners do not mistake this file for a key; it is not one.
const PEM_LABEL = ["PRIVATE", "KEY"].join(" ");
const FAKE_KEY = `-----BEGIN ${PEM_LABEL}-----\nMIGHfake\n-----END ${PEM_LABEL}-----\n`;
const TLS = ["--set-string", `tls.cert=${FAKE_CERT}`, "--set-string", `tls.key=${FAKE_KEY}`, "--set-string", `tls.ca=${FAKE_CERT}`];

function fail(message: string): never {
  throw new Error(message);
}

function assert(condition: unknown, message: string): asserts condition {
  if (!condition) fail(message);
}

function assertEquals(actual: unknown, expected: unknown, message: string): void {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) fail(`${message}\n  expected: ${e}\n  actual:   ${a}`);
}

async function helm(args: string[]): Promise<{ ok: boolean; stdout: string; stderr: string }> {
  const out = await new Deno.Command(HELM, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { ok: out.success, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** `helm template rel <chart> -n ns <args>` parsed into objects; fails with helm's message. */
async function render(args: string[], { release = "rel", namespace = "ns1" } = {}): Promise<Obj[]> {
  const r = await helm(["template", release, CHART, "--namespace", namespace, ...args]);
  if (!r.ok) fail(`helm template ${args.join(" ")} failed:\n${r.stderr}`);
  return yaml.parseAllDocuments(r.stdout).map((d) => d.toJS() as Obj).filter((o) => o !== null);
}

function byKind(objects: Obj[], kind: string): Obj[] {
  return objects.filter((o) => o.kind === kind);
}

function one(objects: Obj[], kind: string): Obj {
  const found = byKind(objects, kind);
  assertEquals(found.length, 1, `exactly one ${kind}`);
  return found[0];
}

function kinds(objects: Obj[]): string[] {
  return objects.map((o) => o.kind).sort();
}

/** Every (apiGroup, resource, verb) a set of rules grants, as "group/resource:verb". */
function grants(rules: Obj[]): string[] {
  const out: string[] = [];
  for (const rule of rules) {
    assert(!("nonResourceURLs" in rule) && !("resourceNames" in rule), "no nonResourceURLs or resourceNames rules");
    for (const g of rule.apiGroups) for (const r of rule.resources) for (const v of rule.verbs) out.push(`${g}/${r}:${v}`);
  }
  return out.sort();
}

function assertNoWildcards(rules: Obj[]): void {
  for (const rule of rules) {
    for (const field of ["apiGroups", "resources", "verbs"]) {
      assert(!rule[field].some((x: string) => x.includes("*")), `wildcard in ${field}: ${JSON.stringify(rule)}`);
    }
  }
}

const DEPLOYMENT_GRANTS = [
  "apps/deployments/scale:get",
  "apps/deployments/scale:patch",
  "apps/deployments:get",
  "apps/deployments:list",
  "apps/deployments:watch",
  "autoscaling/horizontalpodautoscalers:list",
  "autoscaling/horizontalpodautoscalers:watch",
  "events.k8s.io/events:create",
  "events.k8s.io/events:list",
  "events.k8s.io/events:watch",
];
const NAMESPACE_GRANTS = ["/namespaces:list", "/namespaces:watch"];

Deno.test("chart: all-namespaces mode renders exactly the expected kinds", async () => {
  const objects = await render(TLS);
  assertEquals(kinds(objects), [
    "ClusterRole",
    "ClusterRoleBinding",
    "ConfigMap",
    "Deployment",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "Secret",
    "Service",
    "ServiceAccount",
  ], "kinds in all-namespaces mode");
  for (const o of objects) {
    assertEquals(o.metadata.labels["app.kubernetes.io/name"], "replica-api", `${o.kind} has the standard name label`);
    assertEquals(o.metadata.labels["app.kubernetes.io/instance"], "rel", `${o.kind} has the instance label`);
    assertEquals(o.metadata.labels["app.kubernetes.io/managed-by"], "Helm", `${o.kind} has the managed-by label`);
    assertEquals(o.metadata.name, "rel-replica-api" + (o.kind === "Secret" ? "-tls" : ""), `${o.kind} is named after the fullname`);
    if (!o.kind.startsWith("Cluster")) assertEquals(o.metadata.namespace, "ns1", `${o.kind} is in the release namespace`);
  }
});

Deno.test("chart: ClusterRole grants Deployments, their scale, HPAs, Event creation and Namespaces only, bound to the chart's ServiceAccount", async () => {
  const objects = await render(TLS);
  const role = one(objects, "ClusterRole");
  assertNoWildcards(role.rules);
  assertEquals(grants(role.rules), [...NAMESPACE_GRANTS, ...DEPLOYMENT_GRANTS].sort(), "ClusterRole grants");
  const binding = one(objects, "ClusterRoleBinding");
  assertEquals(binding.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "rel-replica-api" }, "roleRef");
  assertEquals(binding.subjects, [{ kind: "ServiceAccount", name: "rel-replica-api", namespace: "ns1" }], "subjects");
  assertEquals(one(objects, "ServiceAccount").metadata.name, "rel-replica-api", "ServiceAccount name");
});

Deno.test("chart: namespaced mode renders a Role and RoleBinding per watched namespace and no cluster-wide RBAC", async () => {
  const objects = await render([...TLS, "--set", "watchNamespaces={team-a,team-b,team-a}"]);
  assertEquals(byKind(objects, "ClusterRole").length + byKind(objects, "ClusterRoleBinding").length, 0, "no cluster-wide RBAC");
  const roles = byKind(objects, "Role"), bindings = byKind(objects, "RoleBinding");
  assertEquals(roles.map((r) => r.metadata.namespace).sort(), ["team-a", "team-b"], "one Role per namespace (duplicates merged)");
  assertEquals(bindings.map((r) => r.metadata.namespace).sort(), ["team-a", "team-b"], "one RoleBinding per namespace");
  for (const role of roles) {
    assertNoWildcards(role.rules);
    assertEquals(grants(role.rules), DEPLOYMENT_GRANTS, `Role grants in ${role.metadata.namespace}`);
  }
  for (const b of bindings) {
    assertEquals(b.roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "rel-replica-api" }, "roleRef");
    assertEquals(b.subjects, [{ kind: "ServiceAccount", name: "rel-replica-api", namespace: "ns1" }], "subject in the release namespace");
  }
  const cm = one(objects, "ConfigMap");
  assertEquals(cm.data.WATCH_NAMESPACES, "team-a,team-b", "WATCH_NAMESPACES matches the Roles");
});

/** The operations of the chart value `operations` (and of the service's OPERATIONS setting). */
const OPERATIONS = ["scale", "restart", "pause", "undo", "image"] as const;
type Operation = typeof OPERATIONS[number];

/**
 * What each operation needs from the API server, written down from what the service does (not from the
 * template): scale patches the scale subresource after reading it; restart, pause/resume, set image and undo
 * patch the Deployment; undo also reads the ReplicaSets (its informer lists and watches them, the undo gets
 * the target revision); every write records an Event.
 */
const OPERATION_GRANTS: Record<Operation, readonly string[]> = {
  scale: ["apps/deployments/scale:get", "apps/deployments/scale:patch"],
  restart: ["apps/deployments:patch"],
  pause: ["apps/deployments:patch"],
  undo: ["apps/deployments:patch", "apps/replicasets:get", "apps/replicasets:list", "apps/replicasets:watch"],
  image: ["apps/deployments:patch"],
};
/** Reads: the Deployment and HPA informers, and get of one Deployment. Granted even read-only. */
const READ_GRANTS = [
  "apps/deployments:get",
  "apps/deployments:list",
  "apps/deployments:watch",
  "autoscaling/horizontalpodautoscalers:list",
  "autoscaling/horizontalpodautoscalers:watch",
];
/** Every write records an Event, and the history read serves them back from an informer (list+watch). */
const EVENT_GRANTS = ["events.k8s.io/events:create", "events.k8s.io/events:list", "events.k8s.io/events:watch"];

/** Every subset of the operations (32), each in the canonical order. */
function operationSubsets(): Operation[][] {
  return Array.from({ length: 1 << OPERATIONS.length }, (_, mask) => OPERATIONS.filter((_, i) => mask & (1 << i)));
}

function expectedGrants(ops: readonly Operation[], clusterWide: boolean): string[] {
  const needed = new Set([...READ_GRANTS, ...ops.flatMap((o) => OPERATION_GRANTS[o]), ...(ops.length ? EVENT_GRANTS : [])]);
  return [...needed, ...(clusterWide ? NAMESPACE_GRANTS : [])].sort();
}

/** Runs `fn` over `items` with at most `limit` at once (helm is a process each; the machine has few cores). */
async function eachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

Deno.test("chart: every combination of operations gets exactly the RBAC it needs in both modes, and OPERATIONS names them", async () => {
  const subsets = operationSubsets();
  assertEquals(subsets.length, 32, "all subsets of the five operations");
  const cases = subsets.flatMap((ops) => [{ ops, clusterWide: true }, { ops, clusterWide: false }]);
  await eachLimited(cases, 4, async ({ ops, clusterWide }) => {
    const what = `operations=[${ops.join(",")}] ${clusterWide ? "all namespaces" : "namespaced"}`;
    const objects = await render([
      "--show-only",
      "templates/rbac.yaml",
      "--show-only",
      "templates/configmap.yaml",
      "--set-json",
      `operations=${JSON.stringify(ops)}`,
      ...(clusterWide ? [] : ["--set", "watchNamespaces={team-a,team-b}"]),
    ]);
    const roles = byKind(objects, clusterWide ? "ClusterRole" : "Role");
    assertEquals(roles.length, clusterWide ? 1 : 2, `${what}: roles`);
    for (const role of roles) {
      assertNoWildcards(role.rules);
      assertEquals(grants(role.rules), expectedGrants(ops, clusterWide), `${what}: grants`);
    }
    assertEquals(one(objects, "ConfigMap").data.OPERATIONS, ops.length ? ops.join(",") : "none", `${what}: OPERATIONS`);
  });
});

Deno.test("chart: operations defaults to [scale] (also with no key at all), the grants of before; an order or a read-only release renders as given", async () => {
  const defaults = await render(["--show-only", "templates/rbac.yaml", "--show-only", "templates/configmap.yaml"]);
  assertEquals(one(defaults, "ConfigMap").data.OPERATIONS, "scale", "OPERATIONS default");
  assertEquals(grants(one(defaults, "ClusterRole").rules), [...NAMESPACE_GRANTS, ...DEPLOYMENT_GRANTS].sort(), "default grants");
  // No key at all, as `helm upgrade --reuse-values` of a release from before the value gives: what it did, scale.
  const absent = await render([
    "--show-only",
    "templates/rbac.yaml",
    "--show-only",
    "templates/configmap.yaml",
    "--set",
    "operations=null",
  ]);
  assertEquals(one(absent, "ConfigMap").data.OPERATIONS, "scale", "no operations key: scale, not read-only");
  assertEquals(grants(one(absent, "ClusterRole").rules), [...NAMESPACE_GRANTS, ...DEPLOYMENT_GRANTS].sort(), "no key: default grants");
  const ordered = await render(["--show-only", "templates/configmap.yaml", "--set", "operations={image,scale}"]);
  assertEquals(one(ordered, "ConfigMap").data.OPERATIONS, "image,scale", "--set list syntax, in the order given");
  const readOnly = await render(["--show-only", "templates/rbac.yaml", "--set-json", "operations=[]"]);
  const verbs = grants(one(readOnly, "ClusterRole").rules).map((g) => g.split(":")[1]);
  assert(verbs.every((v) => ["get", "list", "watch"].includes(v)), `a read-only release may only read: ${verbs}`);
  // The same default as the service's own (a release without the value behaves like one started without the setting).
  const settings: Record<string, { default: string | undefined }> = SETTINGS;
  assertEquals(settings.OPERATIONS?.default, "scale", "src/config/settings.ts knows OPERATIONS, with the default scale");
});

Deno.test("chart: templates/rbac.yaml renders alone with default values for any ServiceAccount and namespace", async () => {
  for (const mode of [[], ["--set", "watchNamespaces={x}"]]) {
    const objects = await render(["--show-only", "templates/rbac.yaml", "--set", "serviceAccount.name=it-sa", ...mode], {
      release: "t",
      namespace: "it-ns",
    });
    assertEquals(objects.length, 2, "a role and its binding");
    for (const o of objects) assertEquals(o.metadata.name, "t-replica-api", "deterministic name");
    const binding = objects.find((o) => o.kind.endsWith("Binding"))!;
    assertEquals(binding.subjects, [{ kind: "ServiceAccount", name: "it-sa", namespace: "it-ns" }], "subject");
  }
  const overridden = await render(["--show-only", "templates/rbac.yaml", "--set", "namespaceOverride=other"]);
  assertEquals(overridden[1].subjects[0].namespace, "other", "namespaceOverride moves the subject");
  const none = await helm(["template", "t", CHART, "--show-only", "templates/rbac.yaml", "--set", "rbac.create=false"]);
  assert(!none.ok && none.stderr.includes("could not find template"), "rbac.create=false renders no RBAC");
});

Deno.test("chart: Deployment rolls surge-first with probes on the probe port and a grace period longer than the drain", async () => {
  const objects = await render(TLS);
  const d = one(objects, "Deployment");
  assertEquals(d.spec.replicas, 2, "2 replicas by default");
  assertEquals(d.spec.strategy, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } }, "strategy");
  const pod = d.spec.template.spec;
  assertEquals(pod.containers.length, 1, "one container");
  const c = pod.containers[0];
  const ports = Object.fromEntries(c.ports.map((p: Obj) => [p.name, p.containerPort]));
  assertEquals(ports, { https: 8443, probe: 8081 }, "container ports");
  assertEquals([c.readinessProbe.httpGet.path, c.readinessProbe.httpGet.port], ["/readyz", "probe"], "readiness probe");
  assertEquals([c.livenessProbe.httpGet.path, c.livenessProbe.httpGet.port], ["/livez", "probe"], "liveness probe");
  assertEquals(c.startupProbe.httpGet.port, "probe", "startup probe on the probe port");
  assert(!c.readinessProbe.httpGet.scheme || c.readinessProbe.httpGet.scheme === "HTTP", "probes are plain HTTP");
  const drainSeconds = Number(one(objects, "ConfigMap").data.SHUTDOWN_TIMEOUT.replace(/s$/, ""));
  const preStop = c.lifecycle?.preStop?.sleep?.seconds ?? 0;
  assert(pod.terminationGracePeriodSeconds > preStop + drainSeconds, "grace period exceeds preStop sleep + SHUTDOWN_TIMEOUT");
  assertEquals(pod.terminationGracePeriodSeconds, 30, "grace period");
  assertEquals(pod.serviceAccountName, "rel-replica-api", "runs as the chart's ServiceAccount");
  assertEquals(c.envFrom, [{ configMapRef: { name: "rel-replica-api" } }], "settings from the ConfigMap");
  assert(c.resources.requests.cpu && c.resources.requests.memory && c.resources.limits.memory, "resources set");
});

Deno.test("chart: pods run non-root with a read-only root filesystem, no capabilities and RuntimeDefault seccomp", async () => {
  const d = one(await render(TLS), "Deployment");
  const pod = d.spec.template.spec;
  const c = pod.containers[0];
  assertEquals(pod.securityContext.runAsNonRoot, true, "pod runAsNonRoot");
  assertEquals(pod.securityContext.seccompProfile, { type: "RuntimeDefault" }, "pod seccomp");
  assert(pod.securityContext.runAsUser > 0, "non-root UID");
  assertEquals(c.securityContext.readOnlyRootFilesystem, true, "readOnlyRootFilesystem");
  assertEquals(c.securityContext.allowPrivilegeEscalation, false, "allowPrivilegeEscalation");
  assertEquals(c.securityContext.capabilities, { drop: ["ALL"] }, "drop ALL");
  assertEquals(c.securityContext.runAsNonRoot, true, "container runAsNonRoot");
  const mounts = Object.fromEntries(c.volumeMounts.map((m: Obj) => [m.mountPath, m]));
  assertEquals(mounts["/etc/replica-api/tls"].readOnly, true, "TLS mounted read-only");
  const tmp = pod.volumes.find((v: Obj) => v.name === mounts["/tmp"].name);
  assert(tmp?.emptyDir?.sizeLimit, "/tmp is a size-limited emptyDir");
});

Deno.test("chart: ConfigMap holds only known settings, and the TLS paths point into the mounted Secret", async () => {
  const objects = await render(TLS);
  const cm = one(objects, "ConfigMap");
  for (const key of Object.keys(cm.data)) assert(key in SETTINGS, `ConfigMap key ${key} is a setting of src/config/settings.ts`);
  // Every optional setting on too (policy, CRLs): each key is a setting of the service.
  const optional = one(
    (await render([...TLS, "--set", "authz.existingConfigMap=p", "--set", "tls.clientCrl.secretName=c"])).filter((o) =>
      o.metadata.name === "rel-replica-api"
    ),
    "ConfigMap",
  );
  for (const key of Object.keys(optional.data)) {
    assert(key in SETTINGS, `ConfigMap key ${key} is a setting of src/config/settings.ts`);
  }
  assertEquals(cm.data.LISTEN_ADDR, "0.0.0.0:8443", "LISTEN_ADDR");
  assertEquals(cm.data.PROBE_ADDR, "0.0.0.0:8081", "PROBE_ADDR");
  assertEquals(cm.data.MAX_CONNECTIONS_PER_SOURCE, SETTINGS.MAX_CONNECTIONS_PER_SOURCE.default, "MAX_CONNECTIONS_PER_SOURCE default");
  assertEquals(cm.data.HANDSHAKE_RATE_PER_SOURCE, SETTINGS.HANDSHAKE_RATE_PER_SOURCE.default, "HANDSHAKE_RATE_PER_SOURCE default");
  for (const name of ["KUBE_HEARTBEAT_INTERVAL", "KUBE_HEARTBEAT_TIMEOUT", "KUBE_UNREACHABLE_AFTER"] as const) {
    assertEquals(cm.data[name], SETTINGS[name].default, `${name} default`);
  }
  assert(!("KUBECONFIG" in cm.data), "no KUBECONFIG: the in-cluster ServiceAccount is used");
  const d = one(objects, "Deployment");
  const volume = d.spec.template.spec.volumes.find((v: Obj) => v.name === "tls");
  assertEquals(volume.secret.secretName, "rel-replica-api-tls", "mounts the chart's Secret");
  const files = volume.secret.items.map((i: Obj) => `/etc/replica-api/tls/${i.path}`);
  for (const setting of ["TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CLIENT_CA_FILE"]) {
    assert(files.includes(cm.data[setting]), `${setting}=${cm.data[setting]} is a file of the mounted Secret`);
  }
  const secret = one(objects, "Secret");
  assertEquals(secret.type, "kubernetes.io/tls", "Secret type");
  assertEquals(Object.keys(secret.data).sort(), ["ca.crt", "tls.crt", "tls.key"], "Secret keys");
});

Deno.test("chart: Service exposes only the mTLS port", async () => {
  const svc = one(await render(TLS), "Service");
  assertEquals(svc.spec.ports.map((p: Obj) => [p.port, p.targetPort]), [[8443, "https"]], "Service ports");
  assertEquals(svc.spec.selector, { "app.kubernetes.io/name": "replica-api", "app.kubernetes.io/instance": "rel" }, "selector");
});

Deno.test("chart: NetworkPolicy allows in only the mTLS and probe ports, out only the API server and DNS", async () => {
  const np = one(await render(TLS), "NetworkPolicy");
  assertEquals(np.spec.policyTypes, ["Ingress", "Egress"], "both directions restricted");
  assertEquals(np.spec.ingress.map((r: Obj) => r.ports.map((p: Obj) => p.port)), [["https"], ["probe"]], "ingress ports");
  const egressPorts = np.spec.egress.map((r: Obj) => r.ports.map((p: Obj) => `${p.port}/${p.protocol}`));
  assertEquals(egressPorts, [["443/TCP", "6443/TCP"], ["53/UDP", "53/TCP"]], "egress ports");
  assertEquals(np.spec.egress[0].to, [{ ipBlock: { cidr: "0.0.0.0/0" } }], "API server CIDR default");
  const narrowed = one(
    await render([
      ...TLS,
      "--set",
      "networkPolicy.apiClients[0].podSelector.matchLabels.role=sre",
      "--set",
      "networkPolicy.apiServer.cidrs={10.0.0.1/32}",
    ]),
    "NetworkPolicy",
  );
  assertEquals(narrowed.spec.ingress[0].from, [{ podSelector: { matchLabels: { role: "sre" } } }], "apiClients selector");
  assertEquals(narrowed.spec.egress[0].to, [{ ipBlock: { cidr: "10.0.0.1/32" } }], "apiServer.cidrs");
});

Deno.test("chart: a changed certificate or setting changes the pod template's checksum annotations", async () => {
  const annotations = async (args: string[]) => one(await render(args), "Deployment").spec.template.metadata.annotations;
  const base = await annotations(TLS);
  assert(/^[0-9a-f]{64}$/.test(base["checksum/config"]) && /^[0-9a-f]{64}$/.test(base["checksum/tls"]), "checksums present");
  const otherCert = FAKE_CERT.replace("fake", "other");
  const rotated = await annotations([...TLS, "--set-string", `tls.cert=${otherCert}`]);
  assert(rotated["checksum/tls"] !== base["checksum/tls"], "new certificate, new checksum/tls");
  assertEquals(rotated["checksum/config"], base["checksum/config"], "checksum/config unchanged by a certificate");
  const reconfigured = await annotations([...TLS, "--set", "config.logLevel=debug"]);
  assert(reconfigured["checksum/config"] !== base["checksum/config"], "new setting, new checksum/config");
  // OPERATIONS is read at start: enabling an operation rolls the pods (with the RBAC it needs, in the same release).
  const moreOperations = await annotations([...TLS, "--set", "operations={scale,restart}"]);
  assert(moreOperations["checksum/config"] !== base["checksum/config"], "new operations, new checksum/config");
});

/** Volume mounts that Kubernetes never updates in place: a subPath mount keeps the file it found at start. */
function subPathMounts(deployment: Obj): string[] {
  return deployment.spec.template.spec.containers.flatMap((c: Obj) =>
    (c.volumeMounts ?? []).filter((m: Obj) => m.subPath || m.subPathExpr).map((m: Obj) => `${c.name}:${m.mountPath}`)
  );
}

/** The volume mounted at the directory of `file`, and that mount; fails when none is. */
function mountOf(deployment: Obj, file: string): { volume: Obj; mount: Obj } {
  const pod = deployment.spec.template.spec;
  const dir = file.slice(0, file.lastIndexOf("/"));
  const mount = pod.containers[0].volumeMounts.find((m: Obj) => m.mountPath === dir);
  assert(mount, `a volume is mounted at ${dir} (the directory of ${file})`);
  const volume = pod.volumes.find((v: Obj) => v.name === mount.name);
  assert(volume, `volume ${mount.name} exists`);
  return { volume, mount };
}

/** `value` with every object's keys sorted: Helm renders maps in key order, so compare content, not order. */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a < b ? -1 : 1).map(([k, v]) => [k, sortedKeys(v)]));
  }
  return value;
}

const POLICY = {
  rules: [{ subjects: [{ group: "sre" }], permissions: { read: ["*"], scale: ["demo"] } }],
};
const POLICY_EDITED = {
  rules: [{ subjects: [{ group: "sre" }], permissions: { read: ["*"] } }],
  deniedFingerprints: ["3F:0A"],
};

Deno.test("chart: the policy ConfigMap is mounted as a directory and a policy edit changes nothing on the pod template", async () => {
  const before = await render([...TLS, "--set-json", `authz.policy=${JSON.stringify(POLICY)}`]);
  const after = await render([...TLS, "--set-json", `authz.policy=${JSON.stringify(POLICY_EDITED)}`]);
  const settings = one(before.filter((o) => o.metadata.name === "rel-replica-api"), "ConfigMap");
  const file = settings.data.AUTHZ_POLICY_FILE;
  assertEquals(file, "/etc/replica-api/policy/policy.json", "AUTHZ_POLICY_FILE");
  const d = one(before, "Deployment");
  const { volume, mount } = mountOf(d, file);
  assertEquals(volume.configMap?.name, "rel-replica-api-policy", "the policy ConfigMap is the volume");
  assertEquals(volume.configMap.items, undefined, "the whole ConfigMap, no items to fall out of date");
  assertEquals(mount.readOnly, true, "mounted read-only");
  assertEquals(subPathMounts(d), [], "no subPath mount (the kubelet never updates one)");
  const policyCm = (objects: Obj[]) => objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "rel-replica-api-policy")!;
  assertEquals(JSON.parse(policyCm(before).data["policy.json"]), sortedKeys(POLICY), "the policy, as JSON, under the file's name");
  assertEquals(JSON.parse(policyCm(after).data["policy.json"]), sortedKeys(POLICY_EDITED), "the edited policy");
  // What an edit must not touch: anything that rolls the pods.
  assertEquals(one(after, "Deployment").spec.template, d.spec.template, "pod template (and its checksums) unchanged by a policy edit");
  const annotations = Object.keys(d.spec.template.metadata.annotations ?? {});
  assert(!annotations.some((a) => a.includes("policy")), `no policy checksum on the pod template: ${annotations.join(", ")}`);
});

Deno.test("chart: a policy may grant restart, pause, undo and image, with image patterns beside image", async () => {
  const policy = {
    rules: [
      { subjects: [{ group: "sre" }], permissions: { read: ["*"], scale: ["*"], restart: ["*"], pause: ["*"], undo: ["*"], image: ["*"] } },
      { subjects: [{ cn: "deploy-bot" }], permissions: { image: ["web"] }, images: ["registry.internal/*"] },
    ],
  };
  const objects = await render([
    ...TLS,
    "--set-json",
    `authz.policy=${JSON.stringify(policy)}`,
    "--set-json",
    `operations=${JSON.stringify(OPERATIONS)}`,
  ]);
  const rendered = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "rel-replica-api-policy")!;
  assertEquals(JSON.parse(rendered.data["policy.json"]), sortedKeys(policy), "the policy as given");
});

Deno.test("chart: authz.existingConfigMap is mounted instead of a rendered policy, and no policy means no AUTHZ_POLICY_FILE", async () => {
  const objects = await render([...TLS, "--set", "authz.existingConfigMap=team-policy", "--set", "authz.key=replica-api.json"]);
  assertEquals(byKind(objects, "ConfigMap").map((c) => c.metadata.name), ["rel-replica-api"], "only the settings ConfigMap");
  const file = one(objects, "ConfigMap").data.AUTHZ_POLICY_FILE;
  assertEquals(file, "/etc/replica-api/policy/replica-api.json", "AUTHZ_POLICY_FILE names authz.key");
  assertEquals(mountOf(one(objects, "Deployment"), file).volume.configMap?.name, "team-policy", "mounts the existing ConfigMap");
  const none = await render(TLS);
  assert(!("AUTHZ_POLICY_FILE" in one(none, "ConfigMap").data), "no AUTHZ_POLICY_FILE without a policy");
  const pod = one(none, "Deployment").spec.template.spec;
  assert(!pod.volumes.some((v: Obj) => v.name === "policy"), "no policy volume without a policy");
  const both = await helm([
    "template",
    "t",
    CHART,
    ...TLS,
    "--set-json",
    `authz.policy=${JSON.stringify(POLICY)}`,
    "--set",
    "authz.existingConfigMap=x",
  ]);
  assert(!both.ok && both.stderr.includes("use one or the other"), `policy and existingConfigMap together rejected:\n${both.stderr}`);
});

Deno.test("chart: tls.clientCrl mounts the CRLs of a Secret or ConfigMap as a directory and lists their paths in TLS_CLIENT_CRL_FILE", async () => {
  for (const [source, field] of [["secretName", "secret"], ["configMapName", "configMap"]] as const) {
    const objects = await render([...TLS, "--set", `tls.clientCrl.${source}=crls`, "--set", "tls.clientCrl.keys={root.crl,issuing.crl}"]);
    const files: string = one(objects, "ConfigMap").data.TLS_CLIENT_CRL_FILE;
    assertEquals(files, "/etc/replica-api/crl/root.crl,/etc/replica-api/crl/issuing.crl", `TLS_CLIENT_CRL_FILE from a ${field}`);
    const d = one(objects, "Deployment");
    for (const file of files.split(",")) {
      const { volume, mount } = mountOf(d, file);
      assertEquals(volume[field]?.[field === "secret" ? "secretName" : "name"], "crls", `${file} comes from the ${field}`);
      assertEquals(volume[field].items, undefined, "the whole object, no items");
      assertEquals(mount.readOnly, true, "mounted read-only");
    }
    assertEquals(subPathMounts(d), [], "no subPath mount (an updated CRL must reach the pods)");
  }
  const none = await render(TLS);
  assert(!("TLS_CLIENT_CRL_FILE" in one(none, "ConfigMap").data), "no TLS_CLIENT_CRL_FILE without a CRL source");
  assert(!one(none, "Deployment").spec.template.spec.volumes.some((v: Obj) => v.name === "client-crl"), "no CRL volume without one");
  const both = await helm([
    "template",
    "t",
    CHART,
    ...TLS,
    "--set",
    "tls.clientCrl.secretName=a",
    "--set",
    "tls.clientCrl.configMapName=b",
  ]);
  assert(!both.ok && both.stderr.includes("use one or the other"), `a CRL Secret and ConfigMap together rejected:\n${both.stderr}`);
});

const CLIENTS = [
  { name: "alice", commonName: "alice", organizations: ["sre", "oncall"] },
  { name: "deploy-bot", commonName: "deploy-bot", duration: "8h", renewBefore: "2h" },
];
const CERT_MANAGER = ["--set", "certManager.enabled=true", "--set-json", `certManager.clientCertificates=${JSON.stringify(CLIENTS)}`];

function named(objects: Obj[], kind: string, name: string): Obj {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  assertEquals(found.length, 1, `exactly one ${kind} ${name}`);
  return found[0];
}

Deno.test("chart: certManager.enabled without issuerRef builds its own chain, a server Certificate for the Service into the mounted Secret, and client Certificates", async () => {
  const objects = await render([...CERT_MANAGER, "--set", "certManager.duration=720h", "--set", "certManager.renewBefore=240h"]);
  const cmObjects = objects.filter((o) => o.apiVersion === "cert-manager.io/v1");
  assertEquals(cmObjects.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
    "Certificate/rel-replica-api",
    "Certificate/rel-replica-api-ca",
    "Certificate/rel-replica-api-client-alice",
    "Certificate/rel-replica-api-client-deploy-bot",
    "Issuer/rel-replica-api-ca",
    "Issuer/rel-replica-api-selfsigned",
  ], "cert-manager objects");
  for (const o of cmObjects) assertEquals(o.metadata.namespace, "ns1", `${o.kind} ${o.metadata.name} in the release namespace`);
  assertEquals(byKind(objects, "Secret").length, 0, "the chart renders no TLS Secret: cert-manager writes it");
  // The chain: self-signed Issuer -> CA Certificate -> CA Issuer.
  assertEquals(named(objects, "Issuer", "rel-replica-api-selfsigned").spec, { selfSigned: {} }, "self-signed Issuer");
  const ca = named(objects, "Certificate", "rel-replica-api-ca").spec;
  assertEquals([ca.isCA, ca.issuerRef], [true, { name: "rel-replica-api-selfsigned", kind: "Issuer", group: "cert-manager.io" }], "CA");
  assertEquals(
    named(objects, "Issuer", "rel-replica-api-ca").spec,
    { ca: { secretName: ca.secretName } },
    "CA Issuer signs with the CA's Secret",
  );
  const chainRef = { name: "rel-replica-api-ca", kind: "Issuer", group: "cert-manager.io" };
  // The server certificate.
  const server = named(objects, "Certificate", "rel-replica-api").spec;
  assertEquals(server.dnsNames, [
    "rel-replica-api",
    "rel-replica-api.ns1",
    "rel-replica-api.ns1.svc",
    "rel-replica-api.ns1.svc.cluster.local",
  ], "dnsNames: the Service's names");
  assertEquals(one(objects, "Service").metadata.name, "rel-replica-api", "the Service they name");
  assert(server.usages.includes("server auth") && !server.usages.includes("client auth"), `server usages: ${server.usages}`);
  assertEquals([server.duration, server.renewBefore], ["720h", "240h"], "duration and renewBefore from the values");
  assertEquals(server.privateKey.rotationPolicy, "Always", "a new key at each renewal");
  assertEquals(server.issuerRef, chainRef, "signed by the chart's CA Issuer");
  // Mounted exactly like a tls.* Secret: same path, same files, a directory.
  const d = one(objects, "Deployment");
  const tlsVolume = d.spec.template.spec.volumes.find((v: Obj) => v.name === "tls");
  assertEquals(tlsVolume.secret.secretName, server.secretName, "the pods mount the Certificate's Secret");
  assertEquals(tlsVolume.secret.items.map((i: Obj) => i.key), ["tls.crt", "tls.key", "ca.crt"], "tls.crt, tls.key and ca.crt");
  const cm = one(objects.filter((o) => o.metadata.name === "rel-replica-api"), "ConfigMap").data;
  for (const setting of ["TLS_CERT_FILE", "TLS_KEY_FILE", "TLS_CLIENT_CA_FILE"]) {
    assertEquals(mountOf(d, cm[setting]).volume.name, "tls", `${setting} is in the Certificate's Secret`);
  }
  assertEquals(cm.TLS_CLIENT_CA_FILE, "/etc/replica-api/tls/ca.crt", "client CA: the issuing CA (ca.crt)");
  assertEquals(subPathMounts(d), [], "no subPath mount (a renewal must reach the pods)");
  assert(!("checksum/tls" in d.spec.template.metadata.annotations), "no checksum/tls: renewals are reloaded, not rolled out");
  // Client certificates.
  const alice = named(objects, "Certificate", "rel-replica-api-client-alice").spec;
  assertEquals([alice.secretName, alice.commonName, alice.subject?.organizations], [
    "rel-replica-api-client-alice",
    "alice",
    ["sre", "oncall"],
  ], "alice: Secret, CN and O");
  assertEquals(alice.duration, "24h", "a client certificate is short-lived by default");
  const bot = named(objects, "Certificate", "rel-replica-api-client-deploy-bot").spec;
  assertEquals([bot.commonName, bot.subject, bot.duration, bot.renewBefore], ["deploy-bot", undefined, "8h", "2h"], "deploy-bot");
  for (const client of [alice, bot]) {
    assert(client.usages.includes("client auth") && !client.usages.includes("server auth"), `client usages: ${client.usages}`);
    assertEquals(client.privateKey.rotationPolicy, "Always", "client key rotation");
    assertEquals(client.issuerRef, chainRef, "clients are signed by the CA the server trusts");
  }
});

Deno.test("chart: certManager.issuerRef is used as given (no chain), and tls.clientCa replaces ca.crt as the client CA", async () => {
  const objects = await render([
    ...CERT_MANAGER,
    "--set",
    "certManager.issuerRef.name=corp-ca",
    "--set",
    "certManager.issuerRef.kind=ClusterIssuer",
    "--set",
    "tls.clientCa.configMapName=client-bundle",
    "--set",
    "tls.clientCa.key=bundle.pem",
  ]);
  assertEquals(byKind(objects, "Issuer").length, 0, "no Issuers of its own");
  const certificates = byKind(objects, "Certificate");
  assertEquals(certificates.length, 3, "server and two clients, no CA");
  for (const c of certificates) {
    assertEquals(c.spec.issuerRef, { name: "corp-ca", kind: "ClusterIssuer", group: "cert-manager.io" }, `${c.metadata.name} issuerRef`);
  }
  const d = one(objects, "Deployment");
  const file = one(objects, "ConfigMap").data.TLS_CLIENT_CA_FILE;
  assertEquals(file, "/etc/replica-api/client-ca/bundle.pem", "TLS_CLIENT_CA_FILE names tls.clientCa");
  const { volume } = mountOf(d, file);
  assertEquals([volume.configMap?.name, volume.configMap?.items], ["client-bundle", undefined], "the whole ConfigMap");
  const tlsItems = d.spec.template.spec.volumes.find((v: Obj) => v.name === "tls").secret.items.map((i: Obj) => i.key);
  assertEquals(tlsItems, ["tls.crt", "tls.key"], "ca.crt of the server's Secret is not needed (an issuer may not write one)");
  assertEquals(subPathMounts(d), [], "no subPath mount");
  const ref = await render(["--set", "certManager.enabled=true", "--set", "certManager.issuerRef.name=team-ca"]);
  assertEquals(one(ref, "Certificate").spec.issuerRef, { name: "team-ca", kind: "Issuer", group: "cert-manager.io" }, "defaults");
});

Deno.test("chart: certManager refuses TLS values it would overwrite and duplicate client names; tls.clientCa takes one source", async () => {
  for (const tls of [TLS, ["--set", "tls.existingSecret=x"]]) {
    const r = await helm(["template", "t", CHART, "--set", "certManager.enabled=true", ...tls]);
    assert(!r.ok && r.stderr.includes("certManager.enabled issues the TLS Secret itself"), `tls values with certManager:\n${r.stderr}`);
  }
  const dup = await helm([
    "template",
    "t",
    CHART,
    "--set",
    "certManager.enabled=true",
    "--set-json",
    'certManager.clientCertificates=[{"name":"a","commonName":"a"},{"name":"a","commonName":"b"}]',
  ]);
  assert(!dup.ok && dup.stderr.includes(`the name "a" appears twice`), `duplicate client names:\n${dup.stderr}`);
  const bothCa = await helm([
    "template",
    "t",
    CHART,
    ...TLS,
    "--set",
    "tls.clientCa.secretName=a",
    "--set",
    "tls.clientCa.configMapName=b",
  ]);
  assert(!bothCa.ok && bothCa.stderr.includes("use one or the other"), `a client CA Secret and ConfigMap together:\n${bothCa.stderr}`);
});

Deno.test("chart: tls.existingSecret is mounted instead of a rendered Secret", async () => {
  const objects = await render(["--set", "tls.existingSecret=my-tls"]);
  assertEquals(byKind(objects, "Secret").length, 0, "no Secret rendered");
  const d = one(objects, "Deployment");
  assertEquals(d.spec.template.spec.volumes.find((v: Obj) => v.name === "tls").secret.secretName, "my-tls", "mounts existingSecret");
});

Deno.test("chart: PodDisruptionBudget only with more than one replica; helm test pod only with a client certificate Secret", async () => {
  const single = await render([...TLS, "--set", "replicaCount=1"]);
  assertEquals(byKind(single, "PodDisruptionBudget").length, 0, "no PDB for one replica");
  assertEquals(one(await render(TLS), "PodDisruptionBudget").spec.maxUnavailable, 1, "PDB maxUnavailable");
  assertEquals(byKind(await render(TLS), "Pod").length, 0, "no test pod without tests.clientCertSecret");
  const pod = one(await render([...TLS, "--set", "tests.clientCertSecret=rel-client-tls"]), "Pod");
  assertEquals(pod.metadata.annotations["helm.sh/hook"], "test", "helm test hook");
  assert(/:[\w.-]+$/.test(pod.spec.containers[0].image) && !pod.spec.containers[0].image.endsWith(":latest"), "curl image pinned by tag");
  assert(
    pod.spec.containers[0].args.includes("https://rel-replica-api.ns1.svc:8443/api/v1/health"),
    "calls /api/v1/health via the Service",
  );
  assertEquals(pod.spec.volumes[0].secret.secretName, "rel-client-tls", "client certificate from the named Secret");
});

Deno.test("chart: the per-source connection limits render as whole numbers or off", async () => {
  const configMap = async (args: string[]) => one(await render([...TLS, ...args]), "ConfigMap").data;
  const big = await configMap(["--set", "config.maxConnectionsPerSource=1000000", "--set", "config.handshakeRatePerSource=10/m"]);
  assertEquals([big.MAX_CONNECTIONS_PER_SOURCE, big.HANDSHAKE_RATE_PER_SOURCE], ["1000000", "10/m"], "a number, not 1e+06");
  const off = await configMap(["--set", "config.maxConnectionsPerSource=off", "--set", "config.handshakeRatePerSource=off"]);
  assertEquals([off.MAX_CONNECTIONS_PER_SOURCE, off.HANDSHAKE_RATE_PER_SOURCE], ["off", "off"], "off for both");
});

Deno.test("chart: values.schema.json rejects invalid values with a message naming the value", async () => {
  const cases: [string, string[], string][] = [
    ["replicaCount as a word", ["--set-string", "replicaCount=two"], "/replicaCount"],
    ["unknown top-level key", ["--set", "replicas=2"], "additional properties 'replicas' not allowed"],
    ["invalid namespace in watchNamespaces", ["--set", "watchNamespaces={Team_A}"], "/watchNamespaces/0"],
    ["unknown nested key", ["--set", "config.listenAddr=x"], "additional properties 'listenAddr' not allowed"],
    ["bad duration", ["--set", "config.shutdownTimeout=10 seconds"], "/config/shutdownTimeout"],
    ["bad log level", ["--set", "config.logLevel=verbose"], "/config/logLevel"],
    ["per-source connection cap of 0", ["--set", "config.maxConnectionsPerSource=0"], "/config/maxConnectionsPerSource"],
    ["per-source handshake rate without a unit", ["--set", "config.handshakeRatePerSource=50"], "/config/handshakeRatePerSource"],
    [
      "heartbeat interval that is neither a duration nor off",
      ["--set", "config.kubeHeartbeatInterval=often"],
      "/config/kubeHeartbeatInterval",
    ],
    ["bad unreachable bound", ["--set", "config.kubeUnreachableAfter=10 s"], "/config/kubeUnreachableAfter"],
    ["port out of range", ["--set", "ports.probe=70000"], "/ports/probe"],
    ["operation that does not exist", ["--set", "operations={scale,delete}"], "/operations/1"],
    ["operation listed twice", ["--set", "operations={scale,scale}"], "items at 0 and 1 are equal"],
    ["operations as one string", ["--set", "operations=scale"], "/operations"],
    ["--set operations={} (one empty name, not an empty list)", ["--set", "operations={}"], "/operations/0"],
    [
      "policy images in a rule that does not grant image",
      ["--set-json", 'authz.policy={"rules":[{"subjects":[{"cn":"a"}],"permissions":{"read":["*"]},"images":["registry.internal/*"]}]}'],
      "missing property 'image'",
    ],
    [
      "policy images that is empty",
      ["--set-json", 'authz.policy={"rules":[{"subjects":[{"cn":"a"}],"permissions":{"image":["*"]},"images":[]}]}'],
      "/authz/policy/rules/0/images",
    ],
    ["certificate that is not PEM", ["--set", "tls.cert=hello"], "/tls/cert"],
    ["policy without rules", ["--set-json", 'authz.policy={"description":"x"}'], "missing property 'rules'"],
    [
      "policy subject naming both cn and group",
      ["--set-json", 'authz.policy={"rules":[{"subjects":[{"cn":"a","group":"b"}],"permissions":{"read":["*"]}}]}'],
      "/authz/policy/rules/0/subjects/0",
    ],
    [
      "policy permission that does not exist",
      ["--set-json", 'authz.policy={"rules":[{"subjects":[{"cn":"a"}],"permissions":{"delete":["web"]}}]}'],
      "additional properties 'delete' not allowed",
    ],
    [
      "policy namespace that is not a DNS label",
      ["--set-json", 'authz.policy={"rules":[{"subjects":[{"cn":"a"}],"permissions":{"read":["Web"]}}]}'],
      "/authz/policy/rules/0/permissions/read/0",
    ],
    ["policy key with a slash", ["--set", "authz.key=a/b.json"], "/authz/key"],
    ["issuer kind that is not Issuer or ClusterIssuer", [
      "--set",
      "certManager.issuerRef.name=x",
      "--set",
      "certManager.issuerRef.kind=Vault",
    ], "/certManager/issuerRef/kind"],
    ["issuerRef without a name", ["--set", "certManager.issuerRef.kind=Issuer"], "missing property 'name'"],
    ["issuer group other than cert-manager.io", [
      "--set",
      "certManager.issuerRef.name=x",
      "--set",
      "certManager.issuerRef.group=example.com",
    ], "/certManager/issuerRef/group"],
    ["certificate duration in days", ["--set", "certManager.duration=90d"], "/certManager/duration"],
    ["ECDSA key of an RSA size", ["--set", "certManager.privateKey.size=2048"], "/certManager/privateKey"],
    [
      "client certificate without a common name",
      ["--set-json", 'certManager.clientCertificates=[{"name":"a"}]'],
      "missing property 'commonName'",
    ],
    ["client certificate name that is not a DNS label", [
      "--set-json",
      'certManager.clientCertificates=[{"name":"Alice","commonName":"a"}]',
    ], "/certManager/clientCertificates/0/name"],
    ["client CA key with a slash", ["--set", "tls.clientCa.key=a/ca.crt"], "/tls/clientCa/key"],
    ["CRL key with a slash", ["--set", "tls.clientCrl.keys={../ca.crl}"], "/tls/clientCrl/keys/0"],
    ["no CRL keys", ["--set", "tls.clientCrl.keys=null"], "/tls/clientCrl"],
    ["CRL Secret name that is not a DNS name", ["--set", "tls.clientCrl.secretName=My_CRLs"], "/tls/clientCrl/secretName"],
  ];
  for (const [name, args, expected] of cases) {
    const r = await helm(["template", "t", CHART, "--show-only", "templates/rbac.yaml", ...args]);
    assert(!r.ok, `${name}: must be rejected`);
    assert(r.stderr.includes(expected), `${name}: message should mention ${expected}, got:\n${r.stderr}`);
  }
});

Deno.test("chart: inconsistent TLS values fail with a message that says what to set", async () => {
  const partial = await helm(["template", "t", CHART, "--set-string", `tls.cert=${FAKE_CERT}`]);
  assert(!partial.ok && partial.stderr.includes("must be set together"), `partial TLS values rejected:\n${partial.stderr}`);
  const both = await helm(["template", "t", CHART, ...TLS, "--set", "tls.existingSecret=x"]);
  assert(!both.ok && both.stderr.includes("use one or the other"), `existingSecret with values rejected:\n${both.stderr}`);
});
