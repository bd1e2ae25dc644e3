/**
 * [integration] The CLI (bin/replica-api, as people run it) against the real service and a real kube-apiserver.
 *
 * Lists, gets and scales, then the API's options as the CLI uses them: `?dryRun=true`, `?wait=rollout`,
 * `?watch=true`, and `?force=true` past an autoscaler's 409. Then the rollout commands (restart, pause, resume,
 * set-image, undo, history) with their refusals, and their 501 on a service that does not enable them.
 */
import assert from "node:assert/strict";
import {
  chartServiceAccount,
  clusterEnv,
  createDeployment,
  createNamespace,
  kubectl,
  specReplicas,
  uniqueName,
} from "./harness/cluster.ts";
import { type RunningService, startService, waitFor } from "./harness/service.ts";
import { type CommandResult, run } from "../support/command.ts";
import type { CertKeyPair } from "../support/pki.ts";

const REPO = new URL("../../", import.meta.url).pathname;

/** Runs bin/replica-api against the service as alice (or another identity); never throws on a non-zero exit. */
function replicaApi(svc: RunningService, args: string[], identity: CertKeyPair = svc.pki.alice): Promise<CommandResult> {
  return run(`${REPO}bin/replica-api`, args, { env: cliEnv(svc, identity) });
}

function cliEnv(svc: RunningService, identity: CertKeyPair): Record<string, string> {
  return {
    DENO: Deno.execPath(),
    // Never the developer's own contexts: the variables below decide, and a broken personal file cannot fail the suite.
    XDG_CONFIG_HOME: NO_CONFIG_HOME,
    REPLICA_API_URL: svc.apiUrl,
    REPLICA_API_CERT: identity.certPath,
    REPLICA_API_KEY: identity.keyPath,
    REPLICA_API_CACERT: svc.pki.ca.certPath,
  };
}

const NO_CONFIG_HOME = "/nonexistent/replica-api-tests";

/** bin/replica-api with only a config home: every REPLICA_API_* variable empty, which counts as unset. */
function withContextsOnly(args: string[], configHome: string): Promise<CommandResult> {
  const unset = Object.fromEntries(["URL", "CERT", "KEY", "CACERT", "CONTEXT"].map((v) => [`REPLICA_API_${v}`, ""]));
  return run(`${REPO}bin/replica-api`, args, { env: { DENO: Deno.execPath(), XDG_CONFIG_HOME: configHome, ...unset } });
}

const show = (r: CommandResult) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

async function resourceVersion(ns: string, name: string): Promise<string> {
  return (await kubectl(["get", "deployment", name, "-n", ns, "-o", "jsonpath={.metadata.resourceVersion}"])).stdout.trim();
}

Deno.test("[integration] CLI lists, gets and scales through the service, with the API's errors and exit codes", async (t) => {
  const ns = uniqueName("it-cli");
  await createNamespace(ns);
  await createDeployment(ns, "web", 2);
  await createDeployment(ns, "api", 1);
  const sa = await chartServiceAccount();
  const { createTestPki } = await import("../support/pki.ts");
  const pki = await createTestPki();
  const viewer = await pki.issueClient({ name: "viewer", cn: "viewer", organizations: ["viewers"] });
  const policy = await Deno.makeTempFile({ prefix: "cli-policy-", suffix: ".json" });
  await Deno.writeTextFile(
    policy,
    JSON.stringify({
      rules: [
        { subjects: [{ group: "sre" }], permissions: { read: ["*"], scale: ["*"] } },
        { subjects: [{ group: "viewers" }], permissions: { read: ["*"] } },
      ],
    }),
  );
  const svc = await startService({ kubeconfig: sa.kubeconfig, pki, env: { AUTHZ_POLICY_FILE: policy } });
  try {
    await t.step("list -n prints the namespace's Deployments as an aligned table", async () => {
      const r = await replicaApi(svc, ["list", "-n", ns]);
      assert.equal(r.code, 0, show(r));
      const lines = r.stdout.trimEnd().split("\n");
      assert.match(lines[0], /^NAMESPACE\s+NAME\s+REPLICAS\s+READY\s+AVAILABLE$/);
      assert.deepEqual(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3)), [[ns, "api", "1"], [ns, "web", "2"]]);
      const columns = lines.map((l) => l.search(/\bNAME\b|\bapi\b|\bweb\b/));
      assert.ok(columns.every((c) => c === columns[0]), `NAME column aligned: ${columns}`);
    });

    await t.step("list -o json prints the API's items across namespaces", async () => {
      const r = await replicaApi(svc, ["list", "-o", "json"]);
      assert.equal(r.code, 0, show(r));
      const mine = JSON.parse(r.stdout).items.filter((d: { namespace: string }) => d.namespace === ns);
      assert.deepEqual(mine.map((d: { name: string; replicas: number }) => [d.name, d.replicas]), [["api", 1], ["web", 2]]);
    });

    await t.step("get shows the resourceVersion kubectl sees", async () => {
      const r = await replicaApi(svc, ["get", `${ns}/web`, "-o", "json"]);
      assert.equal(r.code, 0, show(r));
      assert.equal(JSON.parse(r.stdout).resourceVersion, await resourceVersion(ns, "web"));
      const table = await replicaApi(svc, ["get", `${ns}/web`]);
      assert.match(table.stdout, new RegExp(`^${ns}\\s+web\\s+2\\s+\\d+\\s+\\d+\\s+\\d+$`, "m"));
    });

    await t.step("scale sets spec.replicas and prints the change", async () => {
      const r = await replicaApi(svc, ["scale", `${ns}/web`, "4"]);
      assert.equal(r.code, 0, show(r));
      assert.equal(r.stdout.trim(), `${ns}/web scaled from 2 to 4 replicas`);
      assert.equal(await specReplicas(ns, "web"), 4);
    });

    await t.step("scale --if-match with a stale version exits 3 with the 412 detail and changes nothing", async () => {
      const current = await resourceVersion(ns, "web");
      await kubectl(["scale", "deployment", "web", "-n", ns, "--replicas=5"]);
      await waitFor(
        async () => JSON.parse((await replicaApi(svc, ["get", `${ns}/web`, "-o", "json"])).stdout).replicas === 5,
        5000,
        "kubectl scale visible",
      );
      const r = await replicaApi(svc, ["scale", `${ns}/web`, "1", "--if-match", current]);
      assert.equal(r.code, 3, show(r));
      assert.match(r.stderr, /^error: .+ \(412 Precondition Failed\)\n$/);
      assert.equal(await specReplicas(ns, "web"), 5, "the stale write did not land");
      const fresh = await replicaApi(svc, ["scale", `${ns}/web`, "3", "--if-match", await resourceVersion(ns, "web")]);
      assert.equal(fresh.code, 0, show(fresh));
      assert.equal(await specReplicas(ns, "web"), 3);
    });

    await t.step("errors print the API's problem detail and exit 1", async () => {
      const missing = await replicaApi(svc, ["get", `${ns}/ghost`]);
      assert.equal(missing.code, 1, show(missing));
      assert.equal(missing.stderr, `error: deployment "${ns}/ghost" not found (404 Not Found)\n`);
      const tooMany = await replicaApi(svc, ["scale", `${ns}/web`, "5000"]);
      assert.equal(tooMany.code, 1, show(tooMany));
      assert.match(tooMany.stderr, /^error: .*1000.* \(400 Bad Request\)\n$/);
      const badName = await replicaApi(svc, ["get", `${ns}/Bad_Name`]);
      assert.equal(badName.code, 1, show(badName));
      assert.match(badName.stderr, /\(400 Bad Request\)\n$/);
      const forbidden = await replicaApi(svc, ["scale", `${ns}/web`, "1"], viewer);
      assert.equal(forbidden.code, 1, show(forbidden));
      assert.match(forbidden.stderr, /^error: .*scale.* \(403 Forbidden\)\n$/);
      assert.equal(await specReplicas(ns, "web"), 3);
      for (const r of [missing, tooMany, badName, forbidden]) assert.ok(!/\n\s+at /.test(r.stderr), "no stack trace");
    });

    await t.step("a certificate from another CA is refused in one line", async () => {
      const r = await replicaApi(svc, ["list"], pki.foreignClient);
      assert.equal(r.code, 1, show(r));
      assert.match(r.stderr, /^error: cannot connect to https:\/\/localhost:\d+: the server refused our client certificate/);
      assert.equal(r.stderr.trim().split("\n").length, 1);
    });

    await t.step("a context of the config file stands in for the REPLICA_API_* variables", async () => {
      const home = await Deno.makeTempDir({ prefix: "cli-xdg-" });
      try {
        const set = await withContextsOnly(
          [
            "config",
            "set-context",
            "it",
            "--url",
            svc.apiUrl,
            "--cert",
            pki.alice.certPath,
            "--key",
            pki.alice.keyPath,
            "--cacert",
            pki.ca.certPath,
          ],
          home,
        );
        assert.equal(set.code, 0, show(set));
        assert.equal((await withContextsOnly(["config", "use-context", "it"], home)).code, 0);
        const r = await withContextsOnly(["list", "-n", ns], home);
        assert.equal(r.code, 0, show(r));
        assert.match(r.stdout, new RegExp(`^${ns}\\s+web\\s+3\\s`, "m"));
      } finally {
        await Deno.remove(home, { recursive: true });
      }
    });

    await t.step("a usage error exits 2 before contacting the service", async () => {
      const r = await replicaApi(svc, ["scale", `${ns}/web`]);
      assert.equal(r.code, 2, show(r));
      assert.match(r.stderr, /^error: scale needs NAMESPACE\/NAME REPLICAS/);
    });
  } finally {
    assert.equal(await svc.stop(), 0);
    await pki.cleanup();
    await Deno.remove(policy).catch(() => {});
  }
});

Deno.test("[integration] CLI scale --dry-run changes nothing, not even the resourceVersion, and still reports an unknown Deployment", async () => {
  const ns = uniqueName("it-cli-dry");
  await createNamespace(ns);
  await createDeployment(ns, "web", 2);
  const sa = await chartServiceAccount();
  const svc = await startService({ kubeconfig: sa.kubeconfig });
  try {
    const before = await resourceVersion(ns, "web");
    const r = await replicaApi(svc, ["scale", `${ns}/web`, "7", "--dry-run"]);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout.trim(), `${ns}/web would be scaled from 2 to 7 replicas (dry run: nothing was changed)`);
    assert.equal(await specReplicas(ns, "web"), 2);
    assert.equal(await resourceVersion(ns, "web"), before, "not even a no-op write");
    const invalid = await replicaApi(svc, ["scale", `${ns}/ghost`, "7", "--dry-run"]);
    assert.equal(invalid.code, 1, show(invalid));
    assert.match(invalid.stderr, /\(404 Not Found\)/);
  } finally {
    assert.equal(await svc.stop(), 0);
  }
});

Deno.test("[integration] CLI scale --wait follows the rollout to completion, and gives up at --timeout with the counts so far", async (t) => {
  // The local control plane runs kube-controller-manager but no nodes: Pods stay Pending, so a rollout to 0
  // completes and a rollout to more than 0 never does.
  const ns = uniqueName("it-cli-wait");
  await createNamespace(ns);
  await createDeployment(ns, "web", 2);
  const sa = await chartServiceAccount();
  const svc = await startService({ kubeconfig: sa.kubeconfig });
  try {
    await t.step("to 0: completes, printing progress and the final line", async () => {
      const r = await replicaApi(svc, ["scale", `${ns}/web`, "0", "--wait", "--timeout", "60s"]);
      assert.equal(r.code, 0, show(r));
      const lines = r.stdout.trim().split("\n");
      assert.equal(lines[0], `${ns}/web scaled from 2 to 0 replicas`);
      assert.match(lines.at(-2)!, new RegExp(`^${ns}/web: 0/0 updated, 0/0 ready, 0/0 available`));
      assert.equal(lines.at(-1), `${ns}/web: rollout complete, 0 of 0 available`);
    });

    await t.step("to 2 with no nodes: gives up at --timeout, exit 1, with the counts", async () => {
      const started = performance.now();
      const r = await replicaApi(svc, ["scale", `${ns}/web`, "2", "--wait", "--timeout", "3s"]);
      const elapsed = performance.now() - started;
      assert.equal(r.code, 1, show(r));
      assert.match(
        r.stderr,
        new RegExp(`^error: timed out after 3 s waiting for the rollout of ${ns}/web: \\d+ updated, 0 ready, 0 available of 2`),
      );
      assert.match(r.stdout, new RegExp(`${ns}/web: \\d+/2 updated, 0/2 ready, 0/2 available`));
      assert.ok(elapsed < 20_000, `took ${elapsed.toFixed(0)} ms for a 3 s timeout`);
      assert.equal(await specReplicas(ns, "web"), 2, "the scale itself happened");
    });
  } finally {
    assert.equal(await svc.stop(), 0);
  }
});

Deno.test("[integration] CLI watch streams changes as they happen, each with its resourceVersion", async () => {
  const ns = uniqueName("it-cli-watch");
  await createNamespace(ns);
  await createDeployment(ns, "web", 1);
  const sa = await chartServiceAccount();
  const svc = await startService({ kubeconfig: sa.kubeconfig });
  const child = new Deno.Command(`${REPO}bin/replica-api`, {
    args: ["watch", "-n", ns, "-o", "json"],
    env: cliEnv(svc, svc.pki.alice),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const events: { type: string; object: { name: string; replicas: number; resourceVersion?: string } }[] = [];
  const stderr = new Response(child.stderr).text();
  const reading = (async () => {
    let buffer = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let nl;
      while ((nl = buffer.indexOf("\n")) !== -1) {
        events.push(JSON.parse(buffer.slice(0, nl)));
        buffer = buffer.slice(nl + 1);
      }
    }
  })();
  let exited: number | undefined;
  child.status.then((status) => exited = status.code);
  // Fails at once, with the CLI's own error, if the watch ends instead of streaming.
  const until = (check: () => boolean, what: string) =>
    waitFor(
      () => {
        if (exited !== undefined) throw new Error(`replica-api watch exited with ${exited}`);
        return check();
      },
      10_000,
      what,
    ).catch(async (error) => {
      await child.status;
      await reading.catch(() => {});
      throw new Error(
        `${exited === undefined ? error.message : `replica-api watch exited with ${exited}`} waiting for ${what}; ` +
          `events: ${JSON.stringify(events)}; stderr: ${await stderr}`,
      );
    });
  try {
    await until(() => events.some((e) => e.type === "ADDED" && e.object.name === "web"), "ADDED web from the initial state");
    await kubectl(["scale", "deployment", "web", "-n", ns, "--replicas=4"]);
    await until(() => events.some((e) => e.type === "MODIFIED" && e.object.replicas === 4), "MODIFIED web to 4");
    await createDeployment(ns, "api", 2);
    await until(() => events.some((e) => e.type === "ADDED" && e.object.name === "api"), "ADDED api");
    await kubectl(["delete", "deployment", "api", "-n", ns]);
    await until(() => events.some((e) => e.type === "DELETED" && e.object.name === "api"), "DELETED api");
    assert.ok(events.every((e) => e.object.resourceVersion), "every object carries its resourceVersion");
  } finally {
    if (exited === undefined) child.kill("SIGTERM");
    await child.status;
    await reading.catch(() => {});
    await stderr;
    assert.equal(await svc.stop(), 0);
  }
});

Deno.test("[integration] CLI scale of an autoscaled Deployment exits 3 naming the HPA; --force overrides", async () => {
  const ns = uniqueName("it-cli-hpa");
  await createNamespace(ns);
  await createDeployment(ns, "web", 2);
  await kubectl(["apply", "-f", "-"], {
    stdin: JSON.stringify({
      apiVersion: "autoscaling/v2",
      kind: "HorizontalPodAutoscaler",
      metadata: { name: "web-hpa", namespace: ns },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
        minReplicas: 2,
        maxReplicas: 10,
        metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } }],
      },
    }),
  });
  const sa = await chartServiceAccount();
  const svc = await startService({ kubeconfig: sa.kubeconfig });
  try {
    // The service started after the HPA existed, so once ready it knows it.
    const shown = await replicaApi(svc, ["get", `${ns}/web`, "-o", "json"]);
    assert.equal(shown.code, 0, show(shown));
    assert.equal(JSON.parse(shown.stdout).autoscaler?.name, "web-hpa", `the autoscaler is shown on the Deployment: ${shown.stdout}`);
    const table = await replicaApi(svc, ["get", `${ns}/web`]);
    assert.match(table.stdout, /AUTOSCALER\n.* web-hpa \(2-10\)\n$/);
    const refused = await replicaApi(svc, ["scale", `${ns}/web`, "6"]);
    assert.equal(refused.code, 3, show(refused));
    assert.match(refused.stderr, /^error: .*web-hpa.* \(409 Conflict\)\nhint: --force scales anyway/);
    assert.equal(await specReplicas(ns, "web"), 2);
    const forced = await replicaApi(svc, ["scale", `${ns}/web`, "6", "--force"]);
    assert.equal(forced.code, 0, show(forced));
    assert.equal(await specReplicas(ns, "web"), 6);
  } finally {
    assert.equal(await svc.stop(), 0);
  }
});

Deno.test("[integration] bin/replica-api keeps its contexts in the config folder, 0600 in 0700, and leaves a link to a file elsewhere alone", async () => {
  const home = await Deno.makeTempDir({ prefix: "cli-xdg-" });
  try {
    const folder = `${home}/replica-api`;
    const set = await withContextsOnly(
      ["config", "set-context", "dev", "--url", "https://localhost:8443/", "--cert", "/certs/a.crt"],
      home,
    );
    assert.equal(set.code, 0, show(set));
    assert.equal(set.stdout, 'Context "dev" created.\n');
    assert.equal((await Deno.stat(`${folder}/config.json`)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(folder)).mode! & 0o777, 0o700);
    assert.equal((await withContextsOnly(["config", "use-context", "dev"], home)).code, 0);
    const listed = await withContextsOnly(["config", "get-contexts"], home);
    assert.equal(listed.stdout, "CURRENT   NAME   URL                      CERT\n*         dev    https://localhost:8443   /certs/a.crt\n");
    const missing = await withContextsOnly(["list"], home);
    assert.equal(missing.code, 1, show(missing));
    assert.match(
      missing.stderr,
      /^error: context "dev" in \S+config\.json has no key: add it with `replica-api config set-context dev --key FILE`/,
    );
    // A link out of the folder (dotfiles): replacing it with a plain file would cut it loose.
    await Deno.writeTextFile(`${home}/elsewhere.json`, "{}");
    await Deno.remove(`${folder}/config.json`);
    await Deno.symlink(`${home}/elsewhere.json`, `${folder}/config.json`);
    const linked = await withContextsOnly(["config", "set-context", "dev"], home);
    assert.equal(linked.code, 1, show(linked));
    assert.match(linked.stderr, /is a symbolic link/);
    assert.equal(await Deno.readTextFile(`${home}/elsewhere.json`), "{}");
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("[integration] CLI whoami shows the identity and the policy's permissions", async () => {
  const sa = await chartServiceAccount();
  const { createTestPki } = await import("../support/pki.ts");
  const pki = await createTestPki();
  const viewer = await pki.issueClient({ name: "viewer", cn: "viewer", organizations: ["viewers"] });
  const policy = await Deno.makeTempFile({ prefix: "cli-policy-", suffix: ".json" });
  await Deno.writeTextFile(policy, JSON.stringify({ rules: [{ subjects: [{ group: "viewers" }], permissions: { read: ["*"] } }] }));
  const svc = await startService({ kubeconfig: sa.kubeconfig, pki, env: { AUTHZ_POLICY_FILE: policy } });
  try {
    const asJson = await replicaApi(svc, ["whoami", "-o", "json"], viewer);
    assert.equal(asJson.code, 0, show(asJson));
    const body = JSON.parse(asJson.stdout);
    assert.equal(body.identity.cn, "viewer");
    assert.deepEqual(body.identity.organizations, ["viewers"]);
    assert.equal(body.identity.fingerprint256, await pki.fingerprint256(viewer.certPath));
    assert.equal(body.policy, policy);
    assert.deepEqual(body.namespaces["*"], ["read"]);
    const table = await replicaApi(svc, ["whoami"], viewer);
    assert.equal(table.code, 0, show(table));
    assert.match(table.stdout, /^Identity: {4}CN=viewer, O=viewers\n/);
    assert.match(table.stdout, /\nNAMESPACE {3}PERMISSIONS\n\* {11}read\n$/);
  } finally {
    assert.equal(await svc.stop(), 0);
    await pki.cleanup();
    await Deno.remove(policy).catch(() => {});
  }
});

/** A field of the Deployment as kubectl reads it (jsonpath), e.g. `{.spec.paused}`; "" when unset. */
async function deploymentField(ns: string, name: string, jsonpath: string): Promise<string> {
  return (await kubectl(["get", "deployment", name, "-n", ns, "-o", `jsonpath=${jsonpath}`])).stdout.trim();
}

/** `history -o json` once the service's ReplicaSet cache holds `count` revisions (the controller creates them). */
async function revisionsOnceThere(svc: RunningService, target: string, count: number) {
  let revisions: { revision: number; current: boolean; images: { container: string; image: string }[] }[] = [];
  await waitFor(
    async () => {
      const r = await replicaApi(svc, ["history", target, "-o", "json"]);
      revisions = r.code === 0 ? JSON.parse(r.stdout).revisions : [];
      return revisions.length >= count;
    },
    15_000,
    `${count} revisions of ${target}`,
  );
  return revisions;
}

Deno.test("[integration] CLI rollout commands: set-image, history, undo, pause, resume and restart, with their refusals and exit codes", async (t) => {
  // 0 replicas: with no nodes, a rollout completes only when there are no Pods to wait for.
  const ns = uniqueName("it-cli-ops");
  await createNamespace(ns);
  await createDeployment(ns, "web", 0);
  const target = `${ns}/web`;
  const { createTestPki } = await import("../support/pki.ts");
  const pki = await createTestPki();
  const viewer = await pki.issueClient({ name: "viewer", cn: "viewer", organizations: ["viewers"] });
  const policy = await Deno.makeTempFile({ prefix: "cli-ops-policy-", suffix: ".json" });
  const everywhere = ["*"];
  await Deno.writeTextFile(
    policy,
    JSON.stringify({
      rules: [
        {
          subjects: [{ group: "sre" }],
          permissions: { read: everywhere, scale: everywhere, restart: everywhere, pause: everywhere, undo: everywhere, image: everywhere },
          images: ["nginx:*"],
        },
        { subjects: [{ group: "viewers" }], permissions: { read: everywhere } },
      ],
    }),
  );
  // The cluster admin's kubeconfig: the RBAC the chart grants per enabled operation is rbac_test.ts's subject; here
  // the service only has to be able to make each write, so that what is tested is the CLI's side of it.
  const svc = await startService({
    kubeconfig: clusterEnv().kubeconfig,
    pki,
    env: { AUTHZ_POLICY_FILE: policy, OPERATIONS: "scale,restart,pause,undo,image" },
  });
  try {
    await t.step("history lists revision 1 as current, with its image", async () => {
      const [first] = await revisionsOnceThere(svc, target, 1);
      assert.equal(first.revision, 1);
      assert.equal(first.current, true);
      assert.deepEqual(first.images, [{ container: "app", image: "nginx:1.27" }]);
      const table = await replicaApi(svc, ["history", target]);
      assert.equal(table.code, 0, show(table));
      const lines = table.stdout.trimEnd().split("\n");
      assert.match(lines[0], /^REVISION\s+CURRENT\s+IMAGES\s+CHANGE-CAUSE\s+CREATED\s+REPLICAS$/);
      assert.match(lines[1], /^1\s+\*\s+app=nginx:1\.27\s+\S.*\s+\d{4}-\d\d-\d\dT\S+\s+0$/);
    });

    await t.step("set-image --dry-run changes nothing", async () => {
      const before = await resourceVersion(ns, "web");
      const r = await replicaApi(svc, ["set-image", target, "app=nginx:1.28", "--dry-run"]);
      assert.equal(r.code, 0, show(r));
      assert.equal(r.stdout.trim(), `${target}: image app nginx:1.27 → nginx:1.28 (dry run: nothing changed)`);
      assert.equal(await deploymentField(ns, "web", "{.spec.template.spec.containers[0].image}"), "nginx:1.27");
      assert.equal(await resourceVersion(ns, "web"), before, "not even a no-op write");
    });

    await t.step("set-image --wait rolls to the new image and follows the rollout to completion", async () => {
      const r = await replicaApi(svc, ["set-image", target, "app=nginx:1.28", "--wait", "--timeout", "60s"]);
      assert.equal(r.code, 0, show(r));
      const lines = r.stdout.trim().split("\n");
      assert.match(
        lines[0],
        new RegExp(`^${target}: image app nginx:1\\.27 → nginx:1\\.28 \\((rollout started|accepted, not yet observed)\\)$`),
      );
      assert.equal(lines.at(-1), `${target}: rollout complete, 0 of 0 available`);
      assert.equal(await deploymentField(ns, "web", "{.spec.template.spec.containers[0].image}"), "nginx:1.28");
      const revisions = await revisionsOnceThere(svc, target, 2);
      assert.deepEqual(revisions.filter((v) => v.current).map((v) => [v.revision, v.images[0].image]), [[2, "nginx:1.28"]]);
    });

    await t.step("set-image of the image it already runs changes nothing", async () => {
      const before = await resourceVersion(ns, "web");
      const r = await replicaApi(svc, ["set-image", target, "app=nginx:1.28"]);
      assert.equal(r.code, 0, show(r));
      assert.equal(r.stdout.trim(), `${target}: already running nginx:1.28, nothing changed`);
      assert.equal(await resourceVersion(ns, "web"), before);
    });

    await t.step("set-image refusals: an unknown container, an image outside the patterns, no tag, two pairs", async () => {
      const container = await replicaApi(svc, ["set-image", target, "ghost=nginx:1.28"]);
      assert.equal(container.code, 1, show(container));
      assert.match(container.stderr, /^error: .*ghost.*\bapp\b.* \(404 Not Found\)\n$/);
      const outside = await replicaApi(svc, ["set-image", target, "app=busybox:1.36"]);
      assert.equal(outside.code, 1, show(outside));
      assert.match(outside.stderr, /^error: .*busybox:1\.36.*nginx:\*.* \(403 Forbidden\)\n$/);
      const untagged = await replicaApi(svc, ["set-image", target, "app=nginx"]);
      assert.equal(untagged.code, 1, show(untagged));
      assert.match(untagged.stderr, /\(400 Bad Request\)\n$/);
      const forbidden = await replicaApi(svc, ["set-image", target, "app=nginx:1.29"], viewer);
      assert.equal(forbidden.code, 1, show(forbidden));
      assert.match(forbidden.stderr, /\(403 Forbidden\)\n$/);
      const two = await replicaApi(svc, ["set-image", target, "app=nginx:1.29", "side=nginx:1.29"]);
      assert.equal(two.code, 2, show(two));
      assert.match(two.stderr, /^error: set-image takes exactly one CONTAINER=IMAGE/);
      assert.equal(await deploymentField(ns, "web", "{.spec.template.spec.containers[0].image}"), "nginx:1.28");
    });

    await t.step("undo --wait brings revision 1's image back; an unknown revision is a 404 naming the known ones", async () => {
      const unknown = await replicaApi(svc, ["undo", target, "--to-revision", "99"]);
      assert.equal(unknown.code, 1, show(unknown));
      assert.match(unknown.stderr, /^error: .*99.* \(404 Not Found\)\n$/);
      const r = await replicaApi(svc, ["undo", target, "--wait", "--timeout", "60s"]);
      assert.equal(r.code, 0, show(r));
      const lines = r.stdout.trim().split("\n");
      assert.match(lines[0], new RegExp(`^${target}: undo to revision 1 \\(app=nginx:1\\.27\\) from revision 2 \\(`));
      assert.equal(lines.at(-1), `${target}: rollout complete, 0 of 0 available`);
      assert.equal(await deploymentField(ns, "web", "{.spec.template.spec.containers[0].image}"), "nginx:1.27");
    });

    await t.step("pause holds rollouts; restart and undo of a paused Deployment exit 3 with the resume hint; resume --wait", async () => {
      const paused = await replicaApi(svc, ["pause", target]);
      assert.equal(paused.code, 0, show(paused));
      assert.match(paused.stdout, new RegExp(`^${target}: paused \\(`));
      assert.equal(await deploymentField(ns, "web", "{.spec.paused}"), "true");
      const again = await replicaApi(svc, ["pause", target]);
      assert.equal(again.stdout.trim(), `${target}: already paused, nothing changed`);
      for (const command of ["restart", "undo"]) {
        const refused = await replicaApi(svc, [command, target]);
        assert.equal(refused.code, 3, show(refused));
        assert.match(refused.stderr, new RegExp(`paused.* \\(409 Conflict\\)\\nhint: replica-api resume ${target} resumes it`));
      }
      const noWait = await replicaApi(svc, ["pause", target, "--wait"]);
      assert.equal(noWait.code, 2, show(noWait));
      const resumed = await replicaApi(svc, ["resume", target, "--wait", "--timeout", "60s"]);
      assert.equal(resumed.code, 0, show(resumed));
      assert.match(resumed.stdout, new RegExp(`^${target}: resumed \\(`));
      assert.match(resumed.stdout, new RegExp(`${target}: rollout complete, 0 of 0 available\\n$`));
      assert.notEqual(await deploymentField(ns, "web", "{.spec.paused}"), "true");
      const running = await replicaApi(svc, ["resume", target]);
      assert.equal(running.stdout.trim(), `${target}: not paused, nothing changed`);
    });

    await t.step(
      "restart --wait sets restartedAt and follows the rollout; -o json is the API's answer; a stale --if-match exits 3",
      async () => {
        const stale = await resourceVersion(ns, "web");
        const r = await replicaApi(svc, ["restart", target, "--wait", "--timeout", "60s", "-o", "json"]);
        assert.equal(r.code, 0, show(r));
        const body = JSON.parse(r.stdout);
        assert.equal(body.changed, true);
        assert.equal(body.rollout.complete, true);
        const annotation = await deploymentField(ns, "web", "{.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}");
        assert.equal(annotation, body.restartedAt);
        assert.match(r.stderr, new RegExp(`^${target}: restarted at \\S+ \\(`), "progress on stderr with -o json");
        const refused = await replicaApi(svc, ["restart", target, "--if-match", stale]);
        assert.equal(refused.code, 3, show(refused));
        assert.match(refused.stderr, /^error: .+ \(412 Precondition Failed\)\n$/);
        assert.equal(
          await deploymentField(ns, "web", "{.spec.template.metadata.annotations.kubectl\\.kubernetes\\.io/restartedAt}"),
          annotation,
        );
      },
    );
  } finally {
    assert.equal(await svc.stop(), 0);
    await pki.cleanup();
    await Deno.remove(policy).catch(() => {});
  }
});

Deno.test("[integration] CLI rollout commands on a service that does not enable them exit 1 with the 501 naming the setting", async () => {
  const ns = uniqueName("it-cli-ops-off");
  await createNamespace(ns);
  await createDeployment(ns, "web", 0);
  const sa = await chartServiceAccount();
  // The default OPERATIONS (scale), with the chart's default RBAC.
  const svc = await startService({ kubeconfig: sa.kubeconfig });
  try {
    for (
      const args of [["restart", `${ns}/web`], ["set-image", `${ns}/web`, "app=nginx:1.28"], ["undo", `${ns}/web`], [
        "history",
        `${ns}/web`,
      ]]
    ) {
      const r = await replicaApi(svc, args);
      assert.equal(r.code, 1, show(r));
      assert.match(r.stderr, /^error: .*OPERATIONS.* \(501 Not Implemented\)\n$/, args[0]);
    }
    assert.equal(await deploymentField(ns, "web", "{.spec.template.spec.containers[0].image}"), "nginx:1.27");
  } finally {
    assert.equal(await svc.stop(), 0);
  }
});
