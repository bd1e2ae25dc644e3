import assert from "node:assert/strict";
import { ConfigError, loadConfig, SETTINGS } from "../../../src/config/mod.ts";
import { OPERATIONS } from "../../../src/authz/mod.ts";

/** The smallest environment that loads: only the three TLS files are required. */
const BASE: Readonly<Record<string, string>> = {
  TLS_CERT_FILE: "/certs/tls.crt",
  TLS_KEY_FILE: "/certs/tls.key",
  TLS_CLIENT_CA_FILE: "/certs/ca.crt",
};

/** Asserts that loading throws a ConfigError whose `setting` and one-line message name `setting`. */
function assertRejects(setting: string, env: Record<string, string | undefined>, args: string[] = []): void {
  assert.throws(
    () => loadConfig(env, args),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
      assert.equal(error.setting, setting);
      assert.ok(error.message.startsWith(`${setting}: `), `message should name ${setting}: ${error.message}`);
      assert.ok(!error.message.includes("\n"), "message should be one line");
      return true;
    },
  );
}

Deno.test("loadConfig() applies the documented defaults when only the TLS files are set", () => {
  const config = loadConfig(BASE);
  assert.deepEqual({ ...config }, {
    listen: { hostname: "0.0.0.0", port: 8443 },
    probe: { hostname: "0.0.0.0", port: 8081 },
    tlsCertFile: "/certs/tls.crt",
    tlsKeyFile: "/certs/tls.key",
    tlsClientCaFile: "/certs/ca.crt",
    tlsClientCrlFiles: [],
    kubeconfig: undefined,
    kubeContext: undefined,
    inCluster: false,
    watchNamespaces: [],
    maxReplicas: 1000,
    operations: new Set(["scale"]),
    writeSyncTimeoutMs: 5_000,
    shutdownTimeoutMs: 10_000,
    cacheStaleAfterMs: 120_000,
    watchTimeoutMs: 60_000,
    kubeHeartbeat: { intervalMs: 5_000, timeoutMs: 3_000, unreachableAfterMs: 10_000 },
    logLevel: "info",
    accessLog: true,
    console: true,
    authzPolicyFile: undefined,
    rateLimitReads: { ratePerSecond: 100, burst: 200 },
    rateLimitWrites: { ratePerSecond: 5, burst: 20 },
    maxConcurrentRequests: 256,
    maxStreams: 128,
    maxStreamsPerClient: 10,
    watchHistory: 1000,
    listenerLimits: {
      handshakeTimeoutMs: 10_000,
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      idleTimeoutMs: 30_000,
      maxConnections: 1000,
      maxConnectionsPerSource: 100,
      handshakeRatePerSource: { ratePerSecond: 50, burst: 50 },
    },
    ldPreload: undefined,
  });
});

Deno.test("loadConfig() reads TLS_CLIENT_CRL_FILE as a comma-separated list of files and LD_PRELOAD as it is", () => {
  const config = loadConfig({ ...BASE, TLS_CLIENT_CRL_FILE: " /crl/a.crl, /crl/b.pem ,", LD_PRELOAD: "/usr/lib/libjemalloc.so.2" });
  assert.deepEqual(config.tlsClientCrlFiles, ["/crl/a.crl", "/crl/b.pem"]);
  assert.equal(config.ldPreload, "/usr/lib/libjemalloc.so.2");
});

Deno.test("loadConfig() reads every setting from the environment", () => {
  const config = loadConfig({
    ...BASE,
    LISTEN_ADDR: "127.0.0.1:9443",
    PROBE_ADDR: ":9081",
    KUBECONFIG: "/home/me/.kube/config",
    KUBE_CONTEXT: "kind-dev",
    WATCH_NAMESPACES: "team-a,team-b",
    MAX_REPLICAS: "50",
    WRITE_SYNC_TIMEOUT: "250ms",
    SHUTDOWN_TIMEOUT: "2m",
    CACHE_STALE_AFTER: "30",
    WATCH_TIMEOUT: "1.5s",
    LOG_LEVEL: "WARN",
    ACCESS_LOG: "off",
  });
  assert.deepEqual(config.listen, { hostname: "127.0.0.1", port: 9443 });
  assert.deepEqual(config.probe, { hostname: "0.0.0.0", port: 9081 });
  assert.equal(config.kubeconfig, "/home/me/.kube/config");
  assert.equal(config.kubeContext, "kind-dev");
  assert.deepEqual(config.watchNamespaces, ["team-a", "team-b"]);
  assert.equal(config.maxReplicas, 50);
  assert.equal(config.writeSyncTimeoutMs, 250);
  assert.equal(config.shutdownTimeoutMs, 120_000);
  assert.equal(config.cacheStaleAfterMs, 30_000);
  assert.equal(config.watchTimeoutMs, 1_500);
  assert.equal(config.logLevel, "warn");
  assert.equal(config.accessLog, false);
});

Deno.test("loadConfig() reads the heartbeat settings and checks them together", async (t) => {
  await t.step("set", () => {
    const config = loadConfig({ ...BASE, KUBE_HEARTBEAT_INTERVAL: "2s", KUBE_HEARTBEAT_TIMEOUT: "500ms", KUBE_UNREACHABLE_AFTER: "4s" });
    assert.deepEqual(config.kubeHeartbeat, { intervalMs: 2_000, timeoutMs: 500, unreachableAfterMs: 4_000 });
  });
  await t.step("off", () => {
    assert.equal(loadConfig({ ...BASE, KUBE_HEARTBEAT_INTERVAL: "off" }).kubeHeartbeat, null);
    assert.equal(loadConfig(BASE, ["--kube-heartbeat-interval=OFF"]).kubeHeartbeat, null);
  });
  await t.step("a bound that does not exceed interval + timeout is refused, naming KUBE_UNREACHABLE_AFTER", () => {
    assertRejects("KUBE_UNREACHABLE_AFTER", { ...BASE, KUBE_UNREACHABLE_AFTER: "8s" });
    assertRejects("KUBE_UNREACHABLE_AFTER", { ...BASE, KUBE_HEARTBEAT_INTERVAL: "20s" });
  });
  await t.step("malformed or out-of-range values name their setting", () => {
    assertRejects("KUBE_HEARTBEAT_INTERVAL", { ...BASE, KUBE_HEARTBEAT_INTERVAL: "often" });
    assertRejects("KUBE_HEARTBEAT_INTERVAL", { ...BASE, KUBE_HEARTBEAT_INTERVAL: "10ms" });
    assertRejects("KUBE_HEARTBEAT_TIMEOUT", { ...BASE, KUBE_HEARTBEAT_TIMEOUT: "-1s" });
    assertRejects("KUBE_UNREACHABLE_AFTER", { ...BASE, KUBE_UNREACHABLE_AFTER: "500ms" });
  });
});

Deno.test("loadConfig() treats blank environment values as unset and trims values", () => {
  const config = loadConfig({ ...BASE, LISTEN_ADDR: "   ", MAX_REPLICAS: " 7 ", KUBECONFIG: "" });
  assert.deepEqual(config.listen, { hostname: "0.0.0.0", port: 8443 });
  assert.equal(config.maxReplicas, 7);
  assert.equal(config.kubeconfig, undefined);
});

Deno.test("loadConfig() lets flags override environment variables", async (t) => {
  const env = { ...BASE, LISTEN_ADDR: "127.0.0.1:9000", MAX_REPLICAS: "10" };

  await t.step("--name=value", () => {
    const config = loadConfig(env, ["--listen-addr=127.0.0.1:9443", "--max-replicas=20"]);
    assert.deepEqual(config.listen, { hostname: "127.0.0.1", port: 9443 });
    assert.equal(config.maxReplicas, 20);
  });

  await t.step("--name value", () => {
    const config = loadConfig(env, ["--listen-addr", "127.0.0.1:9443", "--max-replicas", "20"]);
    assert.deepEqual(config.listen, { hostname: "127.0.0.1", port: 9443 });
    assert.equal(config.maxReplicas, 20);
  });

  await t.step("a flag supplies a required setting missing from the environment", () => {
    const config = loadConfig({ TLS_KEY_FILE: "/k", TLS_CLIENT_CA_FILE: "/ca" }, ["--tls-cert-file", "/c"]);
    assert.equal(config.tlsCertFile, "/c");
  });

  await t.step("only the first '=' separates the flag from its value", () => {
    const config = loadConfig(BASE, ["--kubeconfig=/tmp/a=b/config"]);
    assert.equal(config.kubeconfig, "/tmp/a=b/config");
  });

  await t.step("settings without a flag keep their environment value", () => {
    const config = loadConfig(env, ["--log-level=debug"]);
    assert.deepEqual(config.listen, { hostname: "127.0.0.1", port: 9000 });
    assert.equal(config.logLevel, "debug");
  });
});

Deno.test("loadConfig() accepts every documented address form", async (t) => {
  const cases: [string, { hostname: string; port: number }][] = [
    ["127.0.0.1:8443", { hostname: "127.0.0.1", port: 8443 }],
    ["localhost:8443", { hostname: "localhost", port: 8443 }],
    [":8443", { hostname: "0.0.0.0", port: 8443 }],
    ["[::1]:8443", { hostname: "::1", port: 8443 }],
    ["[::]:8443", { hostname: "::", port: 8443 }],
    ["0.0.0.0:65535", { hostname: "0.0.0.0", port: 65535 }],
    ["127.0.0.1:0", { hostname: "127.0.0.1", port: 0 }],
  ];
  for (const [raw, expected] of cases) {
    await t.step(raw, () => assert.deepEqual(loadConfig({ ...BASE, LISTEN_ADDR: raw }).listen, expected));
  }
});

Deno.test("loadConfig() allows LISTEN_ADDR and PROBE_ADDR to share port 0 (tests pick free ports)", () => {
  const config = loadConfig({ ...BASE, LISTEN_ADDR: "127.0.0.1:0", PROBE_ADDR: "127.0.0.1:0" });
  assert.equal(config.listen.port, 0);
  assert.equal(config.probe.port, 0);
});

Deno.test("loadConfig() throws a ConfigError naming the bad setting", async (t) => {
  const without = (name: string) => Object.fromEntries(Object.entries(BASE).filter(([k]) => k !== name));
  const cases: { name: string; setting: string; env: Record<string, string>; args?: string[] }[] = [
    { name: "missing TLS_CERT_FILE", setting: "TLS_CERT_FILE", env: without("TLS_CERT_FILE") },
    { name: "missing TLS_KEY_FILE", setting: "TLS_KEY_FILE", env: without("TLS_KEY_FILE") },
    { name: "missing TLS_CLIENT_CA_FILE", setting: "TLS_CLIENT_CA_FILE", env: without("TLS_CLIENT_CA_FILE") },
    { name: "blank TLS_CERT_FILE", setting: "TLS_CERT_FILE", env: { ...BASE, TLS_CERT_FILE: "  " } },
    { name: "LISTEN_ADDR without a port", setting: "LISTEN_ADDR", env: { ...BASE, LISTEN_ADDR: "localhost" } },
    { name: "LISTEN_ADDR that is only a port", setting: "LISTEN_ADDR", env: { ...BASE, LISTEN_ADDR: "8443" } },
    { name: "LISTEN_ADDR with an empty port", setting: "LISTEN_ADDR", env: { ...BASE, LISTEN_ADDR: "localhost:" } },
    { name: "LISTEN_ADDR with a named port", setting: "LISTEN_ADDR", env: { ...BASE, LISTEN_ADDR: "localhost:https" } },
    { name: "LISTEN_ADDR with an unbracketed IPv6 host", setting: "LISTEN_ADDR", env: { ...BASE, LISTEN_ADDR: "::1:8443" } },
    { name: "LISTEN_ADDR with a bracketed IPv6 host and no port", setting: "LISTEN_ADDR", env: { ...BASE, LISTEN_ADDR: "[::1]" } },
    { name: "LISTEN_ADDR with an underscore in the host", setting: "LISTEN_ADDR", env: { ...BASE, LISTEN_ADDR: "my_host:8443" } },
    { name: "LISTEN_ADDR with a scheme", setting: "LISTEN_ADDR", env: { ...BASE, LISTEN_ADDR: "https://localhost:8443" } },
    { name: "LISTEN_ADDR port above 65535", setting: "LISTEN_ADDR", env: { ...BASE, LISTEN_ADDR: "0.0.0.0:65536" } },
    { name: "LISTEN_ADDR port with six digits", setting: "LISTEN_ADDR", env: { ...BASE, LISTEN_ADDR: "0.0.0.0:100000" } },
    { name: "PROBE_ADDR port above 65535", setting: "PROBE_ADDR", env: { ...BASE, PROBE_ADDR: ":99999" } },
    { name: "PROBE_ADDR that is not host:port", setting: "PROBE_ADDR", env: { ...BASE, PROBE_ADDR: "probe" } },
    {
      name: "PROBE_ADDR equal to LISTEN_ADDR",
      setting: "PROBE_ADDR",
      env: { ...BASE, LISTEN_ADDR: "0.0.0.0:9000", PROBE_ADDR: "0.0.0.0:9000" },
    },
    {
      name: "PROBE_ADDR equal to LISTEN_ADDR via ':port'",
      setting: "PROBE_ADDR",
      env: { ...BASE, LISTEN_ADDR: ":9000", PROBE_ADDR: "0.0.0.0:9000" },
    },
    { name: "PROBE_ADDR equal to the default LISTEN_ADDR", setting: "PROBE_ADDR", env: { ...BASE, PROBE_ADDR: ":8443" } },
    { name: "non-numeric MAX_REPLICAS", setting: "MAX_REPLICAS", env: { ...BASE, MAX_REPLICAS: "abc" } },
    { name: "fractional MAX_REPLICAS", setting: "MAX_REPLICAS", env: { ...BASE, MAX_REPLICAS: "1.5" } },
    { name: "negative MAX_REPLICAS", setting: "MAX_REPLICAS", env: { ...BASE, MAX_REPLICAS: "-1" } },
    { name: "exponent MAX_REPLICAS", setting: "MAX_REPLICAS", env: { ...BASE, MAX_REPLICAS: "1e3" } },
    { name: "MAX_REPLICAS above 1000000", setting: "MAX_REPLICAS", env: { ...BASE, MAX_REPLICAS: "1000001" } },
    { name: "WRITE_SYNC_TIMEOUT with an unknown unit", setting: "WRITE_SYNC_TIMEOUT", env: { ...BASE, WRITE_SYNC_TIMEOUT: "5h" } },
    { name: "WRITE_SYNC_TIMEOUT that is not a number", setting: "WRITE_SYNC_TIMEOUT", env: { ...BASE, WRITE_SYNC_TIMEOUT: "soon" } },
    { name: "negative WRITE_SYNC_TIMEOUT", setting: "WRITE_SYNC_TIMEOUT", env: { ...BASE, WRITE_SYNC_TIMEOUT: "-1s" } },
    { name: "WRITE_SYNC_TIMEOUT above 60 s", setting: "WRITE_SYNC_TIMEOUT", env: { ...BASE, WRITE_SYNC_TIMEOUT: "61s" } },
    { name: "SHUTDOWN_TIMEOUT above 5 m", setting: "SHUTDOWN_TIMEOUT", env: { ...BASE, SHUTDOWN_TIMEOUT: "301s" } },
    { name: "CACHE_STALE_AFTER below 1 s", setting: "CACHE_STALE_AFTER", env: { ...BASE, CACHE_STALE_AFTER: "500ms" } },
    { name: "WATCH_TIMEOUT below 1 s", setting: "WATCH_TIMEOUT", env: { ...BASE, WATCH_TIMEOUT: "0" } },
    { name: "WATCH_TIMEOUT above 1 h", setting: "WATCH_TIMEOUT", env: { ...BASE, WATCH_TIMEOUT: "61m" } },
    { name: "WATCH_TIMEOUT with a space before the unit", setting: "WATCH_TIMEOUT", env: { ...BASE, WATCH_TIMEOUT: "60 s" } },
    { name: "unknown LOG_LEVEL", setting: "LOG_LEVEL", env: { ...BASE, LOG_LEVEL: "verbose" } },
    { name: "ACCESS_LOG that is not a boolean", setting: "ACCESS_LOG", env: { ...BASE, ACCESS_LOG: "maybe" } },
    { name: "upper-case namespace in WATCH_NAMESPACES", setting: "WATCH_NAMESPACES", env: { ...BASE, WATCH_NAMESPACES: "default,Prod" } },
    { name: "underscore in WATCH_NAMESPACES", setting: "WATCH_NAMESPACES", env: { ...BASE, WATCH_NAMESPACES: "team_a" } },
    { name: "dotted name in WATCH_NAMESPACES", setting: "WATCH_NAMESPACES", env: { ...BASE, WATCH_NAMESPACES: "team.a" } },
    { name: "64-character namespace in WATCH_NAMESPACES", setting: "WATCH_NAMESPACES", env: { ...BASE, WATCH_NAMESPACES: "a".repeat(64) } },
    { name: "MAX_CONNECTIONS_PER_SOURCE of 0", setting: "MAX_CONNECTIONS_PER_SOURCE", env: { ...BASE, MAX_CONNECTIONS_PER_SOURCE: "0" } },
    {
      name: "negative MAX_CONNECTIONS_PER_SOURCE",
      setting: "MAX_CONNECTIONS_PER_SOURCE",
      env: { ...BASE, MAX_CONNECTIONS_PER_SOURCE: "-5" },
    },
    {
      name: "MAX_CONNECTIONS_PER_SOURCE as a word",
      setting: "MAX_CONNECTIONS_PER_SOURCE",
      env: { ...BASE, MAX_CONNECTIONS_PER_SOURCE: "many" },
    },
    {
      name: "MAX_CONNECTIONS_PER_SOURCE above 1000000",
      setting: "MAX_CONNECTIONS_PER_SOURCE",
      env: { ...BASE, MAX_CONNECTIONS_PER_SOURCE: "1000001" },
    },
    {
      name: "HANDSHAKE_RATE_PER_SOURCE without a unit",
      setting: "HANDSHAKE_RATE_PER_SOURCE",
      env: { ...BASE, HANDSHAKE_RATE_PER_SOURCE: "50" },
    },
    { name: "HANDSHAKE_RATE_PER_SOURCE of 0/s", setting: "HANDSHAKE_RATE_PER_SOURCE", env: { ...BASE, HANDSHAKE_RATE_PER_SOURCE: "0/s" } },
    {
      name: "HANDSHAKE_RATE_PER_SOURCE with a zero burst",
      setting: "HANDSHAKE_RATE_PER_SOURCE",
      env: { ...BASE, HANDSHAKE_RATE_PER_SOURCE: "50/s,burst=0" },
    },
    { name: "bad value given by flag", setting: "MAX_REPLICAS", env: { ...BASE, MAX_REPLICAS: "5" }, args: ["--max-replicas=abc"] },
    { name: "unknown flag", setting: "--max-replica", env: BASE, args: ["--max-replica=5"] },
    { name: "positional argument", setting: "extra", env: BASE, args: ["extra"] },
    { name: "environment variable name used as a flag", setting: "--MAX_REPLICAS", env: BASE, args: ["--MAX_REPLICAS=5"] },
    { name: "flag without a value at the end", setting: "LISTEN_ADDR", env: BASE, args: ["--listen-addr"] },
  ];
  for (const c of cases) {
    await t.step(c.name, () => assertRejects(c.setting, c.env, c.args));
  }
});

Deno.test("loadConfig() rejects a flag given with an empty value instead of silently using the default", () => {
  // `--listen-addr=` is a flag without a value, like a trailing `--listen-addr`; falling back to the default
  // (and discarding LISTEN_ADDR from the environment) would start the service somewhere nobody asked for.
  assertRejects("LISTEN_ADDR", { ...BASE, LISTEN_ADDR: "127.0.0.1:9000" }, ["--listen-addr="]);
});

Deno.test("loadConfig() rejects PROBE_ADDR on the LISTEN_ADDR port when either binds all interfaces", () => {
  // 0.0.0.0:8443 and 127.0.0.1:8443 cannot both be bound (EADDRINUSE), so this must fail as a setting, not at start.
  assertRejects("PROBE_ADDR", { ...BASE, LISTEN_ADDR: "0.0.0.0:8443", PROBE_ADDR: "127.0.0.1:8443" });
});

Deno.test("loadConfig() returns a frozen object", () => {
  const config = loadConfig({ ...BASE, WATCH_NAMESPACES: "a" });
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.listen));
  assert.ok(Object.isFrozen(config.probe));
  assert.ok(Object.isFrozen(config.watchNamespaces));
  assert.throws(() => {
    (config as { maxReplicas: number }).maxReplicas = 5;
  }, TypeError);
  assert.throws(() => {
    (config.watchNamespaces as string[]).push("b");
  }, TypeError);
  assert.throws(() => {
    (config.listen as { port: number }).port = 1;
  }, TypeError);
  assert.throws(() => (config.operations as Set<string>).add("image"), TypeError, "enabling an operation takes a restart");
  assert.throws(() => (config.operations as Set<string>).clear(), TypeError);
  assert.deepEqual([...config.operations], ["scale"]);
});

Deno.test("loadConfig() reads OPERATIONS as the set of enabled operations, in their one order", async (t) => {
  const cases: [string | undefined, string[]][] = [
    [undefined, ["scale"]],
    ["", ["scale"]],
    ["scale", ["scale"]],
    ["none", []],
    [" NONE ", []],
    ["undo,scale", ["scale", "undo"]],
    ["image, pause ,restart,undo,scale", ["scale", "restart", "pause", "undo", "image"]],
    ["Restart", ["restart"]],
  ];
  for (const [value, expected] of cases) {
    await t.step(value === undefined ? "unset" : JSON.stringify(value), () => {
      assert.deepEqual([...loadConfig({ ...BASE, OPERATIONS: value }).operations], expected);
    });
  }
  await t.step("--operations overrides the variable", () => {
    assert.deepEqual([...loadConfig({ ...BASE, OPERATIONS: "none" }, ["--operations=restart,pause"]).operations], ["restart", "pause"]);
  });
});

Deno.test("loadConfig() refuses an OPERATIONS that names anything but known operations, each once", async (t) => {
  const refused = (value: string) => {
    try {
      loadConfig({ ...BASE, OPERATIONS: value });
    } catch (error) {
      assert.ok(error instanceof ConfigError, String(error));
      assert.equal(error.setting, "OPERATIONS");
      assert.ok(!error.message.includes("\n"), "one line");
      return error.message;
    }
    assert.fail(`OPERATIONS=${value} was accepted`);
  };
  const known = "known operations: scale, restart, pause, undo, image; or none for a read-only server";
  await t.step("unknown name", () => assert.equal(refused("scale,rollback"), `OPERATIONS: unknown operation "rollback"; ${known}`));
  await t.step(
    "resume (pause covers it)",
    () => assert.match(refused("pause,resume"), /unknown operation "resume" \(pause covers pause and resume\)/),
  );
  await t.step("read is not an operation", () => assert.match(refused("read"), /unknown operation "read"/));
  await t.step("duplicate", () => assert.equal(refused("scale,undo,Scale"), `OPERATIONS: "scale" is named twice`));
  await t.step("empty item", () => assert.equal(refused("scale,,undo"), `OPERATIONS: "scale,,undo" has an empty item; ${known}`));
  await t.step("trailing comma", () => assert.match(refused("scale,"), /has an empty item/));
  await t.step("none with others", () => assert.match(refused("none,scale"), /none means no operation at all, so it stands alone/));
  await t.step("a flag is checked the same way", () => assertRejects("OPERATIONS", BASE, ["--operations=scale;undo"]));
});

Deno.test("the OPERATIONS help names every operation there is", () => {
  for (const operation of OPERATIONS) assert.match(SETTINGS.OPERATIONS.help, new RegExp(`\\b${operation}\\b`), operation);
});

Deno.test("loadConfig() parses WATCH_NAMESPACES as a trimmed, de-duplicated list", async (t) => {
  const cases: [string | undefined, string[]][] = [
    [undefined, []],
    ["", []],
    [" , ,", []],
    ["default", ["default"]],
    [" team-a , team-b,,team-a ", ["team-a", "team-b"]],
    ["b,a,b,a", ["b", "a"]],
  ];
  for (const [raw, expected] of cases) {
    await t.step(raw === undefined ? "(unset)" : JSON.stringify(raw), () => {
      assert.deepEqual(loadConfig({ ...BASE, WATCH_NAMESPACES: raw }).watchNamespaces, expected);
    });
  }
});

Deno.test("loadConfig() sets inCluster from KUBERNETES_SERVICE_HOST", async (t) => {
  await t.step("set", () => assert.equal(loadConfig({ ...BASE, KUBERNETES_SERVICE_HOST: "10.96.0.1" }).inCluster, true));
  await t.step("empty", () => assert.equal(loadConfig({ ...BASE, KUBERNETES_SERVICE_HOST: "" }).inCluster, false));
  await t.step("absent", () => assert.equal(loadConfig(BASE).inCluster, false));
});

Deno.test("loadConfig() accepts every documented boolean spelling for ACCESS_LOG", async (t) => {
  for (
    const [raw, expected] of [["1", true], ["TRUE", true], ["yes", true], ["on", true], ["0", false], ["False", false], ["no", false], [
      "off",
      false,
    ]] as const
  ) {
    await t.step(raw, () => assert.equal(loadConfig({ ...BASE, ACCESS_LOG: raw }).accessLog, expected));
  }
});

Deno.test("loadConfig() accepts every documented duration form", async (t) => {
  for (const [raw, ms] of [["250ms", 250], ["5s", 5_000], ["2m", 120_000], ["7", 7_000], ["1.5s", 1_500], ["0", 0]] as const) {
    await t.step(raw, () => assert.equal(loadConfig({ ...BASE, SHUTDOWN_TIMEOUT: raw }).shutdownTimeoutMs, ms));
  }
});

Deno.test("loadConfig() reads the per-source connection limits, and off switches each one off", async (t) => {
  await t.step("values from the environment", () => {
    const { listenerLimits } = loadConfig({ ...BASE, MAX_CONNECTIONS_PER_SOURCE: "20", HANDSHAKE_RATE_PER_SOURCE: "600/m,burst=30" });
    assert.equal(listenerLimits.maxConnectionsPerSource, 20);
    assert.deepEqual(listenerLimits.handshakeRatePerSource, { ratePerSecond: 10, burst: 30 });
  });
  await t.step("off", () => {
    const { listenerLimits } = loadConfig({ ...BASE, MAX_CONNECTIONS_PER_SOURCE: "off", HANDSHAKE_RATE_PER_SOURCE: "OFF" });
    assert.equal(listenerLimits.maxConnectionsPerSource, null);
    assert.equal(listenerLimits.handshakeRatePerSource, null);
  });
  await t.step("flags override the environment", () => {
    const { listenerLimits } = loadConfig(
      { ...BASE, MAX_CONNECTIONS_PER_SOURCE: "off" },
      ["--max-connections-per-source", "7", "--handshake-rate-per-source=5/s"],
    );
    assert.equal(listenerLimits.maxConnectionsPerSource, 7);
    assert.deepEqual(listenerLimits.handshakeRatePerSource, { ratePerSecond: 5, burst: 5 });
  });
  await t.step("the errors say what is wrong and what to use instead", () => {
    assert.throws(() => loadConfig({ ...BASE, MAX_CONNECTIONS_PER_SOURCE: "0" }), /MAX_CONNECTIONS_PER_SOURCE: .*use off/);
    assert.throws(() => loadConfig({ ...BASE, HANDSHAKE_RATE_PER_SOURCE: "fast" }), /HANDSHAKE_RATE_PER_SOURCE: .*<count>\/s/);
  });
});

Deno.test("loadConfig() refuses MAX_STREAMS at or above MAX_CONCURRENT_REQUESTS: streams must leave slots for other requests", () => {
  assert.throws(() => loadConfig({ ...BASE, MAX_CONCURRENT_REQUESTS: "64", MAX_STREAMS: "64" }), (error: Error) => {
    assert.match(error.message, /^MAX_STREAMS: 64 must be below MAX_CONCURRENT_REQUESTS \(64\)/);
    return true;
  });
  const config = loadConfig({
    ...BASE,
    MAX_CONCURRENT_REQUESTS: "64",
    MAX_STREAMS: "63",
    MAX_STREAMS_PER_CLIENT: "2",
    WATCH_HISTORY: "50",
  });
  assert.equal(config.maxStreams, 63);
  assert.equal(config.maxStreamsPerClient, 2);
  assert.equal(config.watchHistory, 50);
  assert.throws(() => loadConfig({ ...BASE, MAX_STREAMS_PER_CLIENT: "0" }), /MAX_STREAMS_PER_CLIENT/);
});
