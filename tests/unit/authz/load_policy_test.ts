/** Loading AUTHZ_POLICY_FILE: no file, a good file, and files that must stop the start. */
import assert from "node:assert/strict";
import { loadAuthorizer, PolicyError } from "../../../src/authz/mod.ts";

const who = Object.freeze({ cn: "alice", organizations: Object.freeze(["sre"]), fingerprint256: "AA" });

async function withFile(contents: string | Uint8Array, fn: (path: string) => void | Promise<void>): Promise<void> {
  const path = await Deno.makeTempFile({ suffix: ".json" });
  try {
    if (typeof contents === "string") await Deno.writeTextFile(path, contents);
    else await Deno.writeFile(path, contents);
    await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("loadAuthorizer without a path allows every authenticated client everything", () => {
  assert.equal(loadAuthorizer(undefined).can(who, "scale", "prod"), true);
});

Deno.test("loadAuthorizer builds the authorizer from the file", async () => {
  await withFile(`{"rules": [{"subjects": [{"group": "sre"}], "permissions": {"read": ["demo"]}}]}`, (path) => {
    const authz = loadAuthorizer(path);
    assert.equal(authz.can(who, "read", "demo"), true);
    assert.equal(authz.can(who, "scale", "demo"), false);
    assert.equal(authz.describe(who).policy, path);
  });
});

Deno.test("loadAuthorizer names the file, line and column of an invalid policy", async () => {
  await withFile(`{"rules": [\n  {"subjects": [{"cn": "a"}], "permissions": {"admin": ["*"]}}\n]}`, (path) => {
    assert.throws(() => loadAuthorizer(path), (e: PolicyError) => e instanceof PolicyError && e.message.startsWith(`${path}:2:47: `));
  });
});

Deno.test("loadAuthorizer refuses a missing file, a file that is not UTF-8, and a huge file", async () => {
  assert.throws(() => loadAuthorizer("/nonexistent/policy.json"), /cannot read \/nonexistent\/policy.json/);
  await withFile(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), (path) => assert.throws(() => loadAuthorizer(path), /not UTF-8/));
  await withFile(" ".repeat(1024 * 1024 + 1), (path) => assert.throws(() => loadAuthorizer(path), /larger than/));
});
