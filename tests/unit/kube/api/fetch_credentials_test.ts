import assert from "node:assert/strict";
import { KubeConfig } from "@kubernetes/client-node";
import { fetchCredentialsFrom } from "../../../../src/kube/api/fetch_credentials.ts";
import { createKubeClient } from "../../../../src/kube/client.ts";
import { sharedTestPki } from "../../../support/pki.ts";
import { startWatchServer } from "./_watch_server.ts";

const sharedPki = sharedTestPki;

type Cluster = Parameters<KubeConfig["loadFromOptions"]>[0]["clusters"][number];
type User = Parameters<KubeConfig["loadFromOptions"]>[0]["users"][number];

function kubeconfig(cluster: Partial<Cluster>, user: Partial<User>): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "c", server: "https://127.0.0.1:6443", skipTLSVerify: false, ...cluster }],
    users: [{ name: "u", ...user }],
    contexts: [{ name: "x", cluster: "c", user: "u" }],
    currentContext: "x",
  });
  return kc;
}

Deno.test("fetch credentials carry the kubeconfig's server, token, CA and client certificate", async () => {
  const pki = await sharedPki();
  const source = fetchCredentialsFrom(kubeconfig(
    { caData: btoa(pki.ca.cert) },
    { token: "abc", certFile: pki.alice.certPath, keyFile: pki.alice.keyPath, impersonateUser: "bob" },
  ));
  assert.equal(source.unsupported, undefined);
  const credentials = await source.credentials!();
  assert.equal(credentials.server, "https://127.0.0.1:6443");
  assert.deepEqual(credentials.headers, { Authorization: "Bearer abc", "Impersonate-User": "bob" });
  assert.deepEqual(credentials.caCerts, [pki.ca.cert]);
  assert.equal(credentials.cert, pki.alice.cert);
  assert.equal(credentials.key, pki.alice.key);
});

Deno.test("fetch credentials read a token file, as in-cluster ServiceAccount credentials are", async () => {
  const tokenFile = await Deno.makeTempFile();
  try {
    await Deno.writeTextFile(tokenFile, "sa-token-1");
    const source = fetchCredentialsFrom(kubeconfig({}, { authProvider: { name: "tokenFile", config: { tokenFile } } }));
    assert.equal((await source.credentials!()).headers.Authorization, "Bearer sa-token-1");
  } finally {
    await Deno.remove(tokenFile);
  }
});

Deno.test("fetch credentials send basic auth as a UTF-8 Authorization header", async () => {
  const source = fetchCredentialsFrom(kubeconfig({}, { username: "jürgen", password: "pä:ss" }));
  const header = (await source.credentials!()).headers.Authorization;
  assert.equal(new TextDecoder().decode(Uint8Array.from(atob(header.replace("Basic ", "")), (c) => c.charCodeAt(0))), "jürgen:pä:ss");
});

Deno.test("kubeconfig settings Deno's fetch cannot honour are named as the reason not to use the kubeconfig", async (t) => {
  const cases: [string, Partial<Cluster>, Partial<User>, RegExp][] = [
    ["proxy-url", { proxyUrl: "http://proxy:3128" }, {}, /proxy-url/],
    ["tls-server-name", { tlsServerName: "kubernetes" }, {}, /tls-server-name/],
    ["insecure-skip-tls-verify", { skipTLSVerify: true }, {}, /insecure-skip-tls-verify/],
    ["plain http", { server: "http://127.0.0.1:8080" }, {}, /not https/],
    ["a key Deno cannot parse", {}, { certData: btoa("not a certificate"), keyData: btoa("not a key") }, /certificates or key/],
  ];
  for (const [name, cluster, user, reason] of cases) {
    await t.step(name, () => {
      const source = fetchCredentialsFrom(kubeconfig(cluster, user));
      assert.equal(source.credentials, undefined);
      assert.match(source.unsupported ?? "", reason);
    });
  }
});

Deno.test("createKubeClient watches on Deno's fetch with the kubeconfig's identity, or refuses the kubeconfig and says why", async () => {
  const pki = await sharedPki();
  const server = await startWatchServer(pki, (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end();
  });
  try {
    const kc = kubeconfig({ server: server.url, caData: btoa(pki.ca.cert) }, {
      token: "abc",
      certData: btoa(pki.alice.cert),
      keyData: btoa(pki.alice.key),
    });
    const client = createKubeClient(kc, { watchIdleTimeoutMs: 5000, requestTimeoutMs: 5000 });
    const ended = Promise.withResolvers<unknown>();
    await client.source.watch.watch("/apis/apps/v1/deployments", { resourceVersion: "3" }, () => {}, ended.resolve);
    assert.equal(await ended.promise, null);
    const seen = server.requests[0];
    assert.equal(seen.headers.authorization, "Bearer abc");
    assert.equal(seen.clientCn, "alice");
    assert.equal(seen.alpn, "http/1.1");
    assert.equal(seen.url.search, "?watch=true&resourceVersion=3");

    assert.throws(
      () =>
        createKubeClient(kubeconfig({ server: server.url, proxyUrl: "http://127.0.0.1:1" }, { token: "abc" }), {
          watchIdleTimeoutMs: 5000,
          requestTimeoutMs: 5000,
        }),
      /cannot use this kubeconfig: .*proxy-url/,
    );
  } finally {
    await server.close();
  }
});
