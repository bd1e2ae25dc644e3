/**
 * The development commands the README promises: `deno task run` serves the API as `make run` does, and `deno test`
 * runs the unit suite only, never a suite that needs a cluster. Deno 2.9.6 applies the permissions of deno.json's
 * "test" section only with `-P` (plain `deno test` stops at once and says so), so these run Deno itself in the
 * repository and check what each command does.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
// Set for the Deno processes started here. Were plain `deno test` ever to run the suite (a later Deno applying the
// config's permissions without -P), it would run this file again inside itself; with this set, it skips it.
const NESTED = "REPLICA_API_DEV_COMMANDS_NESTED";
const nested = Deno.env.get(NESTED) === "1";

async function deno(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: REPO,
    env: { [NESTED]: "1", NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test({
  name: "deno task run exists and runs make run",
  ignore: nested,
  fn: async () => {
    const listing = await deno(["task"]);
    const text = listing.stdout + listing.stderr;
    assert.match(text, /^- run$/m, `deno task lists no "run" task:\n${text}`);
    const command = text.split(/^- run$/m)[1].split(/^- /m)[0];
    assert.match(command, /\bmake run\b/);
  },
});

Deno.test({
  name:
    "deno test -P runs tests/unit only; the suites that need a cluster run with make test-integration, make contract-test and make test-kind",
  ignore: nested,
  fn: async () => {
    // The junit report names every file the run loaded; the filter matches no test, so nothing runs.
    const run = await deno(["test", "-P", "--no-check", "--reporter=junit", "--filter=/^$/"]);
    assert.equal(run.code, 0, run.stderr);
    const files = [...run.stdout.matchAll(/<testsuite name="([^"]+)"/g)].map((m) => m[1]);
    assert.ok(files.includes("./tests/unit/dev_commands_test.ts"), `the run did not load this file: ${files.join(", ")}`);
    assert.deepEqual(files.filter((f) => !f.startsWith("./tests/unit/")), []);
    const make = await Deno.readTextFile(`${REPO}Makefile`) + await Deno.readTextFile(`${REPO}mk/packaging.mk`);
    for (const target of ["test-integration", "contract-test", "test-kind", "test"]) {
      assert.match(make, new RegExp(`^${target}:`, "m"), `no make target ${target}`);
    }
  },
});

Deno.test({
  name: "plain deno test runs no suite and asks for -P, which loads the unit suite's permissions from deno.json",
  ignore: nested,
  fn: async () => {
    const run = await deno(["test"]);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /-P/);
    assert.doesNotMatch(run.stdout, /^running \d+ tests? from/m);
  },
});
