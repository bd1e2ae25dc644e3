/** parseArgs: commands, flags anywhere, connection settings from flags over variables over defaults, usage errors. */
import assert from "node:assert/strict";
import { type CliEnv, DEFAULT_TIMEOUT_MS, parseArgs } from "../../../src/cli/args.ts";
import { parseDuration } from "../../../src/cli/arg_values.ts";
import { parseConfigFile } from "../../../src/cli/config_file.ts";
import { CliFailure, UsageError } from "../../../src/cli/errors.ts";

const context = (env: CliEnv = {}) => ({ env, cwd: "/home/sre/work", defaultCertDir: "/repo/certs" });
const parse = (argv: string[], env: CliEnv = {}) => parseArgs(argv, context(env));
const command = (argv: string[]) => parse(argv).command;
/** The connection settings of a command that connects (they are resolved for those only). */
function settings(argv: string[], env: CliEnv = {}) {
  const { connection } = parse(argv, env);
  assert.ok(connection, `${argv.join(" ")} has connection settings`);
  return connection;
}

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

Deno.test("parseArgs reads whoami, in table or JSON, and nothing else with it", () => {
  assert.deepEqual(command(["whoami"]), { kind: "whoami", output: "table" });
  assert.deepEqual(command(["whoami", "-o", "json"]), { kind: "whoami", output: "json" });
  assert.equal(parse(["whoami", "--url", "https://a:1"]).connection?.url, "https://a:1", "whoami connects, so it has settings");
  usage(["whoami", "alice"], /^unexpected argument "alice" for whoami/);
  usage(["whoami", "-n", "demo"], /^--namespace does not apply to "whoami"/);
});

Deno.test("parseArgs treats everything after -- as operands", () => {
  usage(["get", "--", "--wait"], /expected NAMESPACE\/NAME/);
});

Deno.test("parseArgs rejects bad command lines with a message naming the problem", async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /no command given/],
    [
      ["deploy"],
      /unknown command "deploy"; commands: list, get, scale, restart, pause, resume, undo, history, set-image, watch, whoami, config, help/,
    ],
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
  const connection = settings(["list"]);
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
  const fromEnv = settings(["list"], env);
  assert.equal(fromEnv.url, "https://replica-api.example:9443/prefix", "trailing slash dropped, path kept");
  assert.deepEqual(fromEnv.cert, { path: "/home/sre/work/me.crt", source: "REPLICA_API_CERT", howToSet: "REPLICA_API_CERT or --cert" });
  assert.equal(fromEnv.key.path, "/keys/me.key");
  assert.equal(fromEnv.cacert.path, "/home/sre/work/ca.pem");

  const fromFlags = settings(["list", "--url=https://other:8443", "--cert", "../x.crt", "--cacert", "/etc/ca.crt"], env);
  assert.equal(fromFlags.url, "https://other:8443");
  assert.deepEqual(fromFlags.cert, { path: "/home/sre/work/../x.crt", source: "--cert", howToSet: "REPLICA_API_CERT or --cert" });
  assert.equal(fromFlags.key.source, "REPLICA_API_KEY", "a variable still applies where no flag is given");
  assert.equal(fromFlags.cacert.path, "/etc/ca.crt");
});

Deno.test("parseArgs treats an empty REPLICA_API_* variable as unset", () => {
  const connection = settings(["list"], { REPLICA_API_URL: "", REPLICA_API_CERT: "" });
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

const FILE = "/home/sre/.config/replica-api/config.json";
/** A config file as runCli would have read it. */
function withConfig(config: object, argv: string[], env: CliEnv = {}) {
  const file = parseConfigFile(JSON.stringify(config), FILE);
  return parseArgs(argv, { ...context(env), config: { kind: "loaded", path: FILE, file } });
}
const contexts = {
  currentContext: "dev",
  contexts: {
    dev: { url: "https://dev.example:8443", cert: "dev/alice.crt", key: "/keys/alice.key", cacert: "dev/ca.crt" },
    prod: { url: "https://prod.example:8443", cert: "/prod/alice.crt", key: "/prod/alice.key", cacert: "/prod/ca.crt" },
    partial: { url: "https://partial.example:8443" },
  },
};

Deno.test("the current context fills in every setting, relative paths taken from the config file's folder", () => {
  const { connection } = withConfig(contexts, ["list"]);
  assert.deepEqual(connection, {
    url: "https://dev.example:8443",
    cert: { path: "/home/sre/.config/replica-api/dev/alice.crt", source: 'context "dev"', howToSet: "REPLICA_API_CERT or --cert" },
    key: { path: "/keys/alice.key", source: 'context "dev"', howToSet: "REPLICA_API_KEY or --key" },
    cacert: { path: "/home/sre/.config/replica-api/dev/ca.crt", source: 'context "dev"', howToSet: "REPLICA_API_CACERT or --cacert" },
  });
});

Deno.test("a flag beats the context's url, and a variable beats the context's cert", () => {
  const { connection } = withConfig(contexts, ["list", "--url", "https://flag.example:1"], {
    REPLICA_API_URL: "https://env.example:2",
    REPLICA_API_CERT: "me.crt",
  });
  assert.equal(connection?.url, "https://flag.example:1");
  assert.deepEqual([connection?.cert.path, connection?.cert.source], ["/home/sre/work/me.crt", "REPLICA_API_CERT"]);
  assert.equal(connection?.key.source, 'context "dev"', "the context still gives what flags and variables do not");
  assert.equal(withConfig(contexts, ["list"], { REPLICA_API_URL: "https://env.example:2" }).connection?.url, "https://env.example:2");
});

Deno.test("--context beats REPLICA_API_CONTEXT, which beats the file's current context", () => {
  const url = (argv: string[], env: CliEnv = {}) => withConfig(contexts, argv, env).connection?.url;
  assert.equal(url(["list"]), "https://dev.example:8443");
  assert.equal(url(["list"], { REPLICA_API_CONTEXT: "prod" }), "https://prod.example:8443");
  assert.equal(url(["list", "--context", "dev"], { REPLICA_API_CONTEXT: "prod" }), "https://dev.example:8443");
  assert.equal(url(["get", "demo/web", "--context=prod"]), "https://prod.example:8443");
  assert.equal(url(["list"], { REPLICA_API_CONTEXT: "" }), "https://dev.example:8443", "an empty variable counts as unset");
});

Deno.test("without a context in use the defaults apply, whatever the file holds", () => {
  const { connection } = withConfig({ contexts: contexts.contexts }, ["list"]);
  assert.equal(connection?.url, "https://localhost:8443");
  assert.equal(connection?.cert.source, "default");
  assert.equal(parse(["list"]).connection?.url, "https://localhost:8443", "no file read at all");
});

Deno.test("an unknown context is a usage error that lists the contexts there are", () => {
  const refused = (argv: string[], env: CliEnv, message: RegExp) =>
    assert.throws(() => withConfig(contexts, argv, env), (error: unknown) => {
      assert.ok(error instanceof UsageError, String(error));
      assert.match(error.message, message);
      return true;
    });
  refused(["list", "--context", "staging"], {}, /^context "staging" \(--context\) is not in \S+config\.json; it has dev, prod, partial$/);
  refused(["list"], { REPLICA_API_CONTEXT: "staging" }, /^context "staging" \(REPLICA_API_CONTEXT\) is not in/);
  refused(["list", "--context="], {}, /^--context must not be empty$/);
  const absent = { ...context(), config: { kind: "absent", path: FILE } as const };
  assert.throws(
    () => parseArgs(["list", "--context", "dev"], absent),
    /^UsageError: context "dev" \(--context\) is not defined: there is no \S+ yet/,
  );
  const none = { ...context(), config: { kind: "none", why: "neither XDG_CONFIG_HOME nor HOME is set" } as const };
  assert.throws(
    () => parseArgs(["list"], { ...none, env: { REPLICA_API_CONTEXT: "dev" } }),
    /REPLICA_API_CONTEXT names context "dev", but there is no config file: neither XDG_CONFIG_HOME nor HOME is set/,
  );
});

Deno.test("a context without a setting the run needs is an error naming the field and how to add it", () => {
  assert.throws(() => withConfig(contexts, ["list", "--context", "partial"]), (error: unknown) => {
    assert.ok(error instanceof CliFailure, String(error));
    assert.equal(
      error.message,
      `context "partial" in ${FILE} has no cert: add it with \`replica-api config set-context partial --cert FILE\`, ` +
        "or set REPLICA_API_CERT or --cert",
    );
    return true;
  });
  const given = { REPLICA_API_CERT: "/c", REPLICA_API_KEY: "/k", REPLICA_API_CACERT: "/ca" };
  assert.equal(withConfig(contexts, ["list", "--context", "partial"], given).connection?.url, "https://partial.example:8443");
});

Deno.test("a current context the file does not define is an error that says how to pick another", () => {
  assert.throws(
    () => withConfig({ currentContext: "gone", contexts: {} }, ["list"]),
    (error: unknown) =>
      error instanceof CliFailure && /^the current context "gone" of \S+ is not defined there; choose another/.test(error.message),
  );
});

Deno.test("a malformed config file fails a command only when the command needs it", () => {
  const error = new CliFailure(`the config file ${FILE} is not JSON: Unexpected end of JSON input`);
  const broken = { ...context(), config: { kind: "unusable", path: FILE, error } as const };
  assert.throws(() => parseArgs(["list"], broken), (thrown) => thrown === error);
  assert.throws(() => parseArgs(["list", "--context", "dev", "--url=https://a:1"], broken), (thrown) => thrown === error);
  const everything = ["list", "--url=https://a:1", "--cert=/c", "--key=/k", "--cacert=/ca"];
  assert.equal(parseArgs(everything, broken).connection?.url, "https://a:1", "flags give every setting: the file does not matter");
  assert.deepEqual(parseArgs(["help"], broken).command, { kind: "help", topic: undefined });
});

Deno.test("parseArgs reads the config verbs; set-context stores absolute paths and a normalised URL", () => {
  assert.deepEqual(command(["config", "get-contexts"]), { kind: "config", action: { verb: "get-contexts" } });
  assert.deepEqual(command(["config", "current-context"]), { kind: "config", action: { verb: "current-context" } });
  assert.deepEqual(command(["config", "use-context", "prod"]), { kind: "config", action: { verb: "use-context", name: "prod" } });
  assert.deepEqual(command(["config", "delete-context", "prod"]), { kind: "config", action: { verb: "delete-context", name: "prod" } });
  assert.deepEqual(
    command(["config", "set-context", "alice@prod", "--url", "https://prod.example:8443/", "--cert", "alice.crt", "--cacert=/etc/ca.crt"]),
    {
      kind: "config",
      action: {
        verb: "set-context",
        name: "alice@prod",
        fields: { url: "https://prod.example:8443", cert: "/home/sre/work/alice.crt", cacert: "/etc/ca.crt" },
      },
    },
  );
  assert.deepEqual(command(["config", "set-context", "empty"]), {
    kind: "config",
    action: { verb: "set-context", name: "empty", fields: {} },
  });
  assert.equal(parse(["config", "get-contexts"]).connection, undefined, "config connects nowhere");
  assert.equal(parse(["help", "--url", "http://not-checked"]).connection, undefined, "nor does help");
});

Deno.test("parseArgs rejects bad config command lines", async (t) => {
  const cases: [string[], RegExp][] = [
    [["config"], /^config needs one of get-contexts \| current-context \| use-context \| set-context \| delete-context/],
    [["config", "view"], /^unknown config command "view"/],
    [["config", "use-context"], /^config use-context needs NAME$/],
    [["config", "use-context", "a", "b"], /^unexpected argument "b" for config use-context/],
    [["config", "get-contexts", "x"], /^unexpected argument "x" for config get-contexts/],
    [["config", "use-context", "my dev"], /^"my dev" is not a valid context name/],
    [["config", "get-contexts", "--url", "https://a:1"], /^--url does not apply to "config get-contexts"/],
    [["config", "use-context", "dev", "--cert", "x"], /^--cert does not apply to "config use-context"/],
    [["config", "set-context", "dev", "--url", "http://a:1"], /^--url must be an https:\/\/ URL/],
    [["config", "set-context", "dev", "--key="], /^--key must not be empty/],
    [["config", "get-contexts", "--context", "dev"], /^--context does not apply to "config"/],
    [["config", "get-contexts", "-o", "json"], /^--output does not apply to "config"/],
  ];
  for (const [argv, message] of cases) await t.step(argv.join(" "), () => usage(argv, message));
});
