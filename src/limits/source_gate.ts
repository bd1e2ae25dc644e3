/**
 * Enforces a SourceLimiter on a node:https (or node:tls, node:net) server at
 * the cheapest possible point: right after the TCP accept, before a single
 * byte of the TLS handshake is read or written. A refused socket is
 * destroyed; the client sees its connection reset.
 *
 * Where it hooks in, and why not simply with `server.on("connection")`: the
 * server emits 'connection' for every accepted socket once net.Server has
 * applied the global cap (MAX_CONNECTIONS, `server.maxConnections`). node:tls
 * starts the TLS layer from its own 'connection' listener
 * (tlsConnectionListener, in Node and in Deno 2.9.6). Destroying the socket
 * from a second listener still lets that one wrap it, and the wrapper then
 * reports a failed handshake (tlsClientError ECONNRESET) for a connection
 * that never attempted one. So the gate takes over the listeners registered
 * so far and calls them only for admitted sockets: a refused socket never
 * gets TLS state. tests/unit/tls/mtls_server_source_limits_test.ts checks
 * this against the runtime (no byte sent, no handshake failure reported).
 */
import type { Server as NetServer, Socket } from "node:net";
import { sourceOf } from "./source_address.ts";
import type { SourceLimiter, SourceRefusalReason } from "./source_limiter.ts";

/** A connection the gate refused. */
export interface SourceRefusal {
  readonly reason: SourceRefusalReason;
  /** What the limit counted against: an IPv4 address or an IPv6 /64. */
  readonly source: string;
  readonly remoteAddress: string;
}

export interface SourceGateOptions {
  limiter: SourceLimiter;
  /** Called after the refused socket has been destroyed (for metrics and logs); must not throw. */
  onRefused: (refusal: SourceRefusal) => void;
}

/**
 * Puts the gate in front of the server's 'connection' listeners. Call it after
 * creating the server and adding the listeners that should see admitted
 * sockets only, before `listen()`; listeners added later see every socket,
 * refused ones already destroyed.
 */
export function gateConnectionsBySource(server: NetServer, { limiter, onRefused }: SourceGateOptions): void {
  const inner = server.listeners("connection") as ((this: NetServer, socket: Socket) => void)[];
  server.removeAllListeners("connection");
  server.on("connection", (socket: Socket) => {
    const remoteAddress = socket.remoteAddress;
    // Without an address the peer is already gone (reset before we got here); nothing to count it against.
    if (remoteAddress !== undefined) {
      const source = sourceOf(remoteAddress);
      const admission = limiter.admit(source);
      if (!admission.admitted) {
        socket.destroy();
        onRefused({ reason: admission.reason, source, remoteAddress });
        return;
      }
      // The raw socket closes exactly once on every path: client close, timeouts, TLS failure, server shutdown.
      socket.once("close", admission.release);
    }
    for (const listener of inner) listener.call(server, socket);
  });
}
