/**
 * The connection limits, applied to a real node:https mTLS listener the way
 * src/tls/mtls_server.ts creates it. These check the runtime as much as our
 * code: each limit was found to work in Deno 2.9.6 by experiment, and a
 * Deno upgrade that breaks one must fail here.
 */
import assert from "node:assert/strict";
import https from "node:https";
import net from "node:net";
import tls from "node:tls";
import {
  applyListenerLimits,
  checkListenerLimits,
  DEFAULT_LISTENER_LIMITS,
  type ListenerLimits,
  listenerServerOptions,
} from "../../../src/limits/mod.ts";
import { sharedTestPki, type TestPki } from "../../support/pki.ts";
import { captureClientHello } from "../../support/client_hello.ts";

const LIMITS: ListenerLimits = {
  handshakeTimeoutMs: 300,
  headersTimeoutMs: 400,
  requestTimeoutMs: 800,
  idleTimeoutMs: 300,
  maxConnections: 2,
  maxConnectionsPerSource: null,
  handshakeRatePerSource: null,
};

const pki = sharedTestPki;

interface Listener {
  port: number;
  pki: TestPki;
  tlsErrors: string[];
  close(): Promise<void>;
}

async function listen(limits: ListenerLimits = LIMITS): Promise<Listener> {
  const p = await pki();
  const tlsErrors: string[] = [];
  const sockets = new Set<net.Socket>();
  const server = https.createServer({
    cert: p.server.cert,
    key: p.server.key,
    ca: p.ca.cert,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.3",
    ...listenerServerOptions(limits),
  }, (req, res) => {
    req.on("data", () => {});
    req.on("end", () => res.end("ok"));
  });
  applyListenerLimits(server, limits);
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.on("tlsClientError", (err: Error, socket: tls.TLSSocket) => {
    tlsErrors.push(err.message);
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    pki: p,
    tlsErrors,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

interface Outcome {
  /** Milliseconds from connect (or from the handshake, for TLS clients) until the server closed. */
  closedAfterMs: number;
  received: string;
  /** The client gave up first: the server never closed. */
  gaveUp: boolean;
}

const GIVE_UP_MS = 4000;

/** A raw TCP client that sends `bytes` (if any) and waits for the server to close. */
function rawClient(port: number, bytes?: Uint8Array): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = performance.now();
    let gaveUp = false;
    const socket = net.connect(port, "127.0.0.1", () => bytes && socket.write(bytes));
    socket.on("data", () => {});
    socket.on("error", () => {});
    const timer = setTimeout(() => (gaveUp = true, socket.destroy()), GIVE_UP_MS);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve({ closedAfterMs: performance.now() - started, received: "", gaveUp });
    });
  });
}

/** An mTLS client (alice) that runs `script` once the handshake is done, and collects what the server sends. */
/** `drip(fn, ms)` runs fn every ms until the connection closes. */
function tlsClient(l: Listener, script: (socket: tls.TLSSocket, drip: (fn: () => void, ms: number) => void) => void): Promise<Outcome> {
  return new Promise((resolve) => {
    let secured = performance.now();
    let received = "";
    let gaveUp = false;
    const drips: ReturnType<typeof setInterval>[] = [];
    const socket = tls.connect({
      host: "127.0.0.1",
      port: l.port,
      servername: "localhost",
      ca: l.pki.ca.cert,
      cert: l.pki.alice.cert,
      key: l.pki.alice.key,
    }, () => {
      secured = performance.now();
      script(socket, (fn, ms) => drips.push(setInterval(fn, ms)));
    });
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => received += chunk);
    socket.on("error", () => {});
    const timer = setTimeout(() => (gaveUp = true, socket.destroy()), GIVE_UP_MS);
    socket.on("close", () => {
      clearTimeout(timer);
      drips.forEach(clearInterval);
      resolve({ closedAfterMs: performance.now() - secured, received, gaveUp });
    });
  });
}

function assertClosedAround(outcome: Outcome, expectedMs: number, slackMs = 600): void {
  assert.equal(outcome.gaveUp, false, "the server must close the connection");
  assert.ok(
    outcome.closedAfterMs >= expectedMs * 0.8 && outcome.closedAfterMs <= expectedMs + slackMs,
    `closed after ${Math.round(outcome.closedAfterMs)} ms, expected about ${expectedMs} ms`,
  );
}

Deno.test("handshake timeout: connections that stall before the TLS handshake completes are closed", async (t) => {
  const l = await listen();
  try {
    await t.step("a TCP connection that sends nothing", async () => {
      assertClosedAround(await rawClient(l.port), LIMITS.handshakeTimeoutMs);
    });
    await t.step("a partial TLS record", async () => {
      assertClosedAround(await rawClient(l.port, new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00])), LIMITS.handshakeTimeoutMs);
    });
    await t.step("a complete ClientHello, then silence (the server's flight sent, the client certificate never comes)", async () => {
      assertClosedAround(await rawClient(l.port, await captureClientHello()), LIMITS.handshakeTimeoutMs);
    });
    // Deno reports it without an error code; the listener's failure classifier has to go by this message.
    assert.ok(l.tlsErrors.includes("TLS handshake timeout"), `tlsClientError messages: ${JSON.stringify(l.tlsErrors)}`);
  } finally {
    await l.close();
  }
});

Deno.test("headers timeout: headers that trickle in are answered 408 and the connection closed", async () => {
  const l = await listen();
  try {
    const outcome = await tlsClient(l, (s, drip) => {
      s.write("GET / HTTP/1.1\r\nHost: localhost\r\n");
      drip(() => s.write("X"), 50);
    });
    assertClosedAround(outcome, LIMITS.headersTimeoutMs);
    assert.match(outcome.received, /^HTTP\/1.1 408 /);
  } finally {
    await l.close();
  }
});

Deno.test("headers timeout: an authenticated connection that never sends a request is closed", async () => {
  const l = await listen();
  try {
    assertClosedAround(await tlsClient(l, () => {}), LIMITS.headersTimeoutMs);
  } finally {
    await l.close();
  }
});

Deno.test("request timeout: a body that trickles in is answered 408", async () => {
  const l = await listen();
  try {
    const outcome = await tlsClient(l, (s, drip) => {
      s.write("PUT / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n");
      drip(() => s.write("a"), 50);
    });
    assertClosedAround(outcome, LIMITS.requestTimeoutMs);
    assert.match(outcome.received, /^HTTP\/1.1 408 /);
  } finally {
    await l.close();
  }
});

Deno.test("idle timeout: a keep-alive connection is closed after idling (Deno adds about a second)", async () => {
  const l = await listen();
  try {
    let answered = 0;
    const outcome = await tlsClient(l, (s) => {
      s.write("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n");
      s.once("data", () => answered = performance.now());
    });
    assert.match(outcome.received, /^HTTP\/1.1 200 /);
    assert.equal(outcome.gaveUp, false, "the server must close the idle connection");
    const idleMs = performance.now() - answered;
    assert.ok(
      idleMs >= LIMITS.idleTimeoutMs * 0.8 && idleMs <= LIMITS.idleTimeoutMs + 1800,
      `closed after idling ${Math.round(idleMs)} ms`,
    );
  } finally {
    await l.close();
  }
});

Deno.test("max connections: connections over the cap are closed at once, counting unfinished handshakes", async () => {
  const l = await listen({ ...LIMITS, handshakeTimeoutMs: 5000, headersTimeoutMs: 5000, requestTimeoutMs: 5000 });
  try {
    const silent = net.connect(l.port, "127.0.0.1"); // holds a slot without ever starting TLS
    silent.on("error", () => {});
    const holder = tlsClient(l, (s) => setTimeout(() => s.end(), 500));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const refused = await tlsClient(l, (s) => s.write("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
    assert.equal(refused.received, "", "the third connection is not served");
    assert.equal(refused.gaveUp, false);
    silent.destroy();
    await holder;
    const served = await tlsClient(l, (s) => s.write("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
    assert.match(served.received, /^HTTP\/1.1 200 /, "with slots free again, connections are served");
  } finally {
    await l.close();
  }
});

Deno.test("listenerServerOptions maps the limits onto node:https options", () => {
  assert.deepEqual(listenerServerOptions(DEFAULT_LISTENER_LIMITS), {
    handshakeTimeout: 10_000,
    headersTimeout: 10_000,
    requestTimeout: 30_000,
    keepAliveTimeout: 30_000,
    connectionsCheckingInterval: 1000,
  });
  assert.equal(listenerServerOptions(LIMITS).connectionsCheckingInterval, 100);
});

Deno.test("checkListenerLimits refuses zero, fractions, a headers timeout longer than the request timeout, and empty per-source limits", () => {
  assert.throws(() => checkListenerLimits({ ...LIMITS, maxConnections: 0 }), /maxConnections/);
  assert.throws(() => checkListenerLimits({ ...LIMITS, maxConnectionsPerSource: 0 }), /maxConnectionsPerSource/);
  assert.throws(() => checkListenerLimits({ ...LIMITS, handshakeRatePerSource: { ratePerSecond: 0, burst: 1 } }), /handshakeRatePerSource/);
  assert.throws(
    () => checkListenerLimits({ ...LIMITS, handshakeRatePerSource: { ratePerSecond: 5, burst: 0.5 } }),
    /handshakeRatePerSource/,
  );
  checkListenerLimits({ ...LIMITS, maxConnectionsPerSource: null, handshakeRatePerSource: null });
  checkListenerLimits(DEFAULT_LISTENER_LIMITS);
  assert.throws(() => checkListenerLimits({ ...LIMITS, idleTimeoutMs: 1.5 }), /idleTimeoutMs/);
  assert.throws(() => checkListenerLimits({ ...LIMITS, headersTimeoutMs: 900 }), /must not exceed requestTimeoutMs/);
});
