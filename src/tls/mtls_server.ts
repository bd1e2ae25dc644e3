/**
 * The authenticated HTTPS listener. `Deno.serve` silently ignores client
 * certificate options, so this is built on node:https, which does verify
 * client certificates inside Deno (see shared platform notes, "mTLS").
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { type ClientIdentity, type Handler, HttpError, toHttpError } from "../http/mod.ts";
import type { Logger } from "../observability/mod.ts";
import { type Connection, ConnectionRegistry, remoteAddressOf } from "./_connections.ts";
import { type AdaptedRequest, BadRequest, toRequest, UnroutableMethod } from "./_node_adapter.ts";
import { writeProblem, writeResponse } from "./_node_response.ts";
import { type BodyDrainLimits, DEFAULT_BODY_DRAIN, drainBody } from "./body_drain.ts";
import { classifyTlsFailure, type TlsFailureReason } from "./tls_failure.ts";
import { applyListenerLimits, DEFAULT_LISTENER_LIMITS, type ListenerLimits, listenerServerOptions } from "../limits/mod.ts";
import { createSourceLimiter, type SourceRefusalReason } from "../limits/mod.ts";
import { gateConnectionsBySource } from "../limits/mod.ts";
import { createRefusalLog } from "../limits/mod.ts";
import { reloadSecureContext } from "./reload_secure_context.ts";
import type { TlsMaterial } from "./reload_material.ts";
import { createRevocationGate, type RevokedWhen } from "./_revocation_gate.ts";
import type { RevocationList } from "./revocation/mod.ts";

/** Options for {@link startMtlsServer}. */
export interface MtlsServerOptions {
  hostname: string;
  /** 0 binds an ephemeral port; read the actual one from {@link MtlsServer.port}. */
  port: number;
  /** Server certificate chain, PEM. */
  cert: string;
  /** Server private key, PEM. */
  key: string;
  /** CA bundle that client certificates must chain to, PEM. */
  ca: string;
  /**
   * Receives every request with the verified client identity. Whether a response body is streamed or read whole
   * (one bytes() call, the fast path) is the HTTP layer's `isStreamedResponse` (http/response.ts): streamed for
   * event streams, NDJSON/JSON Lines, octet streams and bodies without a content type, so an endless body must use
   * one of those. Expected never to throw (createApp does not); if it does, the answer is the same problem+json
   * 500 the app would send.
   */
  handler: Handler;
  log: Logger;
  /** Called once per failed TLS handshake, e.g. to count failures by reason. */
  onTlsError?: (reason: TlsFailureReason) => void;
  /**
   * The refusal for a request the handler cannot be given: a method the Fetch API cannot represent (TRACE,
   * CONNECT). Pass the router's `refusal` (a 405 with Allow, or a 404, in the router's own words); without it such
   * requests get 501 Not Implemented. Rendered as problem+json like every other error.
   */
  refusal?: (method: string, pathname: string) => HttpError;
  /** Handshake/header/request/idle timeouts and the connection caps; defaults: DEFAULT_LISTENER_LIMITS. */
  limits?: ListenerLimits;
  /**
   * Called once per connection refused by a per-source limit (closed right after accept, before any TLS
   * work; such connections never reach onTlsError).
   */
  onConnectionRefused?: (reason: SourceRefusalReason) => void;
  /**
   * How much of a request body still arriving after its response (a 413, a 429) is read and dropped, and for
   * how long, before the connection is cut; default DEFAULT_BODY_DRAIN. Closing at once would reset the
   * connection under a client still uploading, which then never sees the response.
   */
  bodyDrain?: BodyDrainLimits;
  /**
   * The client CA's revocation list in force at start (TLS_CLIENT_CRL_FILE); none = no revocation check until
   * {@link MtlsServer.updateRevocations} gives one. A revoked certificate's connection is destroyed on
   * 'secureConnection', before any request is read from it.
   */
  revocations?: RevocationList;
  /**
   * Called once per new authenticated connection that passed the revocation check (not per request), with its
   * client certificate's notAfter in epoch ms, e.g. to observe the remaining life of certificates in use
   * (`(notAfterMs - Date.now()) / 1000`). Not called when the runtime's validity text does not parse.
   */
  onClientCertificate?: (notAfterMs: number, client: ClientIdentity) => void;
  /**
   * Called once per connection refused at its handshake ("handshake"), or closed while open after a list update
   * ("open"), because its certificate is revoked; each is also logged (warn) with the CN, serial and CRL.
   */
  onRevoked?: (when: RevokedWhen) => void;
}

/** A running mTLS listener. */
export interface MtlsServer {
  readonly hostname: string;
  /** The port actually bound (differs from the option when it was 0). */
  readonly port: number;
  /**
   * Stop accepting; let in-flight requests finish up to graceMs; then destroy
   * what remains; resolves when closed. Idempotent: later calls return the
   * same promise.
   */
  close(graceMs: number): Promise<void>;
  /** New handshakes use this material from now on; established connections keep theirs. */
  updateTls(material: TlsMaterial): void;
  /** New connections are checked against `list` from now on, and open connections it revokes are closed now. */
  updateRevocations(list: RevocationList): void;
}

/**
 * The kernel's accept queue. node's default (511) overflows when many clients connect at once (1,000 idle
 * connections, or every client of a restarted load balancer reconnecting): the kernel then drops their SYNs
 * and they retry only after 1 s, 3 s, 7 s, which showed up as multi-second maximum latencies. Pending
 * connections cost the kernel a few hundred bytes each; the kernel caps this at net.core.somaxconn.
 */
const LISTEN_BACKLOG = 4096;
/** The default refusal (see MtlsServerOptions.refusal): the server knows no route, so it does not implement the method. */
function notImplemented(method: string): HttpError {
  return new HttpError(501, `${method} is not supported by this server`);
}

/** Start the mTLS listener; resolves once it is bound, rejects if binding fails. */
export async function startMtlsServer(options: MtlsServerOptions): Promise<MtlsServer> {
  const { handler, onTlsError, onConnectionRefused } = options;
  const limits = options.limits ?? DEFAULT_LISTENER_LIMITS;
  const bodyDrain = options.bodyDrain ?? DEFAULT_BODY_DRAIN;
  const log = options.log.child({ component: "mtls_server" });
  const connections = new ConnectionRegistry(log);
  const revocations = createRevocationGate({ initial: options.revocations, log, onRevoked: options.onRevoked });
  const refusal = options.refusal ?? notImplemented;

  /** Synchronous when the handler and the response are (a cached read); a promise otherwise. */
  const serve = (req: IncomingMessage, res: ServerResponse, conn: Connection): Promise<void> | void => {
    const peer = connections.peerOf(conn);
    if (!peer) {
      // rejectUnauthorized should make this unreachable; refuse rather than serve anonymously.
      log.error("request on a connection without a verified client certificate", { remoteAddr: remoteAddressOf(conn.socket) });
      conn.socket.destroy();
      return;
    }
    let adapted;
    try {
      adapted = toRequest(req, bodyDrain);
    } catch (err) {
      if (err instanceof UnroutableMethod) {
        const pathname = (req.url ?? "/").split("?")[0];
        writeProblem(req, res, refusal(err.message, pathname), true, pathname);
        drainBody(req, bodyDrain);
        return;
      }
      if (!(err instanceof BadRequest)) throw err;
      log.debug("bad request", { err, remoteAddr: peer.remoteAddr });
      writeProblem(req, res, new HttpError(400, err.message, { cause: err }), true);
      drainBody(req, bodyDrain);
      return;
    }
    let result: Response | Promise<Response>;
    try {
      result = handler(adapted.request, peer.context);
    } catch (err) {
      return handlerFailed(req, res, adapted, peer.client, err);
    }
    // A cached read is answered without a single await: each hop costs microtasks and async-context work.
    if (!(result instanceof Promise)) return respond(req, res, adapted, peer.client, result);
    return result.then(
      (response) => respond(req, res, adapted, peer.client, response),
      (err) => handlerFailed(req, res, adapted, peer.client, err),
    );
  };

  /** Writes the handler's response; defined once, not per request, to keep the hot path free of closures. */
  const respond = (req: IncomingMessage, res: ServerResponse, adapted: AdaptedRequest, client: ClientIdentity, response: Response) => {
    if (!(response instanceof Response)) {
      return handlerFailed(req, res, adapted, client, new TypeError(`handler returned ${typeof response}, not a Response`));
    }
    let written: Promise<void> | void = undefined;
    try {
      written = writeResponse(req, res, response, connections.closing);
    } catch (err) {
      res.destroy();
      bodyFailed(req, client, err);
    }
    if (!(written instanceof Promise)) return adapted.abandonBody();
    return written
      .catch((err) => bodyFailed(req, client, err))
      .finally(adapted.abandonBody);
  };

  const bodyFailed = (req: IncomingMessage, client: ClientIdentity, err: unknown) =>
    log.error("response body failed", { cause: err, method: req.method, cn: client.cn });

  /** The handler threw or rejected, which createApp never does: answered as the app answers a failure. */
  const handlerFailed = (req: IncomingMessage, res: ServerResponse, adapted: AdaptedRequest, client: ClientIdentity, err: unknown) => {
    const pathname = new URL(adapted.request.url).pathname;
    log.error("handler failed", { cause: err, method: req.method, path: pathname, cn: client.cn });
    writeProblem(req, res, toHttpError(err), connections.closing, pathname);
    adapted.abandonBody();
  };

  const onResponseError = (err: Error) => log.debug("response stream error", { err });
  const unexpected = (res: ServerResponse, err: unknown) => {
    log.error("unexpected failure while serving a request", { cause: err });
    res.destroy();
  };

  // Per request: one closure (the 'close' listener needs the connection), nothing else; every allocation here is
  // paid on each cached read, and garbage is what made reads slower the more connections were open.
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const conn = connections.of(req.socket as TLSSocket);
    conn.inFlight++;
    // 'close' fires exactly once, after a complete response or when the client goes away (so on, not once:
    // once() wraps the listener in two more objects).
    res.on("close", () => connections.requestEnded(conn));
    res.on("error", onResponseError);
    try {
      const served = serve(req, res, conn);
      if (served instanceof Promise) served.catch((err) => unexpected(res, err));
    } catch (err) {
      unexpected(res, err);
    }
  };

  const server = https.createServer({
    cert: options.cert,
    key: options.key,
    ca: options.ca,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.3",
    ...listenerServerOptions(limits),
  }, onRequest);
  applyListenerLimits(server, limits);

  server.on("connection", (socket: Socket) => connections.accepted(socket));
  if (limits.maxConnectionsPerSource !== null || limits.handshakeRatePerSource !== null) {
    const refusals = createRefusalLog({ log });
    // After the tracking listener above: refused sockets are destroyed at once and need no tracking.
    gateConnectionsBySource(server, {
      limiter: createSourceLimiter({ maxConnectionsPerSource: limits.maxConnectionsPerSource, connectRate: limits.handshakeRatePerSource }),
      onRefused: (refusal) => {
        try {
          refusals.refused(refusal);
          onConnectionRefused?.(refusal.reason);
        } catch (cbErr) {
          log.error("onConnectionRefused callback failed", { cause: cbErr });
        }
      },
    });
  }
  // Prepended so the connection is tracked (and closable), its certificate read once and checked for revocation,
  // before node:http reads a request from it.
  server.prependListener("secureConnection", (socket: TLSSocket) => {
    const conn = connections.of(socket);
    const peer = connections.peerOf(conn);
    // No verified identity: refused at its first request (see serve).
    if (peer === null || !revocations.admit(conn, peer)) return;
    if (options.onClientCertificate === undefined || Number.isNaN(peer.certificate.notAfterMs)) return;
    try {
      options.onClientCertificate(peer.certificate.notAfterMs, peer.client);
    } catch (cbErr) {
      log.error("onClientCertificate callback failed", { cause: cbErr });
    }
  });
  server.on("tlsClientError", (err: Error & { code?: string }, socket: TLSSocket) => {
    const reason = classifyTlsFailure({
      code: err.code,
      message: err.message,
      authorizationError: socket.authorizationError as unknown as string | null,
    });
    const fields = { reason, remoteAddr: remoteAddressOf(socket), code: err.code, detail: err.message };
    // Bare TCP connects (probes, scanners) are routine, not an authentication failure.
    if (reason === "connection_reset" || reason === "handshake_timeout") log.debug("TLS handshake aborted", fields);
    else log.warn("TLS handshake failed", fields);
    try {
      onTlsError?.(reason);
    } catch (cbErr) {
      log.error("onTlsError callback failed", { cause: cbErr });
    }
    socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen({ port: options.port, host: options.hostname, backlog: LISTEN_BACKLOG }, () => {
      server.off("error", onError);
      resolve();
    });
  });
  server.on("error", (err) => log.error("mTLS listener error", { cause: err }));

  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  log.info("mTLS listener started", { hostname: options.hostname, port });

  let closed: Promise<void> | undefined;
  return {
    hostname: options.hostname,
    port,
    close: (graceMs) => closed ??= connections.close(server, graceMs),
    updateTls: (material) => reloadSecureContext(server, material),
    updateRevocations: (list) => revocations.update(list, connections),
  };
}
