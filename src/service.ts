/**
 * Assembles the running service from already-loaded parts: the cache, the
 * scaler, both route tables and both listeners. Everything arrives as an
 * argument, so tests can start the whole service against a fake API server.
 */
import type { Config } from "./config/mod.ts";
import type { Logger } from "./observability/mod.ts";
import { EventHistory, InformerCache, type KubeSource } from "./kube/mod.ts";
import { createDeploymentWriter, createScaler, type DeploymentApi, type ScaleApi } from "./kube/mod.ts";
import { createScaleEventRecorder, type EventApi } from "./kube/mod.ts";
import { createCacheView } from "./handlers/mod.ts";
import { createApiRoutes, createProbeRoutes } from "./handlers/mod.ts";
import { createRouter } from "./http/mod.ts";
import { createApp, SECURITY_HEADERS } from "./http/mod.ts";
import type { StaticAssets } from "./files/mod.ts";
import { startMtlsServer } from "./tls/mod.ts";
import { startProbeServer } from "./http/mod.ts";
import type { CrlGaugeSource, ServiceMetrics } from "./observability/mod.ts";
import { allowAll, type Authorizer, createReloadableAuthorizer, createRequestGuard, startPolicyReloader } from "./authz/mod.ts";
import { createConcurrencyLimiter, createRateLimiter, createStreamLimiter } from "./limits/mod.ts";
import { STREAM_DEFAULTS, type StreamingDeps } from "./handlers/mod.ts";
import { startCertReloader } from "./tls/mod.ts";
import { type RevocationList, startCrlReloader, type TlsFiles, type TlsMaterial } from "./tls/mod.ts";
import { X509Certificate } from "node:crypto";

/** reportingController of the Events this service records, and of those its history reads back. */
const EVENT_CONTROLLER = "replica-api";

export interface ServiceDeps {
  config: Config;
  tls: TlsMaterial;
  source: KubeSource;
  scaleApi: ScaleApi;
  /** Restart, pause, set image and undo patch the Deployment through this; required when OPERATIONS has any of them. */
  deploymentApi?: DeploymentApi;
  /** Where "who scaled" Events go; none are recorded when undefined. */
  eventApi?: EventApi;
  /** This instance in those Events (reportingInstance), e.g. the Pod name. */
  instance?: string;
  log: Logger;
  metrics: ServiceMetrics;
  /** Default: every authenticated client may do everything. */
  authorizer?: Authorizer;
  /** Where `tls` came from; watched for rotation when given. */
  tlsFiles?: TlsFiles;
  /** The client CA's revocation lists loaded at start (TLS_CLIENT_CRL_FILE); watched and reloaded. */
  revocations?: RevocationList;
  /** The browser console's files (src/console/, read at start); no console when undefined (CONSOLE=false). */
  consoleAssets?: StaticAssets;
}

export interface Service {
  readonly apiPort: number;
  readonly probePort: number;
  readonly cache: InformerCache;
  /** Readiness 503, stop accepting, drain in-flight requests, stop the informers. Never rejects. */
  shutdown(): Promise<void>;
}

export async function startService(deps: ServiceDeps): Promise<Service> {
  const { config, tls, source, scaleApi, log, metrics } = deps;
  // Held by the guard and the handlers alike; the policy reloader swaps what it answers with.
  const authorizer = createReloadableAuthorizer(deps.authorizer ?? allowAll());
  const informerEvents = (informer: string) => {
    const m = metrics.informer(informer);
    return { ...m, watchRequest: (status: string, seconds: number) => metrics.kubeRequest("watch", status, seconds) };
  };
  const cache = new InformerCache({
    source,
    namespaces: config.watchNamespaces,
    watchTimeoutSeconds: Math.round(config.watchTimeoutMs / 1000),
    log,
    historySize: config.watchHistory,
    // The revisions (trimmed ReplicaSets) cost memory and RBAC; only undo and the history it picks from need them.
    replicaSets: config.operations.has("undo"),
    events: informerEvents,
    heartbeat: config.kubeHeartbeat
      ? { ...config.kubeHeartbeat, observe: (status, seconds) => metrics.kubeRequest("heartbeat", status, seconds) }
      : undefined,
  });
  metrics.watchCache(() => cache.status());
  const view = createCacheView({ cache, staleAfterMs: config.cacheStaleAfterMs });
  const scaler = createScaler({ api: scaleApi, cache, writeSyncTimeoutMs: config.writeSyncTimeoutMs });
  const writer = deps.deploymentApi
    ? createDeploymentWriter({ api: deps.deploymentApi, cache, writeSyncTimeoutMs: config.writeSyncTimeoutMs })
    : undefined;
  const events = deps.eventApi
    ? createScaleEventRecorder({
      api: deps.eventApi,
      controller: EVENT_CONTROLLER,
      instance: deps.instance ?? "replica-api",
      log,
      count: metrics.scaleEvent,
    })
    : undefined;
  // The history reads back the Events the recorder writes; a read-only server writes none, so it neither watches them
  // nor is granted to (the chart grants events list/watch only beside create).
  const history = events && config.operations.size > 0 && source.listEvents
    ? new EventHistory({
      listEvents: (namespace, fieldSelector, page) => source.listEvents!(namespace, fieldSelector, page),
      watch: source.watch,
      controller: EVENT_CONTROLLER,
      namespaces: config.watchNamespaces,
      watchTimeoutSeconds: Math.round(config.watchTimeoutMs / 1000),
      log,
      events: informerEvents,
    })
    : undefined;
  const lifecycle = { shuttingDown: false };
  /** Shown by /readyz without failing it; set once the revocation lists are loaded. */
  let readinessWarnings: () => readonly string[] = () => [];
  // Aborted first thing on shutdown: watch streams send their final event and close, rollout waits answer.
  const stopping = new AbortController();
  const concurrency = createConcurrencyLimiter({ max: config.maxConcurrentRequests });
  const streaming: StreamingDeps = {
    ...STREAM_DEFAULTS,
    writeSyncTimeoutMs: config.writeSyncTimeoutMs,
    streams: createStreamLimiter({ max: config.maxStreams, maxPerClient: config.maxStreamsPerClient }),
    shutdown: stopping.signal,
    concurrency,
    metrics: metrics.streams,
  };

  const apiRouter = createRouter(createApiRoutes({
    view,
    scaler,
    writer,
    operations: config.operations,
    imageAllowed: (client, namespace, image) => authorizer.imageAllowed(client, namespace, image),
    maxReplicas: config.maxReplicas,
    authorizer,
    events,
    history,
    streaming,
    console: deps.consoleAssets,
  }));
  const guard = createRequestGuard({
    authorizer,
    reads: config.rateLimitReads ? createRateLimiter(config.rateLimitReads) : undefined,
    writes: config.rateLimitWrites ? createRateLimiter(config.rateLimitWrites) : undefined,
    concurrency,
    log,
    metrics,
  });
  log.info("authorization", {
    policy: config.authzPolicyFile ?? "none: every authenticated client may do every enabled operation everywhere, with any image",
    operations: [...config.operations],
    rateLimitReads: config.rateLimitReads ?? "off",
    rateLimitWrites: config.rateLimitWrites ?? "off",
  });
  const apiApp = createApp({
    router: apiRouter,
    log,
    accessLog: config.accessLog,
    listener: "api",
    metrics: metrics.http,
    guard,
    responseHeaders: SECURITY_HEADERS,
    crossOrigin: {
      refused(reason, request) {
        metrics.crossOriginRefused(reason);
        log.warn("cross-origin request refused", {
          reason,
          method: request.method,
          path: new URL(request.url).pathname,
          origin: request.headers.get("origin") ?? undefined,
        });
      },
    },
  });
  const probeApp = createApp({
    router: createRouter(createProbeRoutes({ view, lifecycle, registry: metrics.registry, warnings: () => readinessWarnings() })),
    log,
    accessLog: false,
    listener: "probe",
    metrics: metrics.http,
  });

  const probe = startProbeServer({ ...config.probe, handler: probeApp, log });
  let api;
  try {
    api = await startMtlsServer({
      ...config.listen,
      ...tls,
      handler: apiApp,
      log,
      onTlsError: metrics.tlsFailure,
      onConnectionRefused: metrics.connectionRefused,
      refusal: apiRouter.refusal,
      limits: config.listenerLimits,
      revocations: deps.revocations,
      onRevoked: metrics.revokedConnection,
      onClientCertificate: (notAfterMs) => metrics.clientCertificateSeen((notAfterMs - Date.now()) / 1000),
    });
  } catch (error) {
    await probe.close();
    throw error;
  }
  const policyReloader = config.authzPolicyFile
    ? await startPolicyReloader({ path: config.authzPolicyFile, authorizer, log, onOutcome: metrics.policyReload })
    : undefined;
  const crlReloader = deps.revocations
    ? startCrlReloader({
      paths: config.tlsClientCrlFiles,
      caPem: () => reloader?.current.ca ?? tls.ca,
      initial: deps.revocations,
      apply: (list) => api.updateRevocations(list),
      log,
      onOutcome: metrics.crlReload,
    })
    : undefined;
  if (crlReloader) {
    metrics.revocationLists(() => crlGauges(config.tlsClientCrlFiles, crlReloader.current));
    readinessWarnings = () => crlReloader.current.problems.map((problem) => `revocation list: ${problem}`);
  }
  const reloader = deps.tlsFiles
    ? startCertReloader({
      files: deps.tlsFiles,
      initial: tls,
      apply: (material) => {
        api.updateTls(material);
        // A rotated client CA must be the one the CRLs are verified against.
        void crlReloader?.check().catch((error) => log.error("re-checking the revocation lists failed", { error }));
      },
      log,
    })
    : undefined;
  metrics.serverCertificate(notAfterOf(() => reloader?.current.cert ?? tls.cert));
  log.info("listening", { api: `${api.hostname}:${api.port}`, probe: `${config.probe.hostname}:${probe.port}` });

  // Not awaited: listeners answer (503 until synced) while the first list runs, and failures restart on their own.
  const started = cache.start();
  // Apart from the cache: the history never holds up readiness (its read answers 503 until it has listed).
  const historyStarted = history?.start();

  let shutdown: Promise<void> | undefined;
  return {
    apiPort: api.port,
    probePort: probe.port,
    cache,
    shutdown() {
      shutdown ??= (async () => {
        lifecycle.shuttingDown = true;
        await reloader?.close();
        await policyReloader?.close();
        await crlReloader?.close();
        log.info("shutting down: draining requests", { graceMs: config.shutdownTimeoutMs, streams: streaming.streams.active });
        stopping.abort();
        await api.close(config.shutdownTimeoutMs).catch((error) => log.error("closing the API listener failed", { error }));
        // Events of the last scales are still on their way; give them a moment, bounded like the calls themselves.
        await events?.settle(5_000);
        await started;
        await historyStarted;
        await cache.stop().catch((error) => log.error("stopping the informers failed", { error }));
        await history?.stop().catch((error) => log.error("stopping the Events informer failed", { error }));
        await probe.close().catch((error) => log.error("closing the probe listener failed", { error }));
        log.info("stopped");
      })();
      return shutdown;
    },
  };
}

/** The revocation-list gauges: per configured file, its nextUpdate, its count and whether its content is in force. */
function crlGauges(files: readonly string[], list: RevocationList): CrlGaugeSource[] {
  return files.map((file) => {
    const crls = list.status.filter((s) => s.file === file && s.state !== "refused");
    const next = crls.map((s) => s.nextUpdate?.getTime()).filter((t): t is number => t !== undefined);
    return {
      file,
      nextUpdateMs: next.length ? Math.min(...next) : undefined,
      revoked: crls.reduce((n, s) => n + (s.count ?? 0), 0),
      current: list.status.filter((s) => s.file === file).every((s) => s.state === "current"),
    };
  });
}

/** The notAfter (epoch ms) of the serving certificate in use, parsed once per certificate. */
function notAfterOf(certificate: () => string): () => number | undefined {
  let seen: string | undefined;
  let notAfter: number | undefined;
  return () => {
    const pem = certificate();
    if (pem !== seen) {
      seen = pem;
      try {
        notAfter = Date.parse(new X509Certificate(pem).validTo);
      } catch {
        notAfter = undefined;
      }
    }
    return notAfter;
  };
}
