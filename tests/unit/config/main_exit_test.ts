/**
 * src/main.ts as a process: a bad setting must stop it before anything starts,
 * with exit code 2 and one stderr line naming the setting, so `kubectl logs`
 * of a crash-looping Pod says exactly what to fix.
 */
import assert from "node:assert/strict";
import { SETTINGS } from "../../../src/config/mod.ts";

const REPO_ROOT = new URL("../../../", import.meta.url);

interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs src/main.ts with only `env` (plus PATH and HOME, which Deno itself needs) in its environment. */
async function runMain(env: Record<string, string>, args: string[] = []): Promise<RunResult> {
  const permission = await Deno.permissions.query({ name: "run", command: Deno.execPath() });
  if (permission.state !== "granted") {
    throw new Error(`these tests spawn ${Deno.execPath()}: run them with --allow-run (or --allow-all)`);
  }
  const base: Record<string, string> = { NO_COLOR: "1" };
  for (const name of ["PATH", "HOME", "DENO_DIR"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) base[name] = value;
  }
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "src/main.ts", ...args],
    cwd: REPO_ROOT,
    env: { ...base, ...env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return { code: output.code, stdout: decoder.decode(output.stdout), stderr: decoder.decode(output.stderr) };
}

/** Exit 2 and exactly one stderr line that names the setting. */
function assertBadSetting(result: RunResult, setting: string): void {
  assert.equal(result.code, 2, `exit code; stderr was:\n${result.stderr}`);
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `expected one stderr line, got:\n${result.stderr}`);
  assert.ok(lines[0].includes(setting), `the line should name ${setting}: ${lines[0]}`);
}

const DUMMY_TLS = {
  TLS_CERT_FILE: "/nonexistent/tls.crt",
  TLS_KEY_FILE: "/nonexistent/tls.key",
  TLS_CLIENT_CA_FILE: "/nonexistent/ca.crt",
};

Deno.test("main exits 2 with one line naming TLS_CERT_FILE when it is missing", async () => {
  const { TLS_CERT_FILE: _, ...env } = DUMMY_TLS;
  assertBadSetting(await runMain(env), "TLS_CERT_FILE");
});

Deno.test("main exits 2 with one line naming TLS_CERT_FILE when the file cannot be read", async () => {
  assertBadSetting(await runMain(DUMMY_TLS), "TLS_CERT_FILE");
});

Deno.test("main exits 2 with one line naming TLS_CERT_FILE when the file holds no PEM certificate", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // All three files are readable, so the only fault is the content of TLS_CERT_FILE.
    const junk = `${dir}/junk.pem`;
    await Deno.writeTextFile(junk, "not a certificate\n");
    assertBadSetting(await runMain({ TLS_CERT_FILE: junk, TLS_KEY_FILE: junk, TLS_CLIENT_CA_FILE: junk }), "TLS_CERT_FILE");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("main exits 2 with one line naming MAX_REPLICAS when it is not a number", async () => {
  assertBadSetting(await runMain({ ...DUMMY_TLS, MAX_REPLICAS: "abc" }), "MAX_REPLICAS");
});

Deno.test("main exits 2 with one line naming MAX_REPLICAS when a flag gives a bad value", async () => {
  assertBadSetting(await runMain(DUMMY_TLS, ["--max-replicas=abc"]), "MAX_REPLICAS");
});

Deno.test("main exits 2 with one line naming MAX_CONNECTIONS_PER_SOURCE when it is 0", async () => {
  assertBadSetting(await runMain({ ...DUMMY_TLS, MAX_CONNECTIONS_PER_SOURCE: "0" }), "MAX_CONNECTIONS_PER_SOURCE");
});

Deno.test("main exits 2 with one line naming OPERATIONS and the known operations when it names an unknown one", async () => {
  const result = await runMain({ ...DUMMY_TLS, OPERATIONS: "scale,rollback" });
  assertBadSetting(result, "OPERATIONS");
  assert.match(result.stderr, /known operations: scale, restart, pause, undo, image/);
});

Deno.test("main exits 2 with one line naming an unknown flag", async () => {
  assertBadSetting(await runMain(DUMMY_TLS, ["--no-such-flag=1"]), "--no-such-flag");
});

Deno.test("main --help exits 0 and lists every setting with its flag", async () => {
  const result = await runMain({}, ["--help"]);
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "");
  for (const name of Object.keys(SETTINGS)) {
    assert.match(result.stdout, new RegExp(`\\b${name}\\b`), `--help should list ${name}`);
    const flag = "--" + name.toLowerCase().replaceAll("_", "-");
    assert.ok(result.stdout.includes(flag), `--help should list ${flag}`);
  }
});
