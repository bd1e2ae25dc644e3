/** parseArgs: commands, flags anywhere, connection settings from flags over variables over defaults, usage errors. */
import assert from "node:assert/strict";
import { type CliEnv, DEFAULT_TIMEOUT_MS, parseArgs, parseDuration } from "../../../src/cli/args.ts";
import { UsageError } from "../../../src/cli/errors.ts";

const context = (env: CliEnv = {}) => ({ env, cwd: "/home/sre/work", defaultCertDir: "/repo/certs" });
const parse = (argv: string[], env: CliEnv = {}) => parseArgs(argv, context(env));
const command = (argv: string[]) => parse(argv).command;

function usage(argv: string[], message: RegExp) {
  assert.throws(() => parse(argv), (error: unknown) => {
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${error}`);
    assert.match(error.message, message);
    return true;
  });
}

Deno.test("parseArgs reads list with and without a namespace, in table or JSON", () => {
  assert.deepEqual(command(["list"]), { kind: "list", namespace: undefined, output: "table" });
  assert.deepEqual(command(["list", "-n", "demo"]), { kind: "list", namespace: "demo", output: "table" });
  assert.deepEqual(command(["list", "-ndemo", "-ojson"]), { kind: "list", namespace: "demo", output: "json" });
  assert.deepEqual(command(["list", "--namespace=demo", "--output", "json"]), { kind: "list", namespace: "demo", output: "json" });
  assert.deepEqual(command(["-n", "demo", "list"]), { kind: "list", namespace: "demo", output: "table" }, "flags before the command");
});

Deno.test("parseArgs splits NAMESPACE/NAME for get", () => {
  assert.deepEqual(command(["get", "demo/web"]), { kind: "get", namespace: "demo", name: "web", output: "table" });
  assert.deepEqual(command(["get", "demo/web", "-o", "json"]), { kind: "get", namespace: "demo", name: "web", output: "json" });
});

Deno.test("parseArgs reads scale with every option", () => {
  assert.deepEqual(command(["scale", "demo/web", "5"]), {
    kind: "scale",
    namespace: "demo",
    name: "web",
    replicas: 5,
    wait: false,
    timeoutMs: DEFAULT_TIMEOUT_MS,
    ifMatch: undefined,
    dryRun: false,
    force: false,
    output: "table",
  });
  const full = command(["scale", "--wait", "--timeout", "2m", "demo/web", "0", "--if-match", "1234", "--force", "-o", "json"]);
  assert.deepEqual(full, {
    kind: "scale",
    namespace: "demo",
    name: "web",
    replicas: 0,
    wait: true,
    timeoutMs: 120_000,
    ifMatch: '"1234"',
    dryRun: false,
    force: true,
    output: "json",
  });
  const dry = command(["scale", "demo/web", "3", "--dry-run"]);
  assert.equal(dry.kind === "scale" && dry.dryRun, true);
});

Deno.test("parseArgs sends --if-match quoted, keeping ETags, weak tags and * as given", async (t) => {
  const ifMatch = (value: string) => {
    const c = command(["scale", "demo/web", "1", "--if-match", value]);
    return c.kind === "scale" ? c.ifMatch : undefined;
  };
  await t.step("bare resourceVersion", () => assert.equal(ifMatch("987"), '"987"'));
  await t.step("quoted ETag from the API", () => assert.equal(ifMatch('"987"'), '"987"'));
  await t.step("weak ETag", () => assert.equal(ifMatch('W/"987"'), 'W/"987"'));
  await t.step("wildcard", () => assert.equal(ifMatch("*"), "*"));
  await t.step("garbage is a usage error", () => usage(["scale", "demo/web", "1", "--if-match", 'a"b'], /--if-match must be an ETag/));
});

Deno.test("parseArgs reads watch, help and version", () => {
  assert.deepEqual(command(["watch"]), { kind: "watch", namespace: undefined, output: "table" });
  assert.deepEqual(command(["watch", "-n", "prod", "-o", "json"]), { kind: "watch", namespace: "prod", output: "json" });
  assert.deepEqual(command(["help"]), { kind: "help", topic: undefined });
  assert.deepEqual(command(["help", "scale"]), { kind: "help", topic: "scale" });
  assert.deepEqual(command(["--help"]), { kind: "help" });
  assert.deepEqual(command(["-h"]), { kind: "help" });
  assert.deepEqual(command(["scale", "--help"]), { kind: "help", topic: "scale" });
  assert.deepEqual(command(["--version"]), { kind: "version" });
});

Deno.test("parseArgs treats everything after -- as operands", () => {
  usage(["get", "--", "--wait"], /expected NAMESPACE\/NAME/);
});

Deno.test("parseArgs rejects bad command lines with a message naming the problem", async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /no command given/],
    [["deploy"], /unknown command "deploy"; commands: list, get, scale, watch, help/],
    [["list", "--bogus"], /unknown flag --bogus/],
    [["list", "-x"], /unknown flag -x/],
    [["list", "-n"], /--namespace needs a value/],
    [["list", "-n", ""], /--namespace must not be empty/],
    [["list", "extra"], /unexpected argument "extra" for list/],
    [["list", "-o", "yaml"], /--output must be "table" or "json", not "yaml"/],
    [["get"], /get needs NAMESPACE\/NAME/],
    [["get", "web"], /expected NAMESPACE\/NAME \(e.g. demo\/web\), not "web"/],
    [["get", "a/b/c"], /not "a\/b\/c"/],
    [["get", "/web"], /expected NAMESPACE\/NAME/],
    [["get", "demo/web", "-n", "x"], /--namespace does not apply to "get"/],
    [["scale", "demo/web"], /scale needs NAMESPACE\/NAME REPLICAS/],
    [["scale", "demo/web", "-1"], /REPLICAS must be a whole number ≥ 0, not "-1"/],
    [["scale", "demo/web", "1.5"], /REPLICAS must be a whole number ≥ 0, not "1.5"/],
    [["scale", "demo/web", "five"], /REPLICAS must be a whole number/],
    [["scale", "demo/web", "99999999999999999"], /REPLICAS must be a whole number/],
    [["scale", "demo/web", "1", "--timeout", "5s"], /--timeout only applies with --wait/],
    [["scale", "demo/web", "1", "--wait", "--timeout", "soon"], /--timeout must be a duration like 500ms/],
    [["scale", "demo/web", "1", "--wait", "--dry-run"], /--wait cannot be combined with --dry-run/],
    [["scale", "demo/web", "1", "--wait=yes"], /--wait takes no value/],
    [["list", "--wait"], /--wait does not apply to "list"/],
    [["watch", "--force"], /--force does not apply to "watch"/],
    [["help", "deploy"], /no help for unknown command "deploy"/],
    [["list", "--url", "http://localhost:8443"], /--url must be an https:\/\/ URL \(the API is mTLS only\)/],
    [["list", "--url", "not a url"], /--url is not a URL/],
    [["list", "--url", "https://h:1/?x=1"], /must not carry a query/],
    [["list", "--cert="], /--cert must not be empty/],
  ];
  for (const [argv, message] of cases) {
    await t.step(argv.join(" ") || "(nothing)", () => usage(argv, message));
  }
});

Deno.test("parseArgs defaults to the dev PKI of the checkout and https://localhost:8443", () => {
  const { connection } = parse(["list"]);
  assert.equal(connection.url, "https://localhost:8443");
  assert.deepEqual(
    [connection.cert.path, connection.key.path, connection.cacert.path],
    ["/repo/certs/client.crt", "/repo/certs/client.key", "/repo/certs/ca.crt"],
  );
  assert.equal(connection.cert.source, "default");
  assert.equal(connection.cert.howToSet, "REPLICA_API_CERT or --cert");
});

Deno.test("parseArgs takes the connection from REPLICA_API_* and lets flags win, resolving relative paths against the cwd", () => {
  const env = {
    REPLICA_API_URL: "https://replica-api.example:9443/prefix/",
    REPLICA_API_CERT: "me.crt",
    REPLICA_API_KEY: "/keys/me.key",
    REPLICA_API_CACERT: "ca.pem",
  };
  const fromEnv = parse(["list"], env).connection;
  assert.equal(fromEnv.url, "https://replica-api.example:9443/prefix", "trailing slash dropped, path kept");
  assert.deepEqual(fromEnv.cert, { path: "/home/sre/work/me.crt", source: "REPLICA_API_CERT", howToSet: "REPLICA_API_CERT or --cert" });
  assert.equal(fromEnv.key.path, "/keys/me.key");
  assert.equal(fromEnv.cacert.path, "/home/sre/work/ca.pem");

  const fromFlags = parse(["list", "--url=https://other:8443", "--cert", "../x.crt", "--cacert", "/etc/ca.crt"], env).connection;
  assert.equal(fromFlags.url, "https://other:8443");
  assert.deepEqual(fromFlags.cert, { path: "/home/sre/work/../x.crt", source: "--cert", howToSet: "REPLICA_API_CERT or --cert" });
  assert.equal(fromFlags.key.source, "REPLICA_API_KEY", "a variable still applies where no flag is given");
  assert.equal(fromFlags.cacert.path, "/etc/ca.crt");
});

Deno.test("parseArgs treats an empty REPLICA_API_* variable as unset", () => {
  const { connection } = parse(["list"], { REPLICA_API_URL: "", REPLICA_API_CERT: "" });
  assert.equal(connection.url, "https://localhost:8443");
  assert.equal(connection.cert.source, "default");
});

Deno.test("parseArgs reports a bad REPLICA_API_URL by its variable name", () => {
  assert.throws(() => parse(["list"], { REPLICA_API_URL: "localhost:8443" }), /REPLICA_API_URL must be an https:\/\/ URL/);
});

Deno.test("parseDuration accepts ms, s, m, h and plain seconds, and nothing else", () => {
  assert.equal(parseDuration("250ms", "--timeout"), 250);
  assert.equal(parseDuration("30s", "--timeout"), 30_000);
  assert.equal(parseDuration("5m", "--timeout"), 300_000);
  assert.equal(parseDuration("1h", "--timeout"), 3_600_000);
  assert.equal(parseDuration("45", "--timeout"), 45_000);
  for (const bad of ["0s", "0", "-5s", "1.5s", "5 s", "5d", "", "s"]) {
    assert.throws(() => parseDuration(bad, "--timeout"), UsageError, bad);
  }
});
