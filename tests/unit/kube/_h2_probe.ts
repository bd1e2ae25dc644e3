/**
 * Child process for http1_only_test.ts: serves an HTTP/2-capable (ALPN h2 + http/1.1) stand-in API server,
 * makes two client-node requests with or without forceHttp1 (argument "plain" or "forced"), and prints the
 * HTTP versions the server saw as one JSON line. It runs in its own process because Deno 2.9.6's nghttp2 can
 * abort the process when an HTTP/2 session is torn down: that must not take the test runner with it.
 */
import http2 from "node:http2";
import { KubeConfig } from "@kubernetes/client-node";
import { forceHttp1 } from "../../../src/kube/http1_only.ts";
import { createKubeClient } from "../../../src/kube/client.ts";
import { createTestPki } from "../../support/pki.ts";

const pki = await createTestPki();
const versions: string[] = [];
const server = http2.createSecureServer({ cert: pki.server.cert, key: pki.server.key, allowHTTP1: true }, (req, res) => {
  versions.push(req.httpVersion);
  res.setHeader("content-type", "application/json");
  res.end(JSON.stringify({ kind: "List", apiVersion: "v1", metadata: { resourceVersion: "7" }, items: [] }));
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const kc = new KubeConfig();
kc.loadFromOptions({
  clusters: [{
    name: "c",
    server: `https://127.0.0.1:${(server.address() as { port: number }).port}`,
    caData: btoa(pki.ca.cert),
    skipTLSVerify: false,
  }],
  users: [{ name: "u", token: "t" }],
  contexts: [{ name: "x", cluster: "c", user: "u" }],
  currentContext: "x",
});
const client = createKubeClient(Deno.args[0] === "forced" ? forceHttp1(kc) : kc, { watchIdleTimeoutMs: 5000, requestTimeoutMs: 5000 });
const list = await client.source.listDeployments();
await client.source.listNamespaces();
console.log(JSON.stringify({ versions, resourceVersion: list.metadata?.resourceVersion }));
server.close();
await pki.cleanup();
Deno.exit(0);
