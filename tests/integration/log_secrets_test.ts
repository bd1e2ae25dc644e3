/**
 * [integration] Nothing secret reaches the logs: at debug level, through
 * startup, reads, writes, Kubernetes failures and refused TLS handshakes, no
 * log line contains the ServiceAccount token, a private key, or PEM material.
 */
import assert from "node:assert/strict";
import { connect } from "node:tls";
import { chartServiceAccount, createDeployment, createNamespace, uniqueName } from "./harness/cluster.ts";
import { startService } from "./harness/service.ts";

Deno.test("[integration] logs never contain the token, keys or certificates, even at debug level", async () => {
  const ns = uniqueName("it-logs");
  await createNamespace(ns);
  await createDeployment(ns, "web", 1);
  const sa = await chartServiceAccount();
  const token: string = JSON.parse(await Deno.readTextFile(sa.kubeconfig)).users[0].user.token;
  const svc = await startService({ kubeconfig: sa.kubeconfig, env: { LOG_LEVEL: "debug" } });
  try {
    const put = (path: string, body: string) => svc.api(path, { method: "PUT", headers: { "content-type": "application/json" }, body });
    await svc.api("/api/v1/deployments");
    await put(`/api/v1/namespaces/${ns}/deployments/web/replicas`, '{"replicas":2}');
    await put(`/api/v1/namespaces/${ns}/deployments/ghost/replicas`, '{"replicas":2}'); // Kubernetes 404
    await put(`/api/v1/namespaces/${ns}/deployments/web/replicas`, `{"replicas":2,"token":"${token.slice(0, 20)}"}`); // 400 echoes field names only
    // A refused handshake (no client certificate) is logged with its reason.
    await new Promise<void>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port: Number(new URL(svc.apiUrl).port), servername: "localhost", ca: svc.pki.ca.cert });
      socket.on("error", () => resolve());
      socket.on("close", () => resolve());
      socket.on("secureConnect", () => socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
    });
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    assert.equal(await svc.stop(), 0);
  }
  const text = svc.logs.map((l) => JSON.stringify(l)).join("\n");
  assert.ok(svc.logs.length > 10, "there are logs to check");
  assert.ok(svc.logs.some((l) => l.level === "debug"), "debug lines were emitted");
  assert.ok(!text.includes(token), "the ServiceAccount token");
  assert.ok(!text.includes(token.slice(0, 20)), "a prefix of the token");
  assert.ok(!/PRIVATE KEY|BEGIN CERTIFICATE|-----BEGIN/.test(text), "PEM material");
  assert.ok(!text.includes(svc.pki.alice.key.split("\n")[1]), "the client key");
  assert.ok(!/bearer\s+[A-Za-z0-9._~+\/-]{8,}|basic\s+[A-Za-z0-9+\/=]{8,}/i.test(text), "Authorization header values");
});
