/** The policy file reloaded while the service runs: valid changes take effect, anything else keeps the last good policy. */
import assert from "node:assert/strict";
import { createReloadableAuthorizer, loadAuthorizer, type PolicyReloadOutcome, startPolicyReloader } from "../../../src/authz/mod.ts";
import { createLogger } from "../../../src/observability/mod.ts";

const alice = Object.freeze({ cn: "alice", organizations: Object.freeze(["sre"]), fingerprint256: "AA:01" });
const readDemo = `{"rules": [{"subjects": [{"cn": "alice"}], "permissions": {"read": ["demo"]}}]}`;
const scaleDemo = `{"rules": [{"subjects": [{"cn": "alice"}], "permissions": {"read": ["demo"], "scale": ["demo"]}}]}`;

async function setup(initial: string, options: { watch?: boolean } = {}) {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/policy.json`;
  await Deno.writeTextFile(path, initial);
  const logs: Record<string, unknown>[] = [];
  const outcomes: PolicyReloadOutcome[] = [];
  const authorizer = createReloadableAuthorizer(loadAuthorizer(path));
  const reloader = await startPolicyReloader({
    path,
    authorizer,
    log: createLogger({ sink: (line) => logs.push(JSON.parse(line)) }),
    onOutcome: (outcome) => outcomes.push(outcome),
    pollIntervalMs: 0,
    debounceMs: 20,
    watch: options.watch ?? false,
  });
  return {
    path,
    authorizer,
    reloader,
    logs,
    outcomes,
    async [Symbol.asyncDispose]() {
      await reloader.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("a valid new policy file takes effect for the next check, and subscribers hear of it", async () => {
  await using t = await setup(readDemo);
  let told = 0;
  t.authorizer.onChange(() => told++);
  assert.equal(t.authorizer.can(alice, "scale", "demo"), false);
  await Deno.writeTextFile(t.path, scaleDemo);
  assert.equal(await t.reloader.check(), "reloaded");
  assert.equal(t.authorizer.can(alice, "scale", "demo"), true);
  assert.equal(told, 1);
  assert.deepEqual(t.outcomes, ["reloaded"]);
  assert.equal(await t.reloader.check(), "unchanged", "the same content again is not a change");
  assert.equal(told, 1);
});

Deno.test("an invalid policy file is refused with its file:line:column, counted once, and the last good policy stays", async () => {
  await using t = await setup(scaleDemo);
  await Deno.writeTextFile(t.path, `{"rules": [\n  {"subjects": [{"cn": "alice"}], "permissions": {"admin": ["*"]}}\n]}`);
  assert.equal(await t.reloader.check(), "invalid");
  assert.equal(await t.reloader.check(), "invalid");
  assert.deepEqual(t.outcomes, ["invalid"], "reported once, not on every poll");
  const error = t.logs.find((l) => l.level === "error");
  assert.ok(error, "an error line");
  assert.match(String(error.error), new RegExp(`^${t.path}:2:\\d+: `));
  assert.equal(t.authorizer.can(alice, "scale", "demo"), true, "the last good policy is still in force");
});

Deno.test("a policy file that disappears or is not JSON never fails open", async () => {
  await using t = await setup(readDemo);
  await Deno.remove(t.path);
  assert.equal(await t.reloader.check(), "invalid");
  assert.equal(t.authorizer.can(alice, "read", "demo"), true);
  assert.equal(t.authorizer.can(alice, "scale", "demo"), false, "not allow-all: the last good policy");
  await Deno.writeTextFile(t.path, "{not json");
  assert.equal(await t.reloader.check(), "invalid");
  assert.equal(t.authorizer.can(alice, "scale", "demo"), false);
  await Deno.writeTextFile(t.path, scaleDemo);
  assert.equal(await t.reloader.check(), "reloaded", "a good file afterwards is taken");
  assert.equal(t.authorizer.can(alice, "scale", "demo"), true);
});

Deno.test("a Kubernetes-style ConfigMap update (the ..data symlink swapped) is picked up by the watch alone", async () => {
  // The volume layout kubelet writes: policy.json -> ..data/policy.json, ..data -> ..<timestamp>/.
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/..v1`);
    await Deno.writeTextFile(`${dir}/..v1/policy.json`, readDemo);
    await Deno.symlink("..v1", `${dir}/..data`);
    await Deno.symlink("..data/policy.json", `${dir}/policy.json`);
    const authorizer = createReloadableAuthorizer(loadAuthorizer(`${dir}/policy.json`));
    const changed = Promise.withResolvers<void>();
    authorizer.onChange(() => changed.resolve());
    const reloader = await startPolicyReloader({
      path: `${dir}/policy.json`,
      authorizer,
      log: createLogger({ sink: () => {} }),
      pollIntervalMs: 0,
      debounceMs: 20,
    });
    try {
      await Deno.mkdir(`${dir}/..v2`);
      await Deno.writeTextFile(`${dir}/..v2/policy.json`, scaleDemo);
      await Deno.symlink("..v2", `${dir}/..data_tmp`);
      await Deno.rename(`${dir}/..data_tmp`, `${dir}/..data`);
      const timeout = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 10_000));
      const result = await Promise.race([changed.promise.then(() => "changed" as const), timeout]);
      assert.equal(result, "changed", "no reload within 10 s of the swap");
      assert.equal(authorizer.can(alice, "scale", "demo"), true);
    } finally {
      await reloader.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
