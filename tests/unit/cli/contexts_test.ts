/** Contexts end to end: `config` verbs on a real config folder, and commands that connect through the context they pick. */
import assert from "node:assert/strict";
import { cli, type FakeApi, json, startFakeApi } from "./_fake_api.ts";

const web = { namespace: "demo", name: "web", replicas: 3, readyReplicas: 2, availableReplicas: 2, resourceVersion: "811" };

/** A fake API and an empty XDG config home; `env` locates the config file only (no REPLICA_API_* settings). */
async function withConfigHome(body: (api: FakeApi, env: { XDG_CONFIG_HOME: string }, file: string) => Promise<void>): Promise<void> {
  const api = await startFakeApi(() => json({ items: [web] }));
  const home = await Deno.makeTempDir({ prefix: "replica-api-xdg-" });
  try {
    await body(api, { XDG_CONFIG_HOME: home }, `${home}/replica-api/config.json`);
  } finally {
    await api.close();
    await Deno.remove(home, { recursive: true });
  }
}

/** set-context for alice against the fake API. */
function aliceArgs(api: FakeApi, name: string): string[] {
  const { pki } = api;
  return [
    "config",
    "set-context",
    name,
    "--url",
    api.url,
    "--cert",
    pki.alice.certPath,
    "--key",
    pki.alice.keyPath,
    "--cacert",
    pki.ca.certPath,
  ];
}

Deno.test("set-context, use-context and the current context carry a list to the API without any REPLICA_API_* variable", async () => {
  await withConfigHome(async (api, env, file) => {
    const created = await cli(aliceArgs(api, "fake"), env);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, 'Context "fake" created.');
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${env.XDG_CONFIG_HOME}/replica-api`)).mode! & 0o777, 0o700);

    const notYet = await cli(["config", "current-context"], env);
    assert.equal(notYet.code, 1);
    assert.equal(notYet.stderr, `error: no current context is set in ${file} (\`replica-api config use-context NAME\` sets one)`);

    const switched = await cli(["config", "use-context", "fake"], env);
    assert.equal(switched.stdout, 'Switched to context "fake".');
    assert.equal((await cli(["config", "current-context"], env)).stdout, "fake");

    const list = await cli(["list"], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^NAMESPACE {3}NAME {3}REPLICAS/);
    assert.equal(api.requests.length, 1, "the request reached the context's URL with the context's certificate");
  });
});

Deno.test("get-contexts marks the current context, and notes when REPLICA_API_CONTEXT picks another", async () => {
  await withConfigHome(async (api, env) => {
    assert.equal((await cli(["config", "get-contexts"], env)).stderr, `No contexts in ${env.XDG_CONFIG_HOME}/replica-api/config.json.`);
    await cli(aliceArgs(api, "fake"), env);
    await cli(["config", "set-context", "prod", "--url", "https://replica-api.example:8443"], env);
    await cli(["config", "use-context", "fake"], env);
    const listed = await cli(["config", "get-contexts"], env);
    assert.equal(listed.code, 0, listed.stderr);
    const lines = listed.stdout.split("\n");
    assert.match(lines[0], /^CURRENT {3}NAME {3}URL {2,}CERT$/);
    assert.match(lines[1], new RegExp(`^\\* {9}fake {3}${api.url} +${api.pki.alice.certPath}$`));
    assert.match(lines[2], /^ {10}prod {3}https:\/\/replica-api\.example:8443$/);
    assert.equal(listed.stderr, "");
    const overridden = await cli(["config", "get-contexts"], { ...env, REPLICA_API_CONTEXT: "prod" });
    assert.equal(overridden.stderr, 'replica-api: note: REPLICA_API_CONTEXT="prod" overrides the current context in this environment');
  });
});

Deno.test("set-context changes only the fields given, and --context picks a context for one command", async () => {
  await withConfigHome(async (api, env, file) => {
    await cli(["config", "set-context", "fake", "--url", "https://nowhere.invalid:1"], env);
    const incomplete = await cli(["list", "--context", "fake"], env);
    assert.equal(incomplete.code, 1);
    assert.match(
      incomplete.stderr,
      /^error: context "fake" in \S+ has no cert: add it with `replica-api config set-context fake --cert FILE`/,
    );
    const { alice, ca } = api.pki;
    const modified = await cli(
      ["config", "set-context", "fake", "--cert", alice.certPath, "--key", alice.keyPath, "--cacert", ca.certPath],
      env,
    );
    assert.equal(modified.stdout, 'Context "fake" modified.');
    assert.equal(JSON.parse(await Deno.readTextFile(file)).contexts.fake.url, "https://nowhere.invalid:1", "the url it had is kept");
    const viaFlag = await cli(["list", "--context", "fake", "--url", api.url], env);
    assert.equal(viaFlag.code, 0, viaFlag.stderr);
    assert.equal(api.requests.length, 1);
  });
});

Deno.test("relative paths in a hand-written config file are taken from the file's folder", async () => {
  await withConfigHome(async (api, env, file) => {
    const folder = `${env.XDG_CONFIG_HOME}/replica-api`;
    await Deno.mkdir(`${folder}/certs`, { recursive: true });
    await Deno.copyFile(api.pki.alice.certPath, `${folder}/certs/me.crt`);
    await Deno.copyFile(api.pki.alice.keyPath, `${folder}/certs/me.key`);
    await Deno.copyFile(api.pki.ca.certPath, `${folder}/ca.crt`);
    const contexts = { fake: { url: api.url, cert: "certs/me.crt", key: "./certs/me.key", cacert: "ca.crt" } };
    await Deno.writeTextFile(file, JSON.stringify({ currentContext: "fake", contexts }));
    const run = await cli(["list"], env);
    assert.equal(run.code, 0, run.stderr);
  });
});

Deno.test("delete-context removes the context and warns when it was the current one", async () => {
  await withConfigHome(async (api, env, file) => {
    await cli(aliceArgs(api, "fake"), env);
    await cli(["config", "use-context", "fake"], env);
    const deleted = await cli(["config", "delete-context", "fake"], env);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, `Deleted context "fake" from ${file}.`);
    assert.equal(
      deleted.stderr,
      'replica-api: warning: "fake" was the current context; none is now (`replica-api config use-context NAME`)',
    );
    assert.deepEqual(JSON.parse(await Deno.readTextFile(file)), { contexts: {} });
    const again = await cli(["config", "delete-context", "fake"], env);
    assert.equal(again.code, 2);
    assert.equal(again.stderr, `error: context "fake" is not in ${file}; it has none\nRun 'replica-api help' for usage.`);
  });
});

Deno.test("an unknown context exits 2 before any connection, listing the contexts there are", async () => {
  await withConfigHome(async (api, env, file) => {
    await cli(aliceArgs(api, "fake"), env);
    const connect = () => Promise.reject(new Error("must not connect"));
    const run = await cli(["list"], { ...env, REPLICA_API_CONTEXT: "staging" }, { connect });
    assert.equal(run.code, 2);
    assert.equal(
      run.stderr,
      `error: context "staging" (REPLICA_API_CONTEXT) is not in ${file}; it has fake\nRun 'replica-api help' for usage.`,
    );
    const use = await cli(["config", "use-context", "staging"], env);
    assert.equal(use.code, 2);
    assert.equal(api.requests.length, 0);
  });
});

Deno.test("a malformed config file fails the commands that need it with the file and what is wrong, and is never overwritten", async () => {
  await withConfigHome(async (api, env, file) => {
    await Deno.mkdir(`${env.XDG_CONFIG_HOME}/replica-api`);
    const text = '{\n  "currentContext": "fake",\n  "currentContext": "prod"\n}\n';
    await Deno.writeTextFile(file, text);
    const expected = `error: the config file ${file} has "currentContext" twice in one object (line 3, column 3); ` +
      "keep one: JSON readers disagree on which one counts";
    for (const argv of [["list"], ["config", "get-contexts"], aliceArgs(api, "fake")]) {
      const run = await cli(argv, env);
      assert.equal(run.code, 1, argv.join(" "));
      assert.equal(run.stderr, expected, argv.join(" "));
    }
    assert.equal(await Deno.readTextFile(file), text, "set-context did not replace what it could not read");
    const everything = ["list", ...aliceArgs(api, "x").slice(3)];
    assert.equal((await cli(everything, env)).code, 0, "flags for every setting: the file is not needed");
    assert.equal((await cli(["help"], env)).code, 0);
  });
});
