/**
 * Shared fixtures for the mTLS server tests: one generated PKI per test
 * module, a server started on port 0 with captured logs, and small
 * node:https / node:tls clients that always clean up after themselves.
 */
import https from "node:https";
import tls from "node:tls";
import type { Handler } from "../../../src/http/types.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import { type MtlsServer, type MtlsServerOptions, startMtlsServer } from "../../../src/tls/mod.ts";
import { sharedTestPki, type TestPki } from "../../support/pki.ts";

/** The shared test PKI (see tests/support/pki.ts). */
export const sharedPki: () => Promise<TestPki> = sharedTestPki;

export type LogLine = Record<string, unknown> & { level: string; msg: string };

export interface Harness {
  readonly server: MtlsServer;
  readonly port: number;
  readonly pki: TestPki;
  readonly logs: LogLine[];
  readonly tlsErrors: string[];
  /** Resolves with the next onTlsError reason (fails after 5 s). */
  nextTlsError(): Promise<string>;
  close(graceMs?: number): Promise<void>;
}

export async function startHarness(handler: Handler, extra: Partial<MtlsServerOptions> = {}): Promise<Harness> {
  const pki = await sharedPki();
  const logs: LogLine[] = [];
  const tlsErrors: string[] = [];
  const waiters: ((reason: string) => void)[] = [];
  const server = await startMtlsServer({
    hostname: "127.0.0.1",
    port: 0,
    cert: pki.server.cert,
    key: pki.server.key,
    ca: pki.ca.cert,
    handler,
    log: createLogger({ level: "debug", sink: (line) => logs.push(JSON.parse(line)) }),
    onTlsError: (reason) => {
      tlsErrors.push(reason);
      waiters.shift()?.(reason);
    },
    ...extra,
  });
  return {
    server,
    port: server.port,
    pki,
    logs,
    tlsErrors,
    nextTlsError: () =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no onTlsError within 5 s")), 5000);
        waiters.push((reason) => {
          clearTimeout(timer);
          resolve(reason);
        });
      }),
    close: (graceMs = 1000) => server.close(graceMs),
  };
}

export interface Credentials {
  cert?: string;
  key?: string;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
  text: string;
}

export interface RequestOptions {
  path?: string;
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: Uint8Array | string;
  /** Defaults to alice's certificate. */
  credentials?: Credentials;
  /** A keep-alive agent to reuse; by default each request gets its own connection. */
  agent?: https.Agent;
}

/** One request through node:https; the response body is always consumed. */
export async function request(harness: Harness, options: RequestOptions = {}): Promise<HttpResult> {
  const creds = options.credentials ?? harness.pki.alice;
  return await new Promise<HttpResult>((resolve, reject) => {
    const req = https.request({
      host: "127.0.0.1",
      port: harness.port,
      servername: "localhost",
      path: options.path ?? "/",
      method: options.method ?? "GET",
      headers: options.headers,
      ca: harness.pki.ca.cert,
      cert: creds.cert,
      key: creds.key,
      agent: options.agent ?? false,
    }, (res) => {
      const chunks: Uint8Array[] = [];
      res.on("data", (chunk: Uint8Array) => chunks.push(chunk));
      res.on("error", reject);
      res.on("end", () => {
        const body = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
        let offset = 0;
        for (const c of chunks) body.set(c, (offset += c.byteLength) - c.byteLength);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: new TextDecoder().decode(body) });
      });
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A keep-alive agent presenting alice's certificate, limited to one connection. */
export function keepAliveAgent(harness: Harness): https.Agent {
  return new https.Agent({
    keepAlive: true,
    maxSockets: 1,
    ca: harness.pki.ca.cert,
    cert: harness.pki.alice.cert,
    key: harness.pki.alice.key,
  });
}

export interface TlsExchange {
  /** The client considered its handshake complete (TLS 1.3 clients do before the server verifies them). */
  secured: boolean;
  /** Everything the server sent after the handshake. */
  received: string;
  /** Error code seen by the client, if any. */
  error?: string;
}

/**
 * Raw TLS connection: handshake, send `payload`, collect the reply until the
 * server closes (or until `hangUpWhen` returns true: the client then drops the connection).
 */
export function tlsExchange(
  harness: Harness,
  credentials: Credentials,
  payload = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
  // localAddress: node:tls passes it on to the TCP connect (binding 127.0.0.2 etc. makes another source); the types omit it.
  extra: tls.ConnectionOptions & { localAddress?: string } = {},
  hangUpWhen?: (received: string) => boolean,
): Promise<TlsExchange> {
  return new Promise((resolve) => {
    const result: TlsExchange = { secured: false, received: "" };
    const socket = tls.connect({
      host: "127.0.0.1",
      port: harness.port,
      servername: "localhost",
      ca: harness.pki.ca.cert,
      ...credentials,
      ...extra,
    }, () => {
      result.secured = true;
      socket.write(payload);
    });
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      result.received += chunk;
      if (hangUpWhen?.(result.received)) socket.destroy();
    });
    socket.on("error", (err: Error & { code?: string }) => result.error = err.code ?? err.message);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(result);
    });
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
