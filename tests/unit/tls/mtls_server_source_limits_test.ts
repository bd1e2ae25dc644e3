/**
 * Per-source connection limits on a real mTLS listener. Linux routes all of
 * 127.0.0.0/8 to loopback, so clients bound to 127.0.0.2, 127.0.0.3, ... are
 * different sources. These check Deno's node:https as much as our code: a
 * refused connection must be closed before the TLS layer sees it, and every
 * way a connection can end must give its slot back.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { DEFAULT_LISTENER_LIMITS, type ListenerLimits } from "../../../src/limits/mod.ts";
import { captureClientHello } from "../../support/client_hello.ts";
import { delay, type Harness, startHarness, tlsExchange } from "./_harness.ts";

const QUICK: ListenerLimits = {
  ...DEFAULT_LISTENER_LIMITS,
  handshakeTimeoutMs: 300,
  headersTimeoutMs: 400,
  requestTimeoutMs: 800,
  idleTimeoutMs: 300,
};
const GET_CLOSE = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
/** Time for the server to see a connect or a close on loopback. */
const SETTLE_MS = 100;

/** A harness whose handler answers 200 "ok", recording every per-source refusal. */
async function limitedServer(limits: Partial<ListenerLimits>): Promise<Harness & { refused: string[] }> {
  const refused: string[] = [];
  const h = await startHarness(() => new Response("ok"), {
    limits: { ...QUICK, ...limits },
    onConnectionRefused: (reason) => refused.push(reason),
  });
  return Object.assign(h, { refused });
}

/** A mTLS GET with alice's certificate from `localAddress`; "200" when served, else what the client saw. */
async function getFrom(h: Harness, localAddress: string): Promise<string> {
  const outcome = await tlsExchange(h, h.pki.alice, GET_CLOSE, { localAddress });
  if (/^HTTP\/1.1 200 /.test(outcome.received)) return "200";
  return `not served (secured: ${outcome.secured}, error: ${outcome.error}, received: ${JSON.stringify(outcome.received)})`;
}

interface RawConnection {
  readonly socket: net.Socket;
  /** Bytes the server sent. */
  readonly received: () => number;
  /** Resolves when the connection is closed (by either side). */
  readonly closed: Promise<void>;
}

/** A plain TCP connection from `localAddress` that sends `bytes` (if any) and then holds on. */
async function rawFrom(h: Harness, localAddress: string, bytes?: Uint8Array): Promise<RawConnection> {
  let received = 0;
  const socket = net.connect({ host: "127.0.0.1", port: h.port, localAddress });
  socket.on("data", (chunk: Uint8Array) => received += chunk.byteLength);
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await new Promise<void>((resolve) => socket.once("connect", resolve).once("close", resolve));
  if (bytes) socket.write(bytes);
  return { socket, received: () => received, closed };
}

Deno.test("a source at MAX_CONNECTIONS_PER_SOURCE is refused while another source is still served", async () => {
  const h = await limitedServer({ maxConnectionsPerSource: 2, handshakeRatePerSource: null });
  try {
    const holders = [await rawFrom(h, "127.0.0.2"), await rawFrom(h, "127.0.0.2")];
    await delay(SETTLE_MS);
    assert.match(await getFrom(h, "127.0.0.2"), /^not served \(secured: false/, "a third connection from the same source");
    assert.deepEqual(h.refused, ["per_source_connections"]);
    assert.equal(await getFrom(h, "127.0.0.3"), "200", "another source is served meanwhile");
    holders[0].socket.destroy();
    await delay(SETTLE_MS);
    assert.equal(await getFrom(h, "127.0.0.2"), "200", "a closed connection gives its slot back");
    holders[1].socket.destroy();
  } finally {
    await h.close();
  }
});

Deno.test("HANDSHAKE_RATE_PER_SOURCE refuses a burst beyond its size and admits again once a token is back", async () => {
  const h = await limitedServer({ maxConnectionsPerSource: null, handshakeRatePerSource: { ratePerSecond: 2, burst: 2 } });
  try {
    const burst = [await getFrom(h, "127.0.0.4"), await getFrom(h, "127.0.0.4"), await getFrom(h, "127.0.0.4")];
    assert.deepEqual(burst.map((r) => r === "200"), [true, true, false], burst.join("; "));
    assert.deepEqual(h.refused, ["per_source_rate"]);
    assert.equal(await getFrom(h, "127.0.0.5"), "200", "another source has its own bucket");
    await delay(600); // one token per 500 ms
    assert.equal(await getFrom(h, "127.0.0.4"), "200");
  } finally {
    await h.close();
  }
});

Deno.test("a refused connection gets no TLS: its ClientHello is answered with nothing and no handshake failure is reported", async () => {
  const h = await limitedServer({ maxConnectionsPerSource: 1, handshakeRatePerSource: null });
  try {
    const hello = await captureClientHello();
    const holder = await rawFrom(h, "127.0.0.6");
    await delay(SETTLE_MS);
    const started = performance.now();
    const refused = await rawFrom(h, "127.0.0.6", hello);
    await refused.closed;
    assert.equal(refused.received(), 0, "not a byte of ServerHello");
    assert.ok(performance.now() - started < 1000, "closed at once, not after the handshake timeout");
    await delay(SETTLE_MS);
    assert.deepEqual(h.refused, ["per_source_connections"]);
    assert.deepEqual(h.tlsErrors, [], "not a TLS handshake failure: no handshake was attempted");
    assert.equal(h.logs.filter((l) => /TLS handshake/.test(l.msg)).length, 0);

    // The control: the same bytes from an admitted source are answered with the server's first flight.
    const admitted = await rawFrom(h, "127.0.0.7", hello);
    for (let i = 0; i < 50 && admitted.received() === 0; i++) await delay(20);
    assert.ok(admitted.received() > 0, "an admitted ClientHello gets a ServerHello");
    admitted.socket.destroy();
    holder.socket.destroy();
  } finally {
    await h.close();
  }
});

Deno.test("every way a connection ends gives its per-source slot back", async (t) => {
  const h = await limitedServer({ maxConnectionsPerSource: 1, handshakeRatePerSource: null });
  const source = "127.0.0.8";
  const stillAdmitted = async () => {
    await delay(SETTLE_MS);
    assert.equal(await getFrom(h, source), "200");
  };
  try {
    await t.step("a request with Connection: close, answered", async () => {
      assert.equal(await getFrom(h, source), "200");
      await stillAdmitted();
    });
    await t.step("a TCP connection that never starts TLS, closed by the handshake timeout", async () => {
      await (await rawFrom(h, source)).closed;
      await stillAdmitted();
    });
    await t.step("a handshake without a client certificate, refused by TLS", async () => {
      const outcome = await tlsExchange(h, {}, GET_CLOSE, { localAddress: source });
      assert.equal(outcome.received, "");
      await stillAdmitted();
    });
    await t.step("an authenticated connection that never sends a request, closed by the headers timeout", async () => {
      // Deno's TLS client sometimes sees the server's close only as 'end', never 'close': hang up on the 408.
      const outcome = await tlsExchange(h, h.pki.alice, "", { localAddress: source }, (received) => received.includes("\r\n\r\n"));
      assert.match(outcome.received, /^HTTP\/1.1 408 /);
      await stillAdmitted();
    });
    await t.step("a keep-alive connection, closed by the idle timeout", async () => {
      const outcome = await tlsExchange(h, h.pki.alice, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", { localAddress: source });
      assert.match(outcome.received, /^HTTP\/1.1 200 /);
      await stillAdmitted();
    });
    assert.deepEqual(h.refused, [], "no connection was refused along the way");
  } finally {
    await h.close();
  }
});

Deno.test("a flood of refused connections is counted one by one but logged as one warning", async () => {
  const h = await limitedServer({ maxConnectionsPerSource: 1, handshakeRatePerSource: null });
  try {
    const holder = await rawFrom(h, "127.0.0.9");
    await delay(SETTLE_MS);
    const flood = await Promise.all(Array.from({ length: 30 }, () => rawFrom(h, "127.0.0.9")));
    await Promise.all(flood.map((c) => c.closed));
    await delay(SETTLE_MS);
    assert.equal(h.refused.length, 30);
    const warnings = h.logs.filter((l) => l.msg === "connections refused by per-source limits");
    assert.equal(warnings.length, 1, "one line, not one per refused socket");
    assert.equal(warnings[0].level, "warn");
    assert.equal(warnings[0].source, "127.0.0.9");
    assert.equal(warnings[0].reason, "per_source_connections");
    holder.socket.destroy();
  } finally {
    await h.close();
  }
});
