/**
 * Revocation at the connection layer. Deno's node:tls accepts a `crl` option and ignores it, so a revoked client
 * certificate still completes the handshake as authorized. This gate looks every new authenticated connection's
 * certificate up in the revocation list in force and destroys the socket before node:http reads a single request
 * from it; when the list changes, it closes every open connection whose certificate is now revoked.
 */
import type { Server } from "node:https";
import type { TLSSocket } from "node:tls";
import type { Logger } from "../observability/mod.ts";
import { issuerAndSerialOf, type RevocationList } from "./revocation/mod.ts";

export interface RevocationGateOptions {
  /** The list in force at start; {@link RevocationGate.update} replaces it. */
  initial: RevocationList;
  log: Logger;
  /** Once per connection refused at the handshake ("handshake") or closed while open ("open"). */
  onRevoked?(when: "handshake" | "open"): void;
}

export interface RevocationGate {
  /** Puts `list` in force: new connections are checked against it, and open ones it revokes are closed now. */
  update(list: RevocationList): void;
}

interface Peer {
  readonly issuer: Uint8Array;
  readonly serial: string;
  readonly cn: string;
}

/** Issuer and serial of the verified peer certificate, or undefined when the runtime gives none. */
function peerOf(socket: TLSSocket): Peer | undefined {
  const cert = socket.getPeerCertificate(false);
  const raw = cert?.raw as Uint8Array | undefined;
  if (!raw || raw.byteLength === 0) return undefined;
  const { issuer, serial } = issuerAndSerialOf(raw);
  const cn = (cert.subject as unknown as Record<string, string | string[] | undefined> | undefined)?.CN;
  return { issuer, serial, cn: Array.isArray(cn) ? cn.join("+") : cn ?? "" };
}

/**
 * Prepends a `secureConnection` listener, so it runs before node:http (and before the listener's own connection
 * tracking) sees the socket.
 */
export function gateRevokedConnections(server: Server, options: RevocationGateOptions): RevocationGate {
  const log = options.log.child({ component: "revocation" });
  let list = options.initial;
  const open = new Map<TLSSocket, Peer>();

  const refuse = (socket: TLSSocket, peer: Peer, when: "handshake" | "open") => {
    const revocation = list.revocationOf(peer.serial, peer.issuer);
    log.warn(when === "handshake" ? "revoked client certificate refused" : "connection of a revoked client certificate closed", {
      cn: peer.cn,
      serial: peer.serial,
      revokedAt: revocation?.revokedAt,
      reason: revocation?.reason,
      crl: revocation?.file,
      remoteAddr: socket.remoteAddress,
    });
    socket.destroy();
    try {
      options.onRevoked?.(when);
    } catch (error) {
      log.error("onRevoked callback failed", { error });
    }
  };

  server.prependListener("secureConnection", (socket: TLSSocket) => {
    let peer: Peer | undefined;
    try {
      peer = peerOf(socket);
    } catch (error) {
      // A certificate the handshake accepted but we cannot read: refuse rather than let an unchecked one in.
      log.error("cannot read the client certificate to check revocation; connection refused", { error });
      socket.destroy();
      return;
    }
    if (!peer) return; // unauthenticated sockets are refused by the listener itself
    if (list.isRevoked(peer.serial, peer.issuer)) return refuse(socket, peer, "handshake");
    open.set(socket, peer);
    socket.once("close", () => open.delete(socket));
  });

  return {
    update(next) {
      list = next;
      for (const [socket, peer] of open) {
        if (list.isRevoked(peer.serial, peer.issuer)) {
          open.delete(socket);
          refuse(socket, peer, "open");
        }
      }
    },
  };
}
