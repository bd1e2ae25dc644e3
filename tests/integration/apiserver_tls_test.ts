/** [integration] The service verifies the API server's certificate; it never talks to it unverified. */
import assert from "node:assert/strict";
import { chartServiceAccount, clusterEnv, kubectl, run, tokenKubeconfig } from "./harness/cluster.ts";
import { serviceCommand, startService, waitFor } from "./harness/service.ts";
import { createTestPki } from "../support/pki.ts";

Deno.test("[integration] an API server certificate from an unknown CA is refused: never ready, reason given", async () => {
  const sa = await chartServiceAccount();
  const pki = await createTestPki();
  const env = clusterEnv();
  const token = JSON.parse(await Deno.readTextFile(sa.kubeconfig)).users[0].user.token;
  const wrongCa = await Deno.makeTempFile({ suffix: ".kubeconfig" });
  await Deno.writeTextFile(wrongCa, tokenKubeconfig(env.apiserverUrl, pki.otherCa.cert, token));
  const svc = await startService({ kubeconfig: wrongCa, pki, waitReady: false });
  try {
    await waitFor(() => svc.logs.some((l) => l.msg === "list/watch failed; restarting"), 10_000, "a failed list");
    const ready = await svc.probe("/readyz");
    assert.equal(ready.status, 503);
    assert.match(JSON.stringify(ready.body), /certificate|UNABLE_TO_VERIFY|self.signed|unknown ca/i);
    const read = await svc.api("/api/v1/deployments");
    assert.equal(read.status, 503);
    assert.ok(read.headers.get("retry-after"));
    assert.equal((await svc.api("/api/v1/health")).body.status, "unhealthy");
  } finally {
    assert.equal(await svc.stop(), 0);
    await pki.cleanup();
  }
});

Deno.test("[integration] a kubeconfig with insecure-skip-tls-verify is rejected at start with exit 2", async () => {
  const env = clusterEnv();
  const insecure = await Deno.makeTempFile({ suffix: ".kubeconfig" });
  const config = JSON.parse(tokenKubeconfig(env.apiserverUrl, "", "t"));
  config.clusters[0].cluster = { server: env.apiserverUrl, "insecure-skip-tls-verify": true };
  await Deno.writeTextFile(insecure, JSON.stringify(config));
  const pki = await createTestPki();
  const { cmd, args } = serviceCommand();
  const r = await run(cmd, args, {
    env: {
      KUBECONFIG: insecure,
      TLS_CERT_FILE: pki.server.certPath,
      TLS_KEY_FILE: pki.server.keyPath,
      TLS_CLIENT_CA_FILE: pki.ca.certPath,
      NO_COLOR: "1",
    },
  });
  await pki.cleanup();
  assert.equal(r.code, 2);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /KUBECONFIG.*insecure-skip-tls-verify/);
});

Deno.test("[integration] the ServiceAccount kubeconfig the suite uses pins the control plane's CA", async () => {
  const sa = await chartServiceAccount();
  const config = JSON.parse(await Deno.readTextFile(sa.kubeconfig));
  assert.equal(atob(config.clusters[0].cluster["certificate-authority-data"]), await Deno.readTextFile(clusterEnv().caFile));
  assert.equal(config.clusters[0].cluster["insecure-skip-tls-verify"], undefined);
  const who = await kubectl(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"], { kubeconfig: sa.kubeconfig });
  assert.equal(who.stdout, sa.username, "and authenticates as the ServiceAccount");
});
