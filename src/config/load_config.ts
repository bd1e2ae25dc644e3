/**
 * The service's configuration: read once at start from environment variables,
 * each overridable by a command-line flag, validated, and frozen. This is the
 * only module that knows the setting names; nothing else reads the environment.
 */
import { ConfigError } from "./config_error.ts";
import { flagName, type SettingName, SETTINGS } from "./settings.ts";
import { type ListenAddress, parseAddress, parseBoolean, parseDuration, parseInteger, parseLimit } from "./parse.ts";
import { isLogLevel, type LogLevel } from "../observability/mod.ts";
import { isDns1123Label } from "../kube/mod.ts";
import { type ListenerLimits, parseRateSpec, type RateSpec } from "../limits/mod.ts";
import { isOperation, type Operation, OPERATIONS } from "../authz/mod.ts";

export interface Config {
  readonly listen: ListenAddress;
  readonly probe: ListenAddress;
  readonly tlsCertFile: string;
  readonly tlsKeyFile: string;
  readonly tlsClientCaFile: string;
  /** CRL files (TLS_CLIENT_CRL_FILE), in order; empty = no revocation list. */
  readonly tlsClientCrlFiles: readonly string[];
  /** Path to a kubeconfig; undefined = in-cluster config when available, else the default locations. */
  readonly kubeconfig?: string;
  readonly kubeContext?: string;
  /** Running in a Pod (KUBERNETES_SERVICE_HOST is set): use the ServiceAccount when no kubeconfig is given. */
  readonly inCluster: boolean;
  /** Empty = all namespaces. */
  readonly watchNamespaces: readonly string[];
  readonly maxReplicas: number;
  /**
   * The operations this server does (OPERATIONS), iterated in the order of {@link OPERATIONS} whatever order the
   * setting named them in; empty = read-only. The policy still decides who may do them where.
   */
  readonly operations: ReadonlySet<Operation>;
  readonly writeSyncTimeoutMs: number;
  readonly shutdownTimeoutMs: number;
  /** No contact with the API server for this long makes the cache stale (readiness 503). */
  readonly cacheStaleAfterMs: number;
  /** Server-side watch timeout; each expiry is a reconnect, which doubles as a liveness check. */
  readonly watchTimeoutMs: number;
  /**
   * GET /version to the API server every intervalMs (timeoutMs each); nothing heard from it for
   * unreachableAfterMs makes the cache stale and restarts the watches. null: off (KUBE_HEARTBEAT_INTERVAL=off).
   */
  readonly kubeHeartbeat: { readonly intervalMs: number; readonly timeoutMs: number; readonly unreachableAfterMs: number } | null;
  readonly logLevel: LogLevel;
  readonly accessLog: boolean;
  /** Serve the browser console (src/console/) at `/`. */
  readonly console: boolean;
  /** Authorization policy file; undefined = every authenticated client may read and do every enabled operation everywhere. */
  readonly authzPolicyFile?: string;
  /** Per client certificate; null = no limit. */
  readonly rateLimitReads: RateSpec | null;
  readonly rateLimitWrites: RateSpec | null;
  readonly maxConcurrentRequests: number;
  /** Watch streams and rollout waits open at once, in all (below maxConcurrentRequests) and per client certificate. */
  readonly maxStreams: number;
  readonly maxStreamsPerClient: number;
  /** Change events kept so a watch stream can resume with Last-Event-ID. */
  readonly watchHistory: number;
  readonly listenerLimits: ListenerLimits;
  /**
   * The process's LD_PRELOAD, not a setting of ours: it says which allocator runs (jemalloc or glibc), which the
   * start line reports because RSS after load depends on it.
   */
  readonly ldPreload?: string;
}

/** Flags override environment variables. Accepts `--name=value` and `--name value`. */
function parseArgs(args: readonly string[]): Map<SettingName, string> {
  const byFlag = new Map<string, SettingName>(
    (Object.keys(SETTINGS) as SettingName[]).map((name) => [flagName(name), name]),
  );
  const out = new Map<SettingName, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf("=");
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const setting = byFlag.get(flag);
    if (!setting) throw new ConfigError(flag, `unknown flag (see --help)`);
    let value: string | undefined = eq === -1 ? args[++i] : arg.slice(eq + 1);
    // "--a --b=1" must not read "--b=1" as the value of --a; an empty value would silently mean "default".
    if (value === undefined || (eq === -1 && value.startsWith("--"))) throw new ConfigError(setting, `${flag} needs a value`);
    value = value.trim();
    if (value === "") throw new ConfigError(setting, `${flag} needs a non-empty value`);
    out.set(setting, value);
  }
  return out;
}

/**
 * Builds the validated configuration. Pure: the environment and arguments are
 * passed in. Throws ConfigError naming the first bad setting.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>, args: readonly string[] = []): Config {
  const flags = parseArgs(args);
  const raw = (name: SettingName): string | undefined => {
    const value = flags.get(name) ?? env[name];
    if (value !== undefined && value.trim() !== "") return value.trim();
    return SETTINGS[name].default;
  };
  const required = (name: SettingName): string => {
    const value = raw(name);
    if (value === undefined) throw new ConfigError(name, `is required (environment variable ${name} or flag ${flagName(name)})`);
    return value;
  };

  const watchNamespaces = (raw("WATCH_NAMESPACES") ?? "")
    .split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const ns of watchNamespaces) {
    if (!isDns1123Label(ns)) throw new ConfigError("WATCH_NAMESPACES", `"${ns}" is not a valid namespace name`);
  }

  const logLevel = raw("LOG_LEVEL")!.toLowerCase();
  if (!isLogLevel(logLevel)) throw new ConfigError("LOG_LEVEL", `"${logLevel}" is not one of debug, info, warn, error`);

  const listen = parseAddress("LISTEN_ADDR", raw("LISTEN_ADDR")!);
  const probe = parseAddress("PROBE_ADDR", raw("PROBE_ADDR")!);
  const wildcard = (host: string) => host === "0.0.0.0" || host === "::";
  const overlap = listen.hostname === probe.hostname || wildcard(listen.hostname) || wildcard(probe.hostname);
  if (listen.port !== 0 && listen.port === probe.port && overlap) {
    throw new ConfigError("PROBE_ADDR", `must differ from LISTEN_ADDR (${listen.hostname}:${listen.port})`);
  }

  const rate = (name: "RATE_LIMIT_READS" | "RATE_LIMIT_WRITES" | "HANDSHAKE_RATE_PER_SOURCE") => {
    try {
      return parseRateSpec(raw(name)!);
    } catch (error) {
      throw new ConfigError(name, (error as Error).message);
    }
  };
  const headersTimeoutMs = parseDuration("HEADERS_TIMEOUT", raw("HEADERS_TIMEOUT")!, { minMs: 100, maxMs: 300_000 });
  const requestTimeoutMs = parseDuration("REQUEST_TIMEOUT", raw("REQUEST_TIMEOUT")!, { minMs: 100, maxMs: 600_000 });
  if (requestTimeoutMs < headersTimeoutMs) {
    throw new ConfigError("REQUEST_TIMEOUT", `must be at least HEADERS_TIMEOUT (${headersTimeoutMs} ms)`);
  }
  const listenerLimits: ListenerLimits = Object.freeze({
    handshakeTimeoutMs: parseDuration("HANDSHAKE_TIMEOUT", raw("HANDSHAKE_TIMEOUT")!, { minMs: 100, maxMs: 120_000 }),
    headersTimeoutMs,
    requestTimeoutMs,
    idleTimeoutMs: parseDuration("IDLE_TIMEOUT", raw("IDLE_TIMEOUT")!, { minMs: 100, maxMs: 3_600_000 }),
    maxConnections: parseInteger("MAX_CONNECTIONS", raw("MAX_CONNECTIONS")!, 1, 1_000_000),
    maxConnectionsPerSource: parseLimit("MAX_CONNECTIONS_PER_SOURCE", raw("MAX_CONNECTIONS_PER_SOURCE")!, 1, 1_000_000),
    handshakeRatePerSource: rate("HANDSHAKE_RATE_PER_SOURCE"),
  });

  const maxConcurrentRequests = parseInteger("MAX_CONCURRENT_REQUESTS", raw("MAX_CONCURRENT_REQUESTS")!, 1, 100_000);
  const maxStreams = parseInteger("MAX_STREAMS", raw("MAX_STREAMS")!, 1, 100_000);
  // Streams hold a request slot each: at least one must stay free for ordinary requests (health, reads, writes).
  if (maxStreams >= maxConcurrentRequests) {
    throw new ConfigError("MAX_STREAMS", `${maxStreams} must be below MAX_CONCURRENT_REQUESTS (${maxConcurrentRequests})`);
  }

  return Object.freeze({
    kubeHeartbeat: kubeHeartbeat(raw),
    listen,
    probe,
    tlsCertFile: required("TLS_CERT_FILE"),
    tlsKeyFile: required("TLS_KEY_FILE"),
    tlsClientCaFile: required("TLS_CLIENT_CA_FILE"),
    tlsClientCrlFiles: Object.freeze((raw("TLS_CLIENT_CRL_FILE") ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")),
    kubeconfig: raw("KUBECONFIG"),
    kubeContext: raw("KUBE_CONTEXT"),
    inCluster: Boolean(env.KUBERNETES_SERVICE_HOST),
    watchNamespaces: Object.freeze([...new Set(watchNamespaces)]),
    maxReplicas: parseInteger("MAX_REPLICAS", raw("MAX_REPLICAS")!, 0, 1_000_000),
    operations: parseOperations(raw("OPERATIONS")!),
    writeSyncTimeoutMs: parseDuration("WRITE_SYNC_TIMEOUT", raw("WRITE_SYNC_TIMEOUT")!, { maxMs: 60_000 }),
    shutdownTimeoutMs: parseDuration("SHUTDOWN_TIMEOUT", raw("SHUTDOWN_TIMEOUT")!, { maxMs: 300_000 }),
    cacheStaleAfterMs: parseDuration("CACHE_STALE_AFTER", raw("CACHE_STALE_AFTER")!, { minMs: 1_000, maxMs: 86_400_000 }),
    watchTimeoutMs: parseDuration("WATCH_TIMEOUT", raw("WATCH_TIMEOUT")!, { minMs: 1_000, maxMs: 3_600_000 }),
    logLevel,
    accessLog: parseBoolean("ACCESS_LOG", raw("ACCESS_LOG")!),
    console: parseBoolean("CONSOLE", raw("CONSOLE")!),
    authzPolicyFile: raw("AUTHZ_POLICY_FILE"),
    rateLimitReads: rate("RATE_LIMIT_READS"),
    rateLimitWrites: rate("RATE_LIMIT_WRITES"),
    maxConcurrentRequests,
    maxStreams,
    maxStreamsPerClient: parseInteger("MAX_STREAMS_PER_CLIENT", raw("MAX_STREAMS_PER_CLIENT")!, 1, 100_000),
    watchHistory: parseInteger("WATCH_HISTORY", raw("WATCH_HISTORY")!, 1, 1_000_000),
    listenerLimits,
    ldPreload: env.LD_PRELOAD,
  });
}

/**
 * OPERATIONS: a comma-separated list of operations, or `none`. Strict, because it switches on writes to the
 * cluster: an unknown name, a repeated one or an empty item is a typo that must not start a server doing less, or
 * more, than its operator meant.
 */
function parseOperations(value: string): ReadonlySet<Operation> {
  const known = `known operations: ${OPERATIONS.join(", ")}; or none for a read-only server`;
  const items = value.split(",").map((item) => item.trim().toLowerCase());
  if (items.length === 1 && items[0] === "none") return frozenSet<Operation>([]);
  const named = new Set<Operation>();
  for (const item of items) {
    if (item === "") throw new ConfigError("OPERATIONS", `"${value}" has an empty item; ${known}`);
    if (item === "none") throw new ConfigError("OPERATIONS", `none means no operation at all, so it stands alone; ${known}`);
    if (!isOperation(item)) {
      const hint = item === "resume" ? " (pause covers pause and resume)" : "";
      throw new ConfigError("OPERATIONS", `unknown operation "${item}"${hint}; ${known}`);
    }
    if (named.has(item)) throw new ConfigError("OPERATIONS", `"${item}" is named twice`);
    named.add(item);
  }
  return frozenSet(OPERATIONS.filter((operation) => named.has(operation)));
}

/** A Set that refuses changes, as the rest of the configuration does (Object.freeze alone leaves add() working). */
function frozenSet<T>(items: readonly T[]): ReadonlySet<T> {
  const set = new Set(items);
  const refuse = () => {
    throw new TypeError("the configuration is frozen");
  };
  for (const method of ["add", "delete", "clear"]) Object.defineProperty(set, method, { value: refuse });
  return Object.freeze(set);
}

/** The heartbeat settings, checked together: the bound must leave room for one full probe cycle. */
function kubeHeartbeat(raw: (name: SettingName) => string | undefined): Config["kubeHeartbeat"] {
  const interval = raw("KUBE_HEARTBEAT_INTERVAL")!;
  if (interval.toLowerCase() === "off") return null;
  const intervalMs = parseDuration("KUBE_HEARTBEAT_INTERVAL", interval, { minMs: 100, maxMs: 300_000 });
  const timeoutMs = parseDuration("KUBE_HEARTBEAT_TIMEOUT", raw("KUBE_HEARTBEAT_TIMEOUT")!, { minMs: 100, maxMs: 300_000 });
  const unreachableAfterMs = parseDuration("KUBE_UNREACHABLE_AFTER", raw("KUBE_UNREACHABLE_AFTER")!, { minMs: 1_000, maxMs: 3_600_000 });
  // Healthy answers can be interval + timeout apart (a slow answer, then the pause): a shorter bound would flap.
  if (unreachableAfterMs <= intervalMs + timeoutMs) {
    throw new ConfigError(
      "KUBE_UNREACHABLE_AFTER",
      `must exceed KUBE_HEARTBEAT_INTERVAL + KUBE_HEARTBEAT_TIMEOUT (${
        intervalMs + timeoutMs
      } ms), or answers in time would still count as silence`,
    );
  }
  return Object.freeze({ intervalMs, timeoutMs, unreachableAfterMs });
}
