/**
 * Revocation at the connection layer. Deno's node:tls accepts a `crl` option and ignores it, so a revoked client
 * certificate still completes the handshake as authorized. The gate looks every new authenticated connection's
 * certificate up in the revocation list in force before node:http reads a single request from it, and when the
 * list changes it closes every open connection (from the listener's registry) whose certificate is now revoked.
 */
import type { Logger } from "../observability/mod.ts";
import type { Connection, ConnectionRegistry, Peer } from "./_connections.ts";
import type { RevocationList } from "./revocation/mod.ts";

/** When a revoked certificate was caught: at its connection's handshake, or on a connection already open. */
export type RevokedWhen = "handshake" | "open";

export interface RevocationGateOptions {
  /** The list in force at start; none = nothing is checked until {@link RevocationGate.update} gives one. */
  initial?: RevocationList;
  log: Logger;
  /** Once per connection refused at the handshake or closed while open because its certificate is revoked. */
  onRevoked?(when: RevokedWhen): void;
}

export interface RevocationGate {
  /** Whether a newly authenticated connection may be served; when not, it has been destroyed, logged and counted. */
  admit(conn: Connection, peer: Peer): boolean;
  /** Puts `list` in force: new connections are checked against it, and open ones it revokes are closed now. */
  update(list: RevocationList, open: ConnectionRegistry): void;
}

export function createRevocationGate(options: RevocationGateOptions): RevocationGate {
  const log = options.log.child({ component: "revocation" });
  let list = options.initial;

  /** Destroys `conn` when `list` revokes its certificate (or cannot check it); true when it did. */
  const refused = (conn: Connection, peer: Peer, when: RevokedWhen): boolean => {
    if (list === undefined) return false;
    const { issuerDer, serial } = peer.certificate;
    const fields = { cn: peer.client.cn, serial: peer.client.serialNumber, issuer: peer.client.issuer, remoteAddr: peer.remoteAddr };
    if (issuerDer === undefined) {
      // A certificate the handshake accepted but our DER reader cannot: refuse rather than let an unchecked one in.
      log.error("cannot read the client certificate to check revocation; connection refused", fields);
      conn.socket.destroy();
      return true;
    }
    const revocation = list.revocationOf(serial, issuerDer);
    if (revocation === undefined) return false;
    log.warn(when === "handshake" ? "revoked client certificate refused" : "connection of a revoked client certificate closed", {
      ...fields,
      revokedAt: revocation.revokedAt,
      reason: revocation.reason,
      crl: revocation.file,
    });
    conn.socket.destroy();
    try {
      options.onRevoked?.(when);
    } catch (error) {
      log.error("onRevoked callback failed", { error });
    }
    return true;
  };

  return {
    admit: (conn, peer) => !refused(conn, peer, "handshake"),
    update(next, open) {
      list = next;
      for (const conn of open.values()) {
        const peer = open.peerOf(conn);
        if (peer && !conn.socket.destroyed) refused(conn, peer, "open");
      }
    },
  };
}
