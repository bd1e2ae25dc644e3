/**
 * Every metric the service exposes, declared in one place so the README's
 * metrics table and /metrics cannot drift apart silently. Label values are
 * bounded: routes are route names, statuses are numbers, identities are
 * client certificate CNs (one per issued certificate).
 */
import { type Counter, type CounterChild, type Gauge, type GaugeChild, type Histogram, type HistogramChild, Registry } from "./metrics.ts";
import { VERSION } from "../version.ts";

/** The kinds of long-lived request: watch streams and rollout waits. */
export type LongRequestKind = "watch" | "wait";

/** Why a long-lived request ended, for metrics. */
export type LongRequestEnd = "completed" | "timeout" | "client_closed" | "slow_consumer" | "budget" | "shutdown" | "forbidden" | "error";

/** Hooks the long-lived requests report through. */
export interface StreamMetrics {
  opened(kind: LongRequestKind): void;
  closed(kind: LongRequestKind, reason: LongRequestEnd): void;
  refused(reason: string): void;
}

/** What the cache gauges read at scrape time; the cache's own status has these fields. */
export interface CacheGaugeSource {
  readonly deployments: number;
  readonly synced: boolean;
  readonly connected: boolean;
  /** Epoch milliseconds of the last word from the API server, if any. */
  readonly lastContactAt?: number;
}

/** One configured CRL as the gauges see it. */
export interface CrlGaugeSource {
  readonly file: string;
  /** Epoch ms of the list's nextUpdate; undefined when it has none or none was ever loaded. */
  readonly nextUpdateMs?: number;
  readonly revoked: number;
  /** Whether the list in force for this file came from its current content (false: the file was refused). */
  readonly current: boolean;
}

/** Remaining life of client certificates, in seconds: an hour up to a year. */
const EXPIRY_BUCKETS = [3600, 6 * 3600, 86_400, 2 * 86_400, 7 * 86_400, 14 * 86_400, 30 * 86_400, 90 * 86_400, 365 * 86_400];

export interface ServiceMetrics {
  readonly registry: Registry;
  /** HTTP pipeline hooks (see http/app.ts). */
  readonly http: HttpMetrics;
  tlsFailure(reason: string): void;
  /** A connection closed right after accept by a per-source limit, before any TLS work. */
  connectionRefused(reason: string): void;
  informer(informer: string): InformerMetrics;
  kubeRequest(verb: string, status: string, seconds: number): void;
  authzDenied(identity: string, permission: string): void;
  rateLimited(identity: string, kind: string): void;
  /** A state-changing request a browser sent on another origin's behalf, refused (http/cross_origin.ts), by why. */
  crossOriginRefused(reason: string): void;
  /** A "who scaled" Kubernetes Event: recorded, failed or dropped (too many in flight). */
  scaleEvent(outcome: string): void;
  /** Watch streams and rollout waits: opened, closed (with why), refused by the stream limits. */
  readonly streams: StreamMetrics;
  /** A changed policy file: put in force ("reloaded") or refused, the last good one staying ("invalid"). */
  policyReload(outcome: "reloaded" | "invalid"): void;
  /** A changed revocation list: put in force, or refused (the last good list stays). */
  crlReload(outcome: "reloaded" | "invalid"): void;
  /** A connection closed or refused because its client certificate is revoked (at the handshake or later). */
  revokedConnection(when: "handshake" | "open"): void;
  /** The remaining life, in seconds, of a client certificate seen on a new connection (negative: expired). */
  clientCertificateSeen(remainingSeconds: number): void;
  /** Registers the server certificate's expiry gauge, read at scrape time (epoch ms of its notAfter). */
  serverCertificate(notAfterMs: () => number | undefined): void;
  /** Registers the revocation-list gauges, read at scrape time. */
  revocationLists(status: () => readonly CrlGaugeSource[]): void;
  /** Registers the cache gauges, read at scrape time (the cache is built after the metrics). */
  watchCache(status: () => CacheGaugeSource): void;
}

export interface HttpMetrics {
  started(listener: string): void;
  finished(listener: string, route: string, method: string, status: number, seconds: number): void;
}

export interface InformerMetrics {
  event(type: string): void;
  relist(): void;
  gone(): void;
  restart(): void;
}

export function createServiceMetrics(options: { now?: () => number } = {}): ServiceMetrics {
  const now = options.now ?? Date.now;
  const r = new Registry();
  const requests = r.counter("replica_api_http_requests_total", "HTTP requests answered, by listener, route, method and status.", [
    "listener",
    "route",
    "method",
    "status",
  ]);
  const duration = r.histogram("replica_api_http_request_duration_seconds", "Time from request to response, by listener and route.", [
    "listener",
    "route",
  ]);
  const inFlight = r.gauge("replica_api_http_requests_in_flight", "Requests being handled right now, by listener.", ["listener"]);
  const tls = r.counter("replica_api_tls_handshake_failures_total", "Refused or failed TLS handshakes on the mTLS listener, by reason.", [
    "reason",
  ]);
  const refused = r.counter(
    "replica_api_connections_refused_total",
    "Connections to the mTLS listener closed right after accept by a per-source limit, before the TLS handshake, by reason.",
    ["reason"],
  );
  const events = r.counter("replica_api_informer_events_total", "Watch events received, by informer and event type.", ["informer", "type"]);
  const relists = r.counter("replica_api_informer_lists_total", "Full LISTs made by an informer (start, restart after failure, 410).", [
    "informer",
  ]);
  const gone = r.counter("replica_api_informer_gone_total", "Watches that expired with 410 Gone and forced a relist.", ["informer"]);
  const restarts = r.counter("replica_api_informer_restarts_total", "Failed list/watch cycles restarted with backoff.", ["informer"]);
  const kubeRequests = r.counter(
    "replica_api_kube_requests_total",
    "Requests the service made to the Kubernetes API, by verb and status.",
    [
      "verb",
      "status",
    ],
  );
  const kubeDuration = r.histogram("replica_api_kube_request_duration_seconds", "Latency of Kubernetes API requests, by verb.", ["verb"]);
  const denied = r.counter("replica_api_authz_denied_total", "Requests denied by the authorization policy, by client CN and permission.", [
    "identity",
    "permission",
  ]);
  const limited = r.counter("replica_api_rate_limited_total", "Requests refused by a rate limit, by client CN and limit.", [
    "identity",
    "limit",
  ]);
  const crossOrigin = r.counter(
    "replica_api_cross_origin_refused_total",
    "State-changing requests refused because a browser sent them on another origin's behalf, by the header that told.",
    ["reason"],
  );
  const scaleEvents = r.counter(
    "replica_api_scale_events_total",
    "Kubernetes Events recording who scaled, by outcome (recorded, failed, dropped); a failure never fails the scale.",
    ["outcome"],
  );
  // Present from the start, so an alert on failures has a series to compare against.
  for (const outcome of ["recorded", "failed", "dropped"]) scaleEvents.inc({ outcome }, 0);
  const streamsOpen = r.gauge("replica_api_streams_open", "Watch streams and rollout waits open right now, by kind (watch, wait).", [
    "kind",
  ]);
  const streamsClosed = r.counter(
    "replica_api_streams_closed_total",
    "Watch streams and rollout waits ended, by kind and reason (completed, timeout, client_closed, slow_consumer, budget, shutdown, error).",
    ["kind", "reason"],
  );
  const streamsRefused = r.counter(
    "replica_api_streams_refused_total",
    "Watch streams and rollout waits refused by MAX_STREAMS_PER_CLIENT (per_client) or MAX_STREAMS (total).",
    ["reason"],
  );
  for (const kind of ["watch", "wait"]) streamsOpen.set({ kind }, 0);
  const policyReloads = r.counter(
    "replica_api_policy_reloads_total",
    "Changes of the policy file, by outcome: reloaded, or invalid (refused; the last good policy stays in force).",
    ["outcome"],
  );
  const crlReloads = r.counter(
    "replica_api_crl_reloads_total",
    "Changes of the revocation lists, by outcome: reloaded, or invalid (refused; the last good list stays in force).",
    ["outcome"],
  );
  for (const outcome of ["reloaded", "invalid"]) {
    policyReloads.inc({ outcome }, 0);
    crlReloads.inc({ outcome }, 0);
  }
  const revoked = r.counter(
    "replica_api_revoked_connections_total",
    "Connections refused at the handshake, or closed while open, because their client certificate is revoked.",
    ["when"],
  );
  for (const when of ["handshake", "open"]) revoked.inc({ when }, 0);
  const clientExpiry = r.histogram(
    "replica_api_client_certificate_expiry_seconds",
    "Remaining life of the client certificates of new connections, in seconds (no per-identity labels).",
    [],
    EXPIRY_BUCKETS,
  );
  r.gauge("replica_api_build_info", "Build information; always 1.", ["version", "deno_version", "v8_version", "typescript_version"], () => [
    [{ version: VERSION, deno_version: Deno.version.deno, v8_version: Deno.version.v8, typescript_version: Deno.version.typescript }, 1],
  ]);
  const started = now() / 1000;
  r.gauge("process_start_time_seconds", "Start time of the process since the Unix epoch, in seconds.", [], () => [[{}, started]]);
  r.gauge("process_resident_memory_bytes", "Resident memory size in bytes.", [], () => [[{}, Deno.memoryUsage().rss]]);
  r.gauge("replica_api_heap_used_bytes", "V8 heap in use, in bytes.", [], () => [[{}, Deno.memoryUsage().heapUsed]]);

  return {
    registry: r,
    http: createHttpMetrics(inFlight, requests, duration),
    tlsFailure: (reason) => tls.inc({ reason }),
    connectionRefused: (reason) => refused.inc({ reason }),
    informer: (informer) => ({
      event: (type) => events.inc({ informer, type }),
      relist: () => relists.inc({ informer }),
      gone: () => gone.inc({ informer }),
      restart: () => restarts.inc({ informer }),
    }),
    kubeRequest(verb, status, seconds) {
      kubeRequests.inc({ verb, status });
      kubeDuration.observe({ verb }, seconds);
    },
    streams: {
      opened: (kind) => streamsOpen.inc({ kind }),
      closed(kind, reason) {
        streamsOpen.dec({ kind });
        streamsClosed.inc({ kind, reason });
      },
      refused: (reason) => streamsRefused.inc({ reason }),
    },
    authzDenied: (identity, permission) => denied.inc({ identity, permission }),
    rateLimited: (identity, limit) => limited.inc({ identity, limit }),
    crossOriginRefused: (reason) => crossOrigin.inc({ reason }),
    scaleEvent: (outcome) => scaleEvents.inc({ outcome }),
    policyReload: (outcome) => policyReloads.inc({ outcome }),
    crlReload: (outcome) => crlReloads.inc({ outcome }),
    revokedConnection: (when) => revoked.inc({ when }),
    clientCertificateSeen: (remainingSeconds) => clientExpiry.observe({}, remainingSeconds),
    serverCertificate(notAfterMs) {
      r.gauge(
        "replica_api_server_certificate_expiry_seconds",
        "Seconds until the serving certificate in use expires (negative once it has).",
        [],
        () => {
          const at = notAfterMs();
          return at === undefined ? [] : [[{}, Math.round((at - now()) / 1000)]];
        },
      );
    },
    revocationLists(status) {
      r.gauge(
        "replica_api_crl_next_update_seconds",
        "Seconds until each revocation list's nextUpdate (negative: past it, the list should have been renewed).",
        ["file"],
        () =>
          status().filter((s) => s.nextUpdateMs !== undefined).map((s) => [{ file: s.file }, Math.round((s.nextUpdateMs! - now()) / 1000)]),
      );
      r.gauge(
        "replica_api_crl_revoked_certificates",
        "Certificates listed as revoked, per revocation list file.",
        ["file"],
        () => status().map((s) => [{ file: s.file }, s.revoked]),
      );
      r.gauge(
        "replica_api_crl_current",
        "1 when the list in force for a file is its current content, 0 when the file was refused and an older list stays.",
        ["file"],
        () => status().map((s) => [{ file: s.file }, s.current ? 1 : 0]),
      );
    },
    watchCache(status) {
      r.gauge("replica_api_cache_deployments", "Deployments in the cache.", [], () => [[{}, status().deployments]]);
      r.gauge("replica_api_cache_synced", "1 once the initial list has completed.", [], () => [[{}, status().synced ? 1 : 0]]);
      r.gauge("replica_api_cache_connected", "1 while every watch is established.", [], () => [[{}, status().connected ? 1 : 0]]);
      r.gauge(
        "replica_api_cache_last_contact_age_seconds",
        "Seconds since the last list, watch event or bookmark from the API server (-1 before the first).",
        [],
        () => {
          const at = status().lastContactAt;
          return [[{}, at === undefined ? -1 : Math.max(0, (now() - at) / 1000)]];
        },
      );
    },
  };
}

/**
 * The per-request hooks, with every series looked up once per (listener, route, method, status)
 * and then reused: resolving labels on each request was ~2 % of a cached read's CPU time.
 * The key space is bounded like the labels themselves (route names, HTTP methods, statuses).
 */
function createHttpMetrics(inFlight: Gauge, requests: Counter, duration: Histogram): HttpMetrics {
  const inFlightOf = new Map<string, GaugeChild>();
  const outcomeOf = new Map<string, { count: CounterChild; duration: HistogramChild }>();
  const inFlightChild = (listener: string) => {
    let child = inFlightOf.get(listener);
    if (!child) inFlightOf.set(listener, child = inFlight.child({ listener }));
    return child;
  };
  return {
    started: (listener) => inFlightChild(listener).inc(),
    finished(listener, route, method, status, seconds) {
      inFlightChild(listener).dec();
      const key = `${listener}\0${route}\0${method}\0${status}`;
      let outcome = outcomeOf.get(key);
      if (!outcome) {
        outcome = {
          count: requests.child({ listener, route, method, status: String(status) }),
          duration: duration.child({ listener, route }),
        };
        outcomeOf.set(key, outcome);
      }
      outcome.count.inc();
      outcome.duration.observe(seconds);
    },
  };
}
