/**
 * [browser] [kind] The console as a user of the KIND release reaches it: the Helm release's Service behind
 * `kubectl port-forward`, the dev client certificate (certs/client.crt, CN=dev-sre O=sre, the one deploy.sh puts in
 * the release's client Secret), headless Chromium. A Deployment of the cluster with real Pods is scaled through the
 * dialog; kubectl (the KIND kubeconfig) must see the new spec.replicas and the dialog must report the completed
 * rollout. Prints the page load and the time to "rollout complete".
 *
 * Runs only where a release is reachable: scripts/kind/browser-test.sh (part of `make test-kind`, after the KIND
 * suite, while the release is deployed) passes the settings below. Anywhere else, e.g. `make test-browser` on the
 * local control plane, it prints why it skips and registers nothing:
 *
 *   KIND_KUBECONFIG        a kubeconfig holding the KIND context alone (required)
 *   TOOLS_IMAGE            the preloaded image the workload's Pods run (required; KIND_STATE_DIR/images.env)
 *   REPLICA_API_NAMESPACE, REPLICA_API_FULLNAME   the release's namespace and Service (default replica-api)
 *   REPLICA_API_CERT_DIR   the dev PKI (default certs/ of this repository)
 *   KUBECTL                kubectl (default kubectl on PATH)
 *   DENO_CERT              the dev CA (REPLICA_API_CERT_DIR/ca.crt): Deno reads it at start, and Playwright's relay, which
 *                          presents the client certificate, then verifies the release's server certificate against it
 *   KIND_BROWSER_REQUIRED=1   fail instead of skipping when the release cannot be reached
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { restricted } from "../kind/cluster.ts";
import { run } from "../support/command.ts";
import { CSP, launch, ms, type Page, row, skipReason, waitFor, watchCsp } from "./harness.ts";

// Page functions run in the browser, not here: the DOM is only named for the type-checker.
// deno-lint-ignore no-explicit-any
declare const document: any;

interface KindRelease {
  readonly kubeconfig: string;
  readonly kubectl: string;
  readonly namespace: string;
  readonly fullname: string;
  readonly certDir: string;
  readonly toolsImage: string;
}

const NAME = "[browser] [kind] through kubectl port-forward: the release's console loads with the dev certificate, " +
  "a dialog scale reaches kubectl and the rollout completes";

/** The release's settings, or why it cannot be reached from here. */
async function kindRelease(env: Record<string, string>): Promise<KindRelease | { skip: string }> {
  const chromium = skipReason();
  if (chromium) return { skip: chromium };
  if (!env.KIND_KUBECONFIG) return { skip: "KIND_KUBECONFIG is not set (scripts/kind/browser-test.sh sets it; make test-kind runs it)" };
  if (!env.TOOLS_IMAGE) return { skip: "TOOLS_IMAGE is not set (the preloaded image of KIND_STATE_DIR/images.env)" };
  if (!env.DENO_CERT) return { skip: "DENO_CERT is not set to the dev CA (certs/ca.crt), so the server's certificate cannot be verified" };
  const s: KindRelease = {
    kubeconfig: env.KIND_KUBECONFIG,
    kubectl: env.KUBECTL || "kubectl",
    namespace: env.REPLICA_API_NAMESPACE || "replica-api",
    fullname: env.REPLICA_API_FULLNAME || "replica-api",
    certDir: env.REPLICA_API_CERT_DIR || new URL("../../certs", import.meta.url).pathname,
    toolsImage: env.TOOLS_IMAGE,
  };
  const r = await run(s.kubectl, ["--kubeconfig", s.kubeconfig, "--request-timeout=10s", "-n", s.namespace, "get", "service", s.fullname])
    .catch((e) => ({ code: 127, stdout: "", stderr: String(e) }));
  if (r.code !== 0) return { skip: `no Service ${s.namespace}/${s.fullname} reachable: ${r.stderr.trim().split("\n")[0]}` };
  return s;
}

const release = await kindRelease(Deno.env.toObject());
if ("skip" in release) {
  if (Deno.env.get("KIND_BROWSER_REQUIRED") === "1") {
    Deno.test(NAME, () => assert.fail(`KIND_BROWSER_REQUIRED=1 but ${release.skip}`));
  } else {
    console.log(`SKIP: browser suite (KIND port-forward): ${release.skip}`);
  }
} else {
  Deno.test({ name: NAME, sanitizeOps: false, sanitizeResources: false, fn: () => scaleThroughPortForward(release) });
}

async function scaleThroughPortForward(s: KindRelease): Promise<void> {
  const kubectl = async (...args: string[]) => {
    const r = await run(s.kubectl, ["--kubeconfig", s.kubeconfig, ...args]);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  };
  const wns = `kind-browser-${crypto.randomUUID().slice(0, 6)}`;
  await kubectl("create", "namespace", wns);
  try {
    const apply = await run(s.kubectl, ["--kubeconfig", s.kubeconfig, "apply", "-f", "-"], {
      stdin: JSON.stringify(workload(wns, "web", 1, s.toolsImage)),
    });
    if (apply.code !== 0) throw new Error(`kubectl apply failed: ${apply.stderr}`);
    await kubectl("-n", wns, "rollout", "status", "deployment/web", "--timeout=90s");
    await withPortForward(s, async (port) => {
      const origin = `https://localhost:${port}`;
      const browser = await launch();
      try {
        const context = await browser.newContext({
          // No ignoreHTTPSErrors: Playwright's relay makes the TLS connection with this process's TLS, which trusts the
          // dev CA through DENO_CERT (read at start, so the caller sets it), and verifies the release's certificate.
          clientCertificates: [{ origin, certPath: `${s.certDir}/client.crt`, keyPath: `${s.certDir}/client.key` }],
          viewport: { width: 1280, height: 800 },
        });
        context.setDefaultTimeout(15_000);
        const page = await context.newPage();
        const csp: string[] = [];
        const errors: string[] = [];
        await watchCsp(page, csp);
        page.on("console", (m) => {
          if (m.type() === "error") errors.push(m.text());
        });
        page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));

        const t0 = performance.now();
        const response = await page.goto(`${origin}/`);
        assert.ok(response, "a response for /");
        assert.equal(response.status(), 200, "the console's page through the port-forward");
        assert.equal(response.headers()["content-security-policy"], CSP, "the release serves the console's CSP");
        await page.waitForSelector("html[data-ready=true]", { state: "attached", timeout: 20_000 });
        const ready = performance.now() - t0;
        await row(page, wns, "web").waitFor({ timeout: 20_000 });
        const shown = performance.now() - t0;
        await page.locator('#connection[data-state="live"]').waitFor({ state: "attached", timeout: 20_000 });
        // The page knows who it talks as: the dev client certificate's CN (certs/gen.sh: dev-sre unless CLIENT_CN).
        const cn = /CN=([^\n,]+)/.exec(new X509Certificate(await Deno.readTextFile(`${s.certDir}/client.crt`)).subject)?.[1];
        assert.ok(cn, "the dev client certificate has a CN");
        await page.locator("#identity").filter({ hasText: cn }).waitFor({ timeout: 10_000 });

        const dialog = await openScaleDialog(page, wns, "web");
        await dialog.locator("#op-replicas").fill("3");
        const submitted = performance.now();
        await dialog.locator("#op-submit").click();
        await dialog.locator("#op-result").filter({ hasText: /\S/ }).waitFor({ timeout: 20_000 });
        const firstAnswer = performance.now() - submitted;
        const firstText = (await dialog.locator("#op-result").textContent())?.trim() ?? "";
        // The scale landed: kubectl, with the KIND kubeconfig, sees the new spec.replicas.
        const specReplicas = async () => Number(await kubectl("-n", wns, "get", "deployment", "web", "-o", "jsonpath={.spec.replicas}"));
        await waitFor(async () => await specReplicas() === 3, 10_000, "kubectl to see spec.replicas=3", 200);
        // Real Pods: the answer waits for the rollout (wait=rollout) and says so.
        await dialog.locator("#op-result").filter({ hasText: /Done.*rollout complete/ }).waitFor({ timeout: 90_000 });
        const complete = performance.now() - submitted;
        const ready3 = await kubectl("-n", wns, "get", "deployment", "web", "-o", "jsonpath={.status.readyReplicas}");
        assert.equal(Number(ready3), 3, "kubectl sees 3 ready replicas once the dialog says the rollout is complete");
        assert.deepEqual(csp, [], "no CSP violation");
        assert.deepEqual(errors, [], "no console error");
        console.log(
          `browser-kind: through kubectl port-forward svc/${s.fullname} (localhost:${port}): page ready ${ms(ready)}, ` +
            `${wns}/web row shown ${ms(shown)}; scale 1 → 3: first answer "${firstText}" after ${ms(firstAnswer)}, ` +
            `"rollout complete" after ${ms(complete)}`,
        );
        await context.close();
      } finally {
        await browser.close().catch(() => {});
      }
    });
  } finally {
    await kubectl("delete", "namespace", wns, "--wait=false").catch(() => {});
  }
}

async function openScaleDialog(page: Page, namespace: string, name: string) {
  await row(page, namespace, name).locator("button[data-action=scale]").click();
  const dialog = page.locator("dialog#op-dialog[data-op=scale]");
  await dialog.waitFor({ state: "visible" });
  return dialog;
}

/**
 * `kubectl port-forward svc/<fullname> :8443` (kubectl picks a free local port, so a suite of another cluster on this
 * machine never contends for it) for the duration of fn.
 */
async function withPortForward<T>(s: KindRelease, fn: (port: number) => Promise<T>): Promise<T> {
  const child = new Deno.Command(s.kubectl, {
    args: ["--kubeconfig", s.kubeconfig, "-n", s.namespace, "port-forward", "--address", "127.0.0.1", `svc/${s.fullname}`, ":8443"],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  try {
    // kubectl says "Forwarding from 127.0.0.1:<port> -> 8443" once it listens.
    const listening = (async () => {
      while (true) {
        const port = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(seen)?.[1];
        if (port) return Number(port);
        const { value, done } = await reader.read();
        if (done) throw new Error(`kubectl port-forward exited: ${await stderr}`);
        seen += value;
      }
    })();
    listening.catch(() => {}); // settled below; a late failure after the timeout is no unhandled rejection
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`kubectl port-forward did not listen within 15 s: ${seen}`)), 15_000);
    });
    let port: number;
    try {
      port = await Promise.race([listening, timeout]);
    } finally {
      clearTimeout(timer);
    }
    return await fn(port);
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await reader.cancel().catch(() => {});
    await stderr;
  }
}

/** A Deployment of real Pods: the preloaded tools image, never pulled, Ready two seconds after it starts. */
function workload(namespace: string, name: string, replicas: number, image: string) {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 1,
          securityContext: { seccompProfile: { type: "RuntimeDefault" } },
          containers: [{
            name: "sleep",
            image,
            imagePullPolicy: "Never",
            command: ["sh", "-c", "sleep 2; echo ready > /tmp/ready; exec sleep 86400"],
            readinessProbe: { exec: { command: ["cat", "/tmp/ready"] }, periodSeconds: 1 },
            securityContext: { ...restricted, readOnlyRootFilesystem: false },
            resources: { requests: { cpu: "5m", memory: "8Mi" }, limits: { memory: "32Mi" } },
          }],
        },
      },
    },
  };
}
