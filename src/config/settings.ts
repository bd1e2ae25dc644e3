/**
 * Every setting the service reads, as data: its environment name, the flag derived from it, its default and a
 * one-line description. Pure, so tools that check the chart or the docs against it load nothing else.
 */

/** Every setting: environment name, flag name (derived), default, and a one-line description for --help. */
export const SETTINGS = {
  LISTEN_ADDR: { default: "0.0.0.0:8443", help: "mTLS API listener (host:port)" },
  PROBE_ADDR: { default: "0.0.0.0:8081", help: "plain-HTTP probe listener for /livez and /readyz" },
  TLS_CERT_FILE: { default: undefined, help: "server certificate (PEM), required" },
  TLS_KEY_FILE: { default: undefined, help: "server private key (PEM), required" },
  TLS_CLIENT_CA_FILE: { default: undefined, help: "CA bundle that client certificates must chain to (PEM), required" },
  TLS_CLIENT_CRL_FILE: {
    default: undefined,
    help: "certificate revocation lists of the client CA (PEM or DER), comma-separated; watched and reloaded like the certificates",
  },
  KUBECONFIG: { default: undefined, help: "kubeconfig path; unset = in-cluster config, else ~/.kube/config" },
  KUBE_CONTEXT: { default: undefined, help: "kubeconfig context to use; unset = current context" },
  WATCH_NAMESPACES: { default: "", help: "comma-separated namespaces to serve; empty = all" },
  MAX_REPLICAS: { default: "1000", help: "largest replica count a PUT may set" },
  OPERATIONS: {
    default: "scale",
    help: "operations this server does, comma-separated: scale, restart, pause (and resume), undo, image; or none (read-only)",
  },
  WRITE_SYNC_TIMEOUT: { default: "5s", help: "how long a PUT waits for the cache to observe its write before answering 202" },
  SHUTDOWN_TIMEOUT: { default: "10s", help: "how long in-flight requests may run after SIGTERM" },
  CACHE_STALE_AFTER: { default: "120s", help: "no contact with the API server for this long marks the cache stale" },
  WATCH_TIMEOUT: { default: "60s", help: "server-side timeout of each watch request (periodic reconnect)" },
  KUBE_HEARTBEAT_INTERVAL: {
    default: "5s",
    help: "pause between heartbeat requests (GET /version) to the API server, which detect a silent network partition; or off",
  },
  KUBE_HEARTBEAT_TIMEOUT: { default: "3s", help: "a heartbeat request without an answer after this long has failed" },
  KUBE_UNREACHABLE_AFTER: {
    default: "10s",
    help: "nothing heard from the API server for this long: reads stale, readiness 503, watches restarted (> interval + timeout)",
  },
  LOG_LEVEL: { default: "info", help: "debug, info, warn or error" },
  CONSOLE: { default: "true", help: "serve the browser console at / on the mTLS listener (true or false; the API is unaffected)" },
  ACCESS_LOG: { default: "true", help: "one log line per request (switch off for benchmarks)" },
  AUTHZ_POLICY_FILE: { default: undefined, help: "authorization policy (JSON); unset = every authenticated client may do everything" },
  RATE_LIMIT_READS: { default: "100/s,burst=200", help: "GET/HEAD per client certificate: <n>/s|m|h[,burst=<n>] or off" },
  RATE_LIMIT_WRITES: { default: "5/s,burst=20", help: "PUT per client certificate: <n>/s|m|h[,burst=<n>] or off" },
  MAX_CONCURRENT_REQUESTS: { default: "256", help: "requests in progress at most; more are answered 503" },
  MAX_STREAMS: {
    default: "128",
    help: "watch streams and rollout waits open at once, at most (each holds a request slot; below MAX_CONCURRENT_REQUESTS)",
  },
  MAX_STREAMS_PER_CLIENT: { default: "10", help: "watch streams and rollout waits per client certificate, at most; more are answered 429" },
  WATCH_HISTORY: { default: "1000", help: "changes kept so a watch stream can resume with Last-Event-ID (older ids get 410)" },
  MAX_CONNECTIONS: { default: "1000", help: "open connections on the mTLS listener at most, handshakes included" },
  MAX_CONNECTIONS_PER_SOURCE: {
    default: "100",
    help: "open connections from one source address (IPv4 address or IPv6 /64) at most, or off",
  },
  HANDSHAKE_RATE_PER_SOURCE: {
    default: "50/s",
    help: "new connections per source address, refused before the TLS handshake: <n>/s|m|h[,burst=<n>] or off",
  },
  HANDSHAKE_TIMEOUT: { default: "10s", help: "time a client has to complete the TLS handshake" },
  HEADERS_TIMEOUT: { default: "10s", help: "time a client has to send request line and headers (also: first request)" },
  REQUEST_TIMEOUT: { default: "30s", help: "time a client has to send a whole request, body included" },
  IDLE_TIMEOUT: { default: "30s", help: "idle keep-alive connections are closed after this (plus about 1 s)" },
} as const satisfies Record<string, { default: string | undefined; help: string }>;

export type SettingName = keyof typeof SETTINGS;

/** LISTEN_ADDR -> --listen-addr */
export function flagName(setting: string): string {
  return "--" + setting.toLowerCase().replaceAll("_", "-");
}

/** Text for --help: every setting with its flag and default. */
export function usage(): string {
  const lines = ["replica-api: Kubernetes Deployment replicas over mTLS", "", "Settings (environment variable / flag, default):"];
  const width = Math.max(...Object.keys(SETTINGS).map((name) => name.length));
  for (const [name, s] of Object.entries(SETTINGS)) {
    lines.push(
      `  ${name.padEnd(width)} ${flagName(name).padEnd(width + 2)} ${s.help}${
        s.default !== undefined && s.default !== "" ? ` (default ${s.default})` : ""
      }`,
    );
  }
  return lines.join("\n");
}
