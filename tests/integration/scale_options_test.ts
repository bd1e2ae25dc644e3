/**
 * [integration] Beyond the plain scale, against a real kube-apiserver: HorizontalPodAutoscalers (409 unless
 * ?force=true), the "who scaled" Event (read back as the admin, and through kubectl events / describe), and
 * dry runs (dryRun=All: validated by the API server, nothing changed).
 */
import assert from "node:assert/strict";
import {
  chartServiceAccount,
  createDeployment,
  createNamespace,
  hpaManifest,
  kubectl,
  specReplicas,
  uniqueName,
} from "./harness/cluster.ts";
import { type RunningService, startService, waitFor } from "./harness/service.ts";
import { auditEvents, auditMark } from "./harness/audit_log.ts";

const put = (replicas: number, headers: Record<string, string> = {}): RequestInit => ({
  method: "PUT",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify({ replicas }),
});

/** A ValidatingAdmissionPolicy (and its binding, same name) capping scale-subresource writes in one namespace. */
function admissionPolicy(name: string, namespace: string, max: number): string {
  const policy = {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicy",
    metadata: { name },
    spec: {
      failurePolicy: "Fail",
      matchConstraints: {
        resourceRules: [{ apiGroups: ["apps"], apiVersions: ["v1"], operations: ["UPDATE"], resources: ["deployments/scale"] }],
      },
      validations: [{ expression: `object.spec.replicas <= ${max}`, message: `at most ${max} replicas here` }],
    },
  };
  const binding = {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingAdmissionPolicyBinding",
    metadata: { name },
    spec: {
      policyName: name,
      validationActions: ["Deny"],
      matchResources: { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": namespace } } },
    },
  };
  return JSON.stringify({ apiVersion: "v1", kind: "List", items: [policy, binding] });
}

interface KubeEvent {
  reason: string;
  note: string;
  action: string;
  type: string;
  reportingController: string;
  reportingInstance: string;
  regarding: { kind: string; name: string; namespace: string; uid?: string; apiVersion: string };
}

/** events.k8s.io/v1 Events about a Deployment, read with the admin's credentials. */
async function scaledEvents(namespace: string, name: string): Promise<KubeEvent[]> {
  const r = await kubectl(["get", "events.v1.events.k8s.io", "-n", namespace, "-o", "json"]);
  return (JSON.parse(r.stdout).items as KubeEvent[]).filter((e) => e.reason === "Scaled" && e.regarding?.name === name);
}

async function metric(svc: RunningService, line: string): Promise<number | undefined> {
  const text = (await svc.probe("/metrics")).body as string;
  const found = text.split("\n").find((l) => l.startsWith(line + " "));
  return found === undefined ? undefined : Number(found.split(" ").pop());
}

Deno.test("[integration] HPA awareness, who-scaled Events and dry runs through the service", async (t) => {
  const ns = uniqueName("it-scaleopt");
  await createNamespace(ns);
  await createDeployment(ns, "web", 3);
  await createDeployment(ns, "plain", 2);
  const sa = await chartServiceAccount();
  const svc = await startService({ kubeconfig: sa.kubeconfig });
  const web = `/api/v1/namespaces/${ns}/deployments/web`;
  const plain = `/api/v1/namespaces/${ns}/deployments/plain`;
  const uid = (await kubectl(["get", "deployment", "web", "-n", ns, "-o", "jsonpath={.metadata.uid}"])).stdout.trim();
  try {
    await t.step("an HPA created with kubectl shows as the Deployment's autoscaler within 1 s", async () => {
      await kubectl(["apply", "-f", "-"], { stdin: hpaManifest(ns, "web-hpa", "web", 2, 6) });
      const ms = await waitFor(async () => (await svc.api(web)).body.autoscaler?.name === "web-hpa", 1000, "autoscaler in the view");
      assert.deepEqual((await svc.api(web)).body.autoscaler, { name: "web-hpa", minReplicas: 2, maxReplicas: 6 });
      assert.deepEqual((await svc.api(`${web}/replicas`)).body.autoscaler, { name: "web-hpa", minReplicas: 2, maxReplicas: 6 });
      assert.equal((await svc.api(plain)).body.autoscaler, undefined);
      console.log(`  HPA visible after ${ms.toFixed(0)} ms`);
    });

    await t.step("PUT on it answers 409 naming the HPA and changes nothing", async () => {
      const r = await svc.api(`${web}/replicas`, put(4));
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.equal(r.headers.get("content-type"), "application/problem+json");
      assert.match(r.body.detail, /HorizontalPodAutoscaler "web-hpa".*would undo this change/);
      assert.equal(await specReplicas(ns, "web"), 3);
    });

    await t.step("?force=true scales it, and the audit record says forced", async () => {
      const r = await svc.api(`${web}/replicas?force=true`, put(4));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, {
        namespace: ns,
        name: "web",
        replicas: 4,
        previousReplicas: 3,
        autoscaler: { name: "web-hpa", minReplicas: 2, maxReplicas: 6 },
      });
      assert.equal(await specReplicas(ns, "web"), 4);
      const audit = svc.logs.filter((l) => l.audit === true && l.action === "scale" && (l.target as { name?: string })?.name === "web");
      assert.equal(audit.at(-1)?.forced, true);
      assert.equal(audit.at(-1)?.outcome, "succeeded");
      assert.equal(audit.at(-2)?.outcome, "failed", "the refused attempt is audited too");
      assert.equal(audit.at(-2)?.status, 409);
    });

    await t.step("the forced scale is a Kubernetes Event on the Deployment, naming who and the HPA", async () => {
      await waitFor(async () => (await scaledEvents(ns, "web")).length === 1, 5000, "the Scaled Event");
      const [event] = await scaledEvents(ns, "web");
      assert.equal(event.note, "replicas 3 → 4 by CN=alice (O=sre, O=oncall) via replica-api, forced past HorizontalPodAutoscaler web-hpa");
      assert.equal(event.type, "Normal");
      assert.equal(event.action, "Scale");
      assert.equal(event.reportingController, "replica-api");
      assert.match(event.reportingInstance, /^replica-api-/);
      assert.deepEqual(event.regarding, { apiVersion: "apps/v1", kind: "Deployment", namespace: ns, name: "web", uid });
    });

    await t.step("a plain scale records an Event that kubectl events and kubectl describe show", async () => {
      const r = await svc.api(`${plain}/replicas`, put(5));
      assert.equal(r.status, 200);
      await waitFor(async () => (await scaledEvents(ns, "plain")).length === 1, 5000, "the Scaled Event");
      const note = "replicas 2 → 5 by CN=alice (O=sre, O=oncall) via replica-api";
      assert.equal((await scaledEvents(ns, "plain"))[0].note, note);
      const events = await kubectl(["events", "-n", ns, "--for", "deployment/plain"]);
      assert.match(events.stdout, /Scaled/);
      assert.ok(events.stdout.includes(note), `kubectl events:\n${events.stdout}`);
      const describe = await kubectl(["describe", "deployment", "plain", "-n", ns]);
      assert.ok(describe.stdout.includes(note), `kubectl describe:\n${describe.stdout}`);
      await waitFor(async () => (await metric(svc, 'replica_api_scale_events_total{outcome="recorded"}')) === 2, 2000, "the metric");
      assert.equal(await metric(svc, 'replica_api_scale_events_total{outcome="failed"}'), 0);
    });

    await t.step("?dryRun=true goes to the API server as dryRun=All, answers as a dry run and changes nothing", async () => {
      // metadata.generation moves with every write of the spec; the resourceVersion also moves with the status writes
      // kube-controller-manager makes at any moment, so it cannot tell a dry run from a real write here.
      const generationBefore = (await kubectl(["get", "deployment", "plain", "-n", ns, "-o", "jsonpath={.metadata.generation}"])).stdout;
      const mark = await auditMark();
      const r = await svc.api(`${plain}/replicas?dryRun=true`, put(9));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, { namespace: ns, name: "plain", replicas: 9, previousReplicas: 5, dryRun: true });
      assert.equal(r.headers.get("etag"), null);
      assert.equal(await specReplicas(ns, "plain"), 5, "spec.replicas unchanged");
      const generationAfter = (await kubectl(["get", "deployment", "plain", "-n", ns, "-o", "jsonpath={.metadata.generation}"])).stdout;
      assert.equal(generationAfter, generationBefore, "the Deployment's spec was not written at all");
      const patches = await auditEvents(sa.username, mark, (e) => e.verb === "patch");
      assert.equal(patches.length, 1);
      assert.match((patches[0] as unknown as { requestURI: string }).requestURI, /[?&]dryRun=All(&|$)/);
      const audit = svc.logs.filter((l) => l.audit === true && (l.target as { name?: string })?.name === "plain").at(-1);
      assert.equal(audit?.dryRun, true);
      assert.equal((await svc.api(`${plain}/replicas`)).body.replicas, 5);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal((await scaledEvents(ns, "plain")).length, 1, "no Event for a dry run");
    });

    await t.step(
      "a dry run runs the API server's admission: a ValidatingAdmissionPolicy's refusal comes back, nothing changes",
      async () => {
        const policy = uniqueName("it-max-replicas");
        await kubectl(["apply", "-f", "-"], { stdin: admissionPolicy(policy, ns, 6) });
        try {
          // The API server loads a new policy within a second or so; until then the dry run is accepted.
          let r = await svc.api(`${plain}/replicas?dryRun=true`, put(9));
          await waitFor(async () => (r = await svc.api(`${plain}/replicas?dryRun=true`, put(9))).status === 422, 10_000, "the policy");
          assert.equal(r.headers.get("content-type"), "application/problem+json");
          assert.match(r.body.detail, /Kubernetes API rejected the change: .*at most 6 replicas/);
          assert.equal(await specReplicas(ns, "plain"), 5);
          const allowed = await svc.api(`${plain}/replicas?dryRun=true`, put(6));
          assert.equal(allowed.status, 200, "within the policy");
          assert.equal(await specReplicas(ns, "plain"), 5);
        } finally {
          await kubectl(["delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", policy, "--ignore-not-found"]);
        }
      },
    );

    await t.step("a dry run keeps If-Match: a stale ETag is 412 and changes nothing", async () => {
      const stale = await svc.api(`${plain}/replicas?dryRun=true`, put(7, { "if-match": '"1"' }));
      assert.equal(stale.status, 412);
      assert.equal(await specReplicas(ns, "plain"), 5);
    });

    await t.step("deleting the HPA lets a plain PUT through again", async () => {
      await kubectl(["delete", "hpa", "web-hpa", "-n", ns]);
      await waitFor(async () => (await svc.api(web)).body.autoscaler === undefined, 1000, "autoscaler gone");
      const r = await svc.api(`${web}/replicas`, put(3));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(await specReplicas(ns, "web"), 3);
    });
  } finally {
    assert.equal(await svc.stop(), 0);
  }
});

Deno.test("[integration] without the right to create Events the PUT still succeeds; the failure is logged and counted", async () => {
  const ns = uniqueName("it-noevents");
  await createNamespace(ns);
  await createDeployment(ns, "web", 1);
  const sa = await chartServiceAccount([ns]);
  // Take the events rule out of the chart's Role, as an operator with an older Role would have it.
  const role = JSON.parse((await kubectl(["get", "role", "-n", ns, "-o", "json"])).stdout).items[0];
  const rules = role.rules.filter((r: { apiGroups: string[] }) => !r.apiGroups.includes("events.k8s.io"));
  assert.equal(rules.length, role.rules.length - 1);
  await kubectl(["patch", "role", role.metadata.name, "-n", ns, "--type=merge", "-p", JSON.stringify({ rules })]);
  const svc = await startService({ kubeconfig: sa.kubeconfig, env: { WATCH_NAMESPACES: ns } });
  try {
    const started = performance.now();
    const r = await svc.api(`/api/v1/namespaces/${ns}/deployments/web/replicas`, put(2));
    const elapsed = performance.now() - started;
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(await specReplicas(ns, "web"), 2);
    await waitFor(async () => (await metric(svc, 'replica_api_scale_events_total{outcome="failed"}')) === 1, 5000, "the failure counted");
    const warning = svc.logs.find((l) => l.msg === "Event not recorded");
    assert.ok(warning, "the failure is logged");
    assert.equal(warning.level, "warn");
    assert.match(JSON.stringify(warning.error), /forbidden|403/i);
    assert.equal((await scaledEvents(ns, "web")).length, 0);
    console.log(`  PUT with a failing Event: ${elapsed.toFixed(1)} ms`);
  } finally {
    assert.equal(await svc.stop(), 0);
  }
});

Deno.test("[integration] without the right to watch HPAs the service never claims to be ready, and says why", async () => {
  const ns = uniqueName("it-nohpa");
  await createNamespace(ns);
  await createDeployment(ns, "web", 1);
  const sa = await chartServiceAccount([ns]);
  const role = JSON.parse((await kubectl(["get", "role", "-n", ns, "-o", "json"])).stdout).items[0];
  const rules = role.rules.filter((r: { apiGroups: string[] }) => !r.apiGroups.includes("autoscaling"));
  assert.equal(rules.length, role.rules.length - 1);
  await kubectl(["patch", "role", role.metadata.name, "-n", ns, "--type=merge", "-p", JSON.stringify({ rules })]);
  const svc = await startService({ kubeconfig: sa.kubeconfig, env: { WATCH_NAMESPACES: ns }, waitReady: false });
  try {
    let reason = "";
    await waitFor(
      async () => {
        const r = await svc.probe("/readyz");
        reason = r.body?.reason ?? "";
        return r.status === 503 && /403/.test(reason);
      },
      10_000,
      "readiness naming the 403",
    );
    assert.match(reason, /initial sync not complete: .*horizontalpodautoscalers/);
    const put = await svc.api(`/api/v1/namespaces/${ns}/deployments/web/replicas`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: '{"replicas":2}',
    });
    assert.equal(put.status, 503, "no write without knowing whether an HPA would undo it");
    assert.equal(await specReplicas(ns, "web"), 1);
  } finally {
    assert.equal(await svc.stop(), 0);
  }
});
