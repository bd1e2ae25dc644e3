/**
 * The mTLS listener's open connections, each with its verified peer: what the requests of a keep-alive
 * connection share (worked out once per connection), what close() drains, and what a sweep over every open
 * connection (a revocation) walks.
 */
import type { Server } from "node:https";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { ClientIdentity, RequestContext } from "../http/mod.ts";
import type { Logger } from "../observability/mod.ts";
import { type PeerCertificate, peerCertificateOf } from "./_client_identity.ts";

/** Who is at the other end of a connection, as every request on it sees it. */
export interface Peer {
  readonly client: ClientIdentity;
  /** The certificate behind `client`: what a revocation check matches. */
  readonly certificate: PeerCertificate;
  readonly remoteAddr: string;
  /** The handler context: the same for every request of the connection (the router adds path parameters to a copy). */
  readonly context: RequestContext;
}

/** Per TLS connection: computed once, because keep-alive connections carry many requests. */
export interface Connection {
  readonly socket: TLSSocket;
  inFlight: number;
  /** Undefined until first asked for (ConnectionRegistry.peerOf, on 'secureConnection'); null if the runtime gave no authorized identity. */
  peer?: Peer | null;
  /** Aborted when the socket closes; made only when a handler asks (see RequestContext.closed). */
  closedSignal?: AbortSignal;
}

const EMPTY_PARAMS: Readonly<Record<string, string>> = Object.freeze({});
/** How long close() waits for node to report the listener closed after force-destroying sockets. */
const FORCED_CLOSE_WAIT_MS = 1000;

/** Remote address of a socket whose handle may already be gone (Deno clears it before tlsClientError). */
export function remoteAddressOf(socket: Socket): string {
  // `_parent` (the raw TCP socket) is an undocumented field shared by Node and
  // Deno; used only for log context, never for decisions.
  const parent = (socket as Socket & { _parent?: Socket })._parent;
  return socket.remoteAddress ?? parent?.remoteAddress ?? "unknown";
}

/** The listener's connections, from accept to close. One per listener; methods, not closures, so requests allocate none. */
export class ConnectionRegistry {
  readonly #log: Logger;
  /** Raw TCP sockets, including those still in their handshake (close() must be able to end them too). */
  readonly #rawSockets = new Set<Socket>();
  readonly #connections = new Map<TLSSocket, Connection>();
  /** Set by close(): responses from now on ask to close their connection, and idle connections are ended. */
  closing = false;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Track a socket right after accept, before TLS (the server's 'connection' event). */
  accepted(socket: Socket): void {
    this.#rawSockets.add(socket);
    socket.once("close", () => this.#rawSockets.delete(socket));
  }

  /** The connection of a TLS socket, tracked from the first call (the 'secureConnection' event) until it closes. */
  of(socket: TLSSocket): Connection {
    let conn = this.#connections.get(socket);
    if (!conn) {
      conn = { socket, inFlight: 0 };
      this.#connections.set(socket, conn);
      socket.once("close", () => this.#connections.delete(socket));
      // node:http also listens; this one guarantees no socket error is ever unhandled.
      socket.on("error", (err) => this.#log.debug("client connection error", { err, remoteAddr: remoteAddressOf(socket) }));
    }
    return conn;
  }

  /** Every open TLS connection, in the order they were established. */
  values(): IterableIterator<Connection> {
    return this.#connections.values();
  }

  /**
   * The verified peer of a connection, worked out on the first call (the listener makes it on 'secureConnection',
   * so every request finds it ready); null when there is none (never served).
   */
  peerOf(conn: Connection): Peer | null {
    if (conn.peer !== undefined) return conn.peer;
    const certificate = peerCertificateOf(conn.socket);
    if (!certificate) return conn.peer = null;
    const client = certificate.identity;
    const remoteAddr = conn.socket.remoteAddress ?? "unknown";
    // One function per connection, not per request: the signal is made only for handlers that wait. Frozen: the
    // context is shared by every request of the connection.
    const context = Object.freeze({ client, remoteAddr, params: EMPTY_PARAMS, closed: () => this.#closedSignalOf(conn) });
    conn.peer = { client, certificate, remoteAddr, context };
    this.#log.debug("client connection authenticated", {
      cn: client.cn,
      serialNumber: client.serialNumber,
      fingerprint256: client.fingerprint256,
      remoteAddr,
    });
    return conn.peer;
  }

  #closedSignalOf(conn: Connection): AbortSignal {
    if (conn.closedSignal) return conn.closedSignal;
    const controller = new AbortController();
    conn.closedSignal = controller.signal;
    if (conn.socket.destroyed) controller.abort(new Error("client connection closed"));
    else conn.socket.once("close", () => controller.abort(new Error("client connection closed")));
    return conn.closedSignal;
  }

  /** A response of `conn` has closed (finished or abandoned). */
  requestEnded(conn: Connection): void {
    conn.inFlight--;
    // Responses whose headers left before close() began went out keep-alive.
    if (this.closing && conn.inFlight === 0) conn.socket.end();
  }

  /**
   * Stop `server` accepting; let in-flight requests finish up to graceMs; then destroy what remains; resolves when
   * closed (or FORCED_CLOSE_WAIT_MS after the forced destroy, so shutdown never hangs on node's bookkeeping).
   */
  async close(server: Server, graceMs: number): Promise<void> {
    this.closing = true;
    const started = Date.now();
    const listenerClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Idle keep-alive connections would otherwise hold close() for the whole grace period.
    for (const conn of this.#connections.values()) if (conn.inFlight === 0) conn.socket.destroy();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const graceOver = new Promise<"grace_over">((resolve) => timer = setTimeout(() => resolve("grace_over"), graceMs));
    const outcome = await Promise.race([listenerClosed, graceOver]);
    clearTimeout(timer);
    if (outcome === "grace_over") {
      const remaining = this.#rawSockets.size;
      for (const conn of this.#connections.values()) conn.socket.destroy();
      for (const socket of this.#rawSockets) socket.destroy();
      this.#log.warn("grace period over; destroyed remaining connections", { graceMs, connections: remaining });
      let waitTimer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([listenerClosed, new Promise((resolve) => waitTimer = setTimeout(resolve, FORCED_CLOSE_WAIT_MS))]);
      clearTimeout(waitTimer);
    }
    this.#log.info("mTLS listener closed", { ms: Date.now() - started });
  }
}
