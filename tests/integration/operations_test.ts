/**
 * [integration] Restart, pause and resume, set image, undo and the revisions read against a real kube-apiserver and
 * kube-controller-manager (which makes the ReplicaSets the revisions come from), through the service running with
 * exactly the RBAC the chart grants for every operation.
 */
import assert from "node:assert/strict";
import { chartServiceAccount, controllerObserved, createDeployment, createNamespace, kubectl, uniqueName } from "./harness/cluster.ts";
import { startService, waitFor } from "./harness/service.ts";
import { createTestPki } from "../support/pki.ts";

const ALL = ["scale", "restart", "pause", "undo", "image"];
const post = (body?: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "POST",
  headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
  body: body === undefined ? undefined : JSON.stringify(body),
});
const put = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: "PUT",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

async function jsonpath(ns: string, name: string, path: string): Promise<string> {
  return (await kubectl(["get", "deployment", name, "-n", ns, "-o", `jsonpath={${path}}`])).stdout.trim();
}

async function eventNotes(ns: string, name: string): Promise<string[]> {
  const r = await kubectl(["get", "events.events.k8s.io", "-n", ns, "--field-selector", `regarding.name=${name}`, "-o", "json"]);
  return (JSON.parse(r.stdout).items as { note?: string }[]).map((e) => e.note ?? "");
}

Deno.test("[integration] the rollout operations change what they say, refuse what they cannot do, and say who did it", async (t) => {
  const ns = uniqueName("it-ops");
  await createNamespace(ns);
  await createDeployment(ns, "web", 0);
  const pki = await createTestPki();
  const policy = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(
    policy,
    JSON.stringify({
      rules: [
        {
          subjects: [{ group: "sre" }],
          permissions: { read: ["*"], scale: ["*"], restart: ["*"], pause: ["*"], undo: ["*"], image: ["*"] },
          images: ["nginx:*", "registry.internal/*"],
        },
      ],
    }),
  );
  const sa = await chartServiceAccount([], ALL);
  const svc = await startService({
    kubeconfig: sa.kubeconfig,
    pki,
    env: { OPERATIONS: ALL.join(","), AUTHZ_POLICY_FILE: policy, RATE_LIMIT_WRITES: "off" },
  });
  const base = `/api/v1/namespaces/${ns}/deployments/web`;
  // Every step below builds on revisions that only kube-controller-manager makes: each waits for it explicitly.
  try {
    assert.equal(await controllerObserved(ns, "web"), 1);
    await t.step("restart sets the restartedAt annotation, and the Event names who did it", async () => {
      const r = await svc.api(`${base}/restart`, post());
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.changed, true);
      assert.equal(
        await jsonpath(ns, "web", `.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt`),
        r.body.restartedAt,
      );
      await waitFor(
        async () => (await eventNotes(ns, "web")).some((n) => /^restarted .* by CN=alice \(O=sre, O=oncall\) via replica-api$/.test(n)),
        10_000,
        "the restart Event",
      );
      assert.equal(await controllerObserved(ns, "web"), 2, "the restart made revision 2");
    });

    await t.step("set image changes one container; the revisions read lists both revisions with their images", async () => {
      const dry = await svc.api(`${base}/containers/app/image?dryRun=true`, put({ image: "nginx:1.28" }));
      assert.equal(dry.status, 200, JSON.stringify(dry.body));
      assert.equal(dry.body.dryRun, true);
      assert.equal(await jsonpath(ns, "web", ".spec.template.spec.containers[0].image"), "nginx:1.27", "a dry run changes nothing");
      const r = await svc.api(`${base}/containers/app/image`, put({ image: "nginx:1.28" }));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual([r.body.previousImage, r.body.image, r.body.changed], ["nginx:1.27", "nginx:1.28", true]);
      assert.equal(await jsonpath(ns, "web", ".spec.template.spec.containers[0].image"), "nginx:1.28");
      const same = await svc.api(`${base}/containers/app/image`, put({ image: "nginx:1.28" }));
      assert.equal(same.body.changed, false, "the image it already runs changes nothing");
      assert.equal(await controllerObserved(ns, "web"), 3, "the new image made revision 3");
      await waitFor(async () => (await svc.api(`${base}/revisions`)).body.revisions?.length >= 3, 15_000, "three revisions in the cache");
      const history = await svc.api(`${base}/revisions`);
      assert.equal(history.status, 200, JSON.stringify(history.body));
      const current = history.body.revisions.find((x: { current: boolean }) => x.current);
      assert.deepEqual(current.images, [{ container: "app", image: "nginx:1.28" }]);
      assert.equal(current.revision, history.body.currentRevision);
      await waitFor(
        async () => (await eventNotes(ns, "web")).some((n) => n.startsWith("image app: nginx:1.27 → nginx:1.28 by CN=alice")),
        10_000,
        "the image Event",
      );
    });

    await t.step("set image refuses an unknown container (404), an untagged image (400) and one outside the patterns (403)", async () => {
      const unknown = await svc.api(`${base}/containers/nope/image`, put({ image: "nginx:1.28" }));
      assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
      assert.match(unknown.body.detail, /app/);
      const untagged = await svc.api(`${base}/containers/app/image`, put({ image: "nginx" }));
      assert.equal(untagged.status, 400);
      const outside = await svc.api(`${base}/containers/app/image`, put({ image: "docker.io/evil/app:1" }));
      assert.equal(outside.status, 403);
      assert.match(outside.body.detail, /"nginx:\*", "registry\.internal\/\*"/);
      assert.equal(await jsonpath(ns, "web", ".spec.template.spec.containers[0].image"), "nginx:1.28");
    });

    await t.step("a stale If-Match is 412 and changes nothing", async () => {
      const stale = await svc.api(`${base}/restart`, post(undefined, { "if-match": `"1"` }));
      assert.equal(stale.status, 412, JSON.stringify(stale.body));
    });

    await t.step("undo goes back to the previous revision's image; an unknown revision is 404 naming the known ones", async () => {
      const missing = await svc.api(`${base}/undo`, post({ toRevision: 99 }));
      assert.equal(missing.status, 404, JSON.stringify(missing.body));
      const r = await svc.api(`${base}/undo`, post());
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.changed, true);
      assert.deepEqual(r.body.images, [{ container: "app", image: "nginx:1.27" }]);
      assert.equal(await jsonpath(ns, "web", ".spec.template.spec.containers[0].image"), "nginx:1.27");
    });

    await t.step("pause sets spec.paused; restart and undo of a paused Deployment are 409; resume clears it", async () => {
      const paused = await svc.api(`${base}/pause`, post());
      assert.equal(paused.status, 200, JSON.stringify(paused.body));
      assert.equal(await jsonpath(ns, "web", ".spec.paused"), "true");
      const again = await svc.api(`${base}/pause`, post());
      assert.equal(again.body.changed, false);
      for (const op of ["restart", "undo"]) {
        const refused = await svc.api(`${base}/${op}`, post());
        assert.equal(refused.status, 409, `${op}: ${JSON.stringify(refused.body)}`);
        assert.match(refused.body.detail, /resume/);
      }
      const resumed = await svc.api(`${base}/resume`, post());
      assert.equal(resumed.status, 200);
      assert.equal(await jsonpath(ns, "web", ".spec.paused"), "");
    });
  } finally {
    await svc.stop();
    await Deno.remove(policy);
    await pki.cleanup();
  }
});

Deno.test("[integration] an operation the server does not offer is 501 from the service, not a Kubernetes 403", async () => {
  const ns = uniqueName("it-ops-off");
  await createNamespace(ns);
  await createDeployment(ns, "web", 0);
  const sa = await chartServiceAccount(); // the chart's default: scale only, no patch of Deployments
  const svc = await startService({ kubeconfig: sa.kubeconfig });
  try {
    const r = await svc.api(`/api/v1/namespaces/${ns}/deployments/web/restart`, post());
    assert.equal(r.status, 501, JSON.stringify(r.body));
    assert.match(r.body.detail, /OPERATIONS=scale/);
    const history = await svc.api(`/api/v1/namespaces/${ns}/deployments/web/revisions`);
    assert.equal(history.status, 501, "no ReplicaSet cache without undo");
  } finally {
    await svc.stop();
  }
});
