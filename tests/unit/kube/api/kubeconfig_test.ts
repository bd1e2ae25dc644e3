import assert from "node:assert/strict";
import { KubeConfig } from "@kubernetes/client-node";
import { Kubeconfig, loadKubeconfig } from "../../../../src/kube/api/kubeconfig.ts";
import { fetchCredentialsFrom } from "../../../../src/kube/api/fetch_credentials.ts";
import { sharedTestPki } from "../../../support/pki.ts";

const SA = "/var/run/secrets/kubernetes.io/serviceaccount";

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "kubeconfig-test-" });
}

/** Without `certificate-authority` when no CA file is wanted. */
const noCa = (config: string) => config.replace("    certificate-authority: pki/ca.crt\n", "");

function yamlConfig(server: string, user: string, extra = ""): string {
  // Hand-written YAML as kubectl writes it, so the YAML path is exercised, not only JSON.
  return `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: ${server}
    certificate-authority: pki/ca.crt
users:
- name: u
  user:
${user}
contexts:
- name: x
  context:
    cluster: c
    user: u
- name: other
  context:
    cluster: c
    user: u
    namespace: dev
current-context: x
${extra}`;
}

Deno.test("a kubeconfig file gives exactly the credentials client-node's KubeConfig gives", async () => {
  const pki = await sharedTestPki();
  const dir = await tempDir();
  try {
    await Deno.mkdir(`${dir}/pki`);
    await Deno.copyFile(pki.ca.certPath, `${dir}/pki/ca.crt`);
    await Deno.copyFile(pki.alice.certPath, `${dir}/pki/alice.crt`);
    await Deno.copyFile(pki.alice.keyPath, `${dir}/pki/alice.key`);
    const file = `${dir}/config`;
    await Deno.writeTextFile(
      file,
      yamlConfig(
        "https://127.0.0.1:6443",
        "    token: abc\n    client-certificate: pki/alice.crt\n    client-key: pki/alice.key\n    as: bob",
      ),
    );
    const ours = loadKubeconfig({ kubeconfig: file, inCluster: false });
    const theirs = new KubeConfig();
    theirs.loadFromFile(file);
    const a = await fetchCredentialsFrom(ours).credentials!();
    const b = await fetchCredentialsFrom(theirs).credentials!();
    assert.deepEqual(a, b);
    assert.equal(a.headers.Authorization, "Bearer abc");
    assert.equal(a.headers["Impersonate-User"], "bob");
    assert.deepEqual(a.caCerts, [pki.ca.cert], "a relative CA path is read from the kubeconfig's folder");
    assert.equal(a.cert, pki.alice.cert);
    assert.equal(a.key, pki.alice.key);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("basic auth and exec plugins apply as client-node applies them", async () => {
  const dir = await tempDir();
  try {
    const basic = `${dir}/basic`;
    await Deno.writeTextFile(basic, noCa(yamlConfig("https://127.0.0.1:6443", "    username: jürgen\n    password: pä:ss")));
    const ours = await fetchCredentialsFrom(loadKubeconfig({ kubeconfig: basic, inCluster: false })).credentials!();
    const theirs = new KubeConfig();
    theirs.loadFromFile(basic);
    assert.deepEqual(ours.headers, (await fetchCredentialsFrom(theirs).credentials!()).headers);

    const exec = `${dir}/exec`;
    const credential = JSON.stringify({
      apiVersion: "client.authentication.k8s.io/v1",
      kind: "ExecCredential",
      status: { token: "from-exec" },
    });
    await Deno.writeTextFile(
      exec,
      noCa(yamlConfig(
        "https://127.0.0.1:6443",
        `    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: sh\n      args: ["-c", ${
          JSON.stringify(`echo '${credential}'`)
        }]`,
      )),
    );
    const viaExec = await fetchCredentialsFrom(loadKubeconfig({ kubeconfig: exec, inCluster: false })).credentials!();
    assert.equal(viaExec.headers.Authorization, "Bearer from-exec");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("in-cluster: the Service's address from the environment, the mounted CA, and the token file re-read when rotated", async () => {
  const pki = await sharedTestPki();
  const prefix = await tempDir();
  try {
    await Deno.mkdir(`${prefix}${SA}`, { recursive: true });
    await Deno.writeTextFile(`${prefix}${SA}/ca.crt`, pki.ca.cert);
    await Deno.writeTextFile(`${prefix}${SA}/token`, "token-1");
    await Deno.writeTextFile(`${prefix}${SA}/namespace`, "replica-api");
    const env = (name: string) => ({ KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" } as Record<string, string>)[name];
    const kc = loadKubeconfig({ inCluster: true, env, serviceAccountPrefix: prefix });
    assert.equal(kc.getCurrentCluster()?.server, "https://10.0.0.1:443");
    const source = fetchCredentialsFrom(kc);
    const first = await source.credentials!();
    assert.equal(first.headers.Authorization, "Bearer token-1");
    assert.deepEqual(first.caCerts, [pki.ca.cert]);

    // client-node's FileAuth re-reads the token after 60 s, as client-go does; pretend that time has passed.
    await Deno.writeTextFile(`${prefix}${SA}/token`, "token-2");
    const realNow = Date.now;
    Date.now = () => realNow() + 61_000;
    const OriginalDate = globalThis.Date;
    globalThis.Date = class extends OriginalDate {
      constructor(...args: ConstructorParameters<typeof Date>) {
        super(...(args.length ? args : [realNow() + 61_000]) as ConstructorParameters<typeof Date>);
      }
    } as DateConstructor;
    try {
      assert.equal((await source.credentials!()).headers.Authorization, "Bearer token-2", "a rotated token applies");
    } finally {
      globalThis.Date = OriginalDate;
      Date.now = realNow;
    }

    const v6 = loadKubeconfig({
      inCluster: true,
      env: (n) => ({ KUBERNETES_SERVICE_HOST: "fd00::1", KUBERNETES_SERVICE_PORT: "443" } as Record<string, string>)[n],
      serviceAccountPrefix: prefix,
    });
    assert.equal(v6.getCurrentCluster()?.server, "https://[fd00::1]:443");
  } finally {
    await Deno.remove(prefix, { recursive: true });
  }
});

Deno.test("KUBECONFIG lists are merged, a named context is used, and unusable kubeconfigs are refused with the reason", async () => {
  const dir = await tempDir();
  try {
    const first = `${dir}/first`;
    const second = `${dir}/second`;
    await Deno.writeTextFile(first, yamlConfig("https://first:6443", "    token: one"));
    await Deno.writeTextFile(
      second,
      JSON.stringify({
        clusters: [{ name: "c2", cluster: { server: "https://second:6443" } }],
        users: [{ name: "u2", user: { token: "two" } }],
        contexts: [{ name: "y", context: { cluster: "c2", user: "u2" } }],
        "current-context": "y",
      }),
    );
    const env = (name: string) => name === "KUBECONFIG" ? `${first}:${second}` : undefined;
    const merged = loadKubeconfig({ inCluster: false, env });
    assert.equal(merged.getCurrentCluster()?.server, "https://second:6443", "the later file's current context, as client-node merges");
    assert.equal(loadKubeconfig({ inCluster: false, env, context: "x" }).getCurrentCluster()?.server, "https://first:6443");
    assert.throws(() => loadKubeconfig({ inCluster: false, env, context: "nope" }), /no context "nope"/);

    const duplicate = (name: string) => name === "KUBECONFIG" ? `${first}:${first}` : undefined;
    assert.throws(() => loadKubeconfig({ inCluster: false, env: duplicate }), /Duplicate cluster: c/);

    const insecure = `${dir}/insecure`;
    await Deno.writeTextFile(
      insecure,
      yamlConfig("https://127.0.0.1:6443", "    token: abc").replace("certificate-authority: pki/ca.crt", "insecure-skip-tls-verify: true"),
    );
    assert.throws(() => loadKubeconfig({ kubeconfig: insecure, inCluster: false }), /insecure-skip-tls-verify/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("without KUBECONFIG, ~/.kube/config is read; without either, the mounted ServiceAccount", async () => {
  const home = await tempDir();
  const prefix = await tempDir();
  try {
    await Deno.mkdir(`${home}/.kube`);
    await Deno.writeTextFile(`${home}/.kube/config`, yamlConfig("https://home:6443", "    token: abc"));
    assert.equal(
      loadKubeconfig({ inCluster: false, env: (n) => n === "HOME" ? home : undefined }).getCurrentCluster()?.server,
      "https://home:6443",
    );

    await Deno.mkdir(`${prefix}${SA}`, { recursive: true });
    await Deno.writeTextFile(`${prefix}${SA}/token`, "t");
    const env = (n: string) =>
      ({ HOME: prefix, KUBERNETES_SERVICE_HOST: "10.0.0.1", KUBERNETES_SERVICE_PORT: "443" } as Record<string, string>)[n];
    assert.equal(
      loadKubeconfig({ inCluster: false, env, serviceAccountPrefix: prefix }).getCurrentCluster()?.server,
      "https://10.0.0.1:443",
    );
    assert.ok(new Kubeconfig().getCurrentCluster() === undefined);
  } finally {
    await Deno.remove(home, { recursive: true });
    await Deno.remove(prefix, { recursive: true });
  }
});
