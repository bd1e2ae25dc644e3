/**
 * The development commands the README promises: `deno task run` serves the API as `make run` does, and `deno test`
 * runs the unit suite only, never a suite that needs a cluster. Deno 2.9.6 applies the permissions of deno.json's
 * "test" section only with `-P` (plain `deno test` stops at once and says so).
 *
 * The `deno test` cases run Deno on a scratch copy of the repository's layout: deno.json's "test" section as it is,
 * and one stub test per folder of tests/. Loading the real suites takes 15 s (each file gets its own isolate); the
 * stubs show the same selection in well under a second, and the unit stub uses every permission the unit suite has.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

async function deno(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

// The unit stub needs what the unit suite is granted (read, write, net, env, sys, run); the others must never run.
const UNIT_STUB = `Deno.test("unit stub", async () => {
  Deno.readTextFileSync("deno.json");
  Deno.writeTextFileSync(Deno.makeTempFileSync(), "x");
  Deno.listen({ hostname: "127.0.0.1", port: 0 }).close();
  Deno.env.get("HOME");
  Deno.hostname();
  await new Deno.Command(Deno.execPath(), { args: ["--version"], stdout: "null" }).output();
});
`;
const stub = (folder: string) => `Deno.test("${folder} stub", () => { throw new Error("${folder} ran"); });\n`;

/** A scratch folder with deno.json's "test" section and a stub test in tests/<folder>/ for every folder of tests/. */
async function scratchRepo(): Promise<{ dir: string; folders: string[] }> {
  const config = JSON.parse(await Deno.readTextFile(`${REPO}deno.json`));
  const dir = await Deno.makeTempDir({ prefix: "dev-commands-" });
  await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ test: config.test }));
  const folders: string[] = [];
  for await (const entry of Deno.readDir(`${REPO}tests`)) {
    if (!entry.isDirectory) continue;
    folders.push(entry.name);
    await Deno.mkdir(`${dir}/tests/${entry.name}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/tests/${entry.name}/stub_test.ts`, entry.name === "unit" ? UNIT_STUB : stub(entry.name));
  }
  return { dir, folders };
}

Deno.test("deno task run exists and runs make run", async () => {
  const listing = await deno(["task"], REPO);
  const text = listing.stdout + listing.stderr;
  assert.match(text, /^- run$/m, `deno task lists no "run" task:\n${text}`);
  const command = text.split(/^- run$/m)[1].split(/^- /m)[0];
  assert.match(command, /\bmake run\b/);
});

Deno.test("deno test -P runs tests/unit only, with its permissions; the suites that need a cluster run with make test-integration, make contract-test and make test-kind", async () => {
  const { dir, folders } = await scratchRepo();
  try {
    assert.ok(folders.includes("integration") && folders.includes("kind"), `tests/ has ${folders.join(", ")}`);
    const run = await deno(["test", "-P", "--reporter=junit"], dir);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const files = [...run.stdout.matchAll(/<testsuite name="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(files, ["./tests/unit/stub_test.ts"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const make = await Deno.readTextFile(`${REPO}Makefile`) + await Deno.readTextFile(`${REPO}mk/packaging.mk`);
  for (const target of ["test-integration", "contract-test", "test-kind", "test"]) {
    assert.match(make, new RegExp(`^${target}:`, "m"), `no make target ${target}`);
  }
});

Deno.test("plain deno test runs no suite and asks for -P, which loads the unit suite's permissions from deno.json", async () => {
  const { dir } = await scratchRepo();
  try {
    const run = await deno(["test"], dir);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /-P/);
    assert.doesNotMatch(run.stdout + run.stderr, /stub/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
