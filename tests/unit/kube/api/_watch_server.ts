/**
 * A stand-in kube-apiserver for the Deno-fetch watch tests: node:https with client-certificate verification (so a
 * test sees the identity and the ALPN protocol that arrived; it offers h2 first, as kube-apiserver does) and a
 * handler per test. It keeps every socket, so a test can cut connections without a goodbye, which is what the
 * kernel does for a SIGKILLed process, and so close() leaves nothing open.
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import type { TestPki } from "../../../support/pki.ts";

export interface SeenRequest {
  readonly url: URL;
  readonly headers: IncomingMessage["headers"];
  /** The ALPN protocol of the connection ("http/1.1" or "h2"). */
  readonly alpn: string | false | null;
  /** Common name of the client certificate, when one was presented. */
  readonly clientCn: string | undefined;
  /** Resolves when the request's connection is closed (by either side). */
  readonly closed: Promise<void>;
}

export type WatchHandler = (req: IncomingMessage, res: ServerResponse, seen: SeenRequest) => void | Promise<void>;

export interface WatchServer {
  /** https://localhost:port, which the test CA's server certificate covers. */
  readonly url: string;
  readonly requests: SeenRequest[];
  /** Resolves with the next request (or the ones already seen, in order). */
  request(index: number): Promise<SeenRequest>;
  /** Destroys every open connection at once: no TLS close_notify, no final chunk. */
  cutConnections(): void;
  close(): Promise<void>;
}

export async function startWatchServer(pki: TestPki, handler: WatchHandler): Promise<WatchServer> {
  const sockets = new Set<Socket>();
  const requests: SeenRequest[] = [];
  const waiters = new Map<number, (seen: SeenRequest) => void>();
  const server = https.createServer({
    cert: pki.server.cert,
    key: pki.server.key,
    ca: pki.ca.cert,
    requestCert: true,
    rejectUnauthorized: false,
    ALPNProtocols: ["h2", "http/1.1"],
  }, (req, res) => {
    const socket = req.socket as TLSSocket;
    const seen: SeenRequest = {
      url: new URL(req.url ?? "/", "https://localhost"),
      headers: req.headers,
      alpn: socket.alpnProtocol,
      clientCn: socket.getPeerCertificate()?.subject?.CN as string | undefined,
      closed: new Promise((resolve) => socket.destroyed ? resolve() : socket.once("close", () => resolve())),
    };
    requests.push(seen);
    waiters.get(requests.length - 1)?.(seen);
    Promise.resolve(handler(req, res, seen)).catch((error) => {
      console.error("watch test server handler failed", error);
      socket.destroy();
    });
  });
  server.on("secureConnection", (socket: Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://localhost:${port}`,
    requests,
    request(index) {
      if (requests[index]) return Promise.resolve(requests[index]);
      return new Promise((resolve) => waiters.set(index, resolve));
    },
    cutConnections() {
      for (const socket of sockets) socket.destroy();
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** One watch event line. */
export function eventLine(type: string, object: unknown): string {
  return JSON.stringify({ type, object }) + "\n";
}

/** A Deployment as the watch streams it. */
export function deployment(namespace: string, name: string, replicas: number, resourceVersion: string) {
  return { metadata: { namespace, name, resourceVersion }, spec: { replicas }, status: {} };
}
