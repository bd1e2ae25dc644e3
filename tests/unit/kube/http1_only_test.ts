import assert from "node:assert/strict";
import http2 from "node:http2";
import { KubeConfig } from "@kubernetes/client-node";
import { forceHttp1 } from "../../../src/kube/http1_only.ts";
import { createKubeClient } from "../../../src/kube/client.ts";
import { createTestPki } from "../../support/pki.ts";

/** An API-server stand-in that speaks HTTP/2 and HTTP/1.1 (like kube-apiserver) and records what each request used. */
async function withServer(fn: (url: string, ca: string, versions: string[]) => Promise<void>) {
  const pki = await createTestPki();
  const versions: string[] = [];
  const server = http2.createSecureServer({ cert: pki.server.cert, key: pki.server.key, allowHTTP1: true }, (req, res) => {
    versions.push(req.httpVersion);
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ kind: "DeploymentList", apiVersion: "apps/v1", metadata: { resourceVersion: "7" }, items: [] }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  try {
    await fn(`https://127.0.0.1:${port}`, pki.ca.cert, versions);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    await pki.cleanup();
  }
}

function kubeconfig(server: string, ca: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server, caData: btoa(ca), skipTLSVerify: false }],
    users: [{ name: "u", token: "t" }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

Deno.test("without forceHttp1, client-node negotiates HTTP/2 with an API server that offers it (the hazard is real)", async () => {
  await withServer(async (url, ca, versions) => {
    const client = createKubeClient(kubeconfig(url, ca), { watchIdleTimeoutMs: 5000, requestTimeoutMs: 5000 });
    await client.source.listDeployments();
    assert.deepEqual(versions, ["2.0"]);
  });
});

Deno.test("forceHttp1 makes every API request use HTTP/1.1, so no GOAWAY can reach Deno's nghttp2", async () => {
  await withServer(async (url, ca, versions) => {
    const client = createKubeClient(forceHttp1(kubeconfig(url, ca)), { watchIdleTimeoutMs: 5000, requestTimeoutMs: 5000 });
    const list = await client.source.listDeployments();
    assert.equal(list.metadata?.resourceVersion, "7");
    await client.source.listNamespaces().catch(() => {});
    assert.ok(versions.length >= 2);
    assert.ok(versions.every((v) => v === "1.1"), `versions seen: ${versions}`);
  });
});
