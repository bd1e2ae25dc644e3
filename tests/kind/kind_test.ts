/**
 * [kind] The integration scenarios that make sense against a deployed release
 * (make integration-test-kind): reached through port-forward with the dev
 * client certificate, checked against the cluster with kubectl.
 *
 * This is the only suite that may skip, and only when there is no KIND
 * deployment to test: it then prints why (no Docker, no kind, or the
 * REPLICA_API_URL that make integration-test-kind sets is absent).
 */
import assert from "node:assert/strict";

const url = Deno.env.get("REPLICA_API_URL");
const certDir = Deno.env.get("REPLICA_API_CERT_DIR");

async function has(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output()).success;
  } catch {
    return false;
  }
}

const skipReason = !(await has("docker", ["info"]))
  ? "Docker is not running (docker info failed): the KIND suite needs a container engine"
  : !(await has("kind", ["version"]))
  ? "kind is not installed (go install sigs.k8s.io/kind@v0.30.0)"
  : !url || !certDir
  ? "REPLICA_API_URL/REPLICA_API_CERT_DIR are not set: run it through make integration-test-kind"
  : undefined;

if (skipReason) {
  console.log(`SKIP: KIND suite: ${skipReason}`);
} else {
  const client = Deno.createHttpClient({
    caCerts: [await Deno.readTextFile(`${certDir}/ca.crt`)],
    cert: await Deno.readTextFile(`${certDir}/client.crt`),
    key: await Deno.readTextFile(`${certDir}/client.key`),
  });
  const api = async (path: string, init: RequestInit = {}) => {
    const r = await fetch(`${url}${path}`, { ...init, client });
    const text = await r.text();
    return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : undefined };
  };
  const kubectl = async (...args: string[]) => {
    const out = await new Deno.Command("kubectl", { args, stdout: "piped", stderr: "piped" }).output();
    if (!out.success) throw new Error(`kubectl ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    return new TextDecoder().decode(out.stdout);
  };
  const ns = `kind-it-${crypto.randomUUID().slice(0, 8)}`;

  Deno.test("[kind] the deployed release lists, reads and scales Deployments", async (t) => {
    await kubectl("create", "namespace", ns);
    await kubectl("create", "deployment", "web", "-n", ns, "--image=nginx:1.27", "--replicas=1");
    const path = `/api/v1/namespaces/${ns}/deployments/web/replicas`;
    try {
      await t.step("health is healthy and the new Deployment shows up", async () => {
        assert.equal((await api("/api/v1/health")).body.status, "healthy");
        const deadline = Date.now() + 5000;
        while ((await api(path)).status !== 200) {
          assert.ok(Date.now() < deadline, "Deployment visible within 5 s");
          await new Promise((r) => setTimeout(r, 100));
        }
      });
      await t.step("PUT scales it, kubectl agrees, and a stale If-Match is 412", async () => {
        const etag = (await api(path)).headers.get("etag")!;
        const put = await api(path, { method: "PUT", headers: { "content-type": "application/json" }, body: '{"replicas":2}' });
        assert.equal(put.status, 200);
        assert.equal(put.body.previousReplicas, 1);
        assert.equal(await kubectl("get", "deployment", "web", "-n", ns, "-o", "jsonpath={.spec.replicas}"), "2");
        const stale = await api(path, {
          method: "PUT",
          headers: { "content-type": "application/json", "if-match": etag },
          body: '{"replicas":3}',
        });
        assert.equal(stale.status, 412);
      });
      await t.step("bad input and unknown things are clear 4xx problems", async () => {
        const bad = await api(path, { method: "PUT", headers: { "content-type": "application/json" }, body: '{"replicas":-1}' });
        assert.equal(bad.status, 400);
        assert.equal(bad.headers.get("content-type"), "application/problem+json");
        assert.equal((await api(`/api/v1/namespaces/${ns}/deployments/ghost`)).status, 404);
        assert.equal((await api(`/api/v1/namespaces/${ns}-nope/deployments`)).status, 404);
      });
    } finally {
      await kubectl("delete", "namespace", ns, "--wait=false");
      client.close();
    }
  });
}
