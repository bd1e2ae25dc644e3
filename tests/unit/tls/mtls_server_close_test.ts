/**
 * Lifecycle of the mTLS listener: start failures, and graceful shutdown
 * (close(grace) drains in-flight requests, drops idle connections at once
 * and never hangs).
 */
import assert from "node:assert/strict";
import { createLogger } from "../../../src/observability/logger.ts";
import { startMtlsServer } from "../../../src/tls/mod.ts";
import { delay, keepAliveAgent, request, startHarness } from "./_harness.ts";

/** A latch the test opens; `entered` resolves when a handler is waiting on it. */
function latch() {
  let open!: () => void;
  let entered!: () => void;
  return {
    opened: new Promise<void>((resolve) => open = resolve),
    entered: new Promise<void>((resolve) => entered = resolve),
    open: () => open(),
    enter: () => entered(),
  };
}

Deno.test("close waits for an in-flight request, which completes with Connection: close", async () => {
  const gate = latch();
  const h = await startHarness(async () => {
    gate.enter();
    await gate.opened;
    return new Response("finished late");
  });
  const inFlight = request(h, { path: "/slow" });
  await gate.entered;
  let closed = false;
  const closing = h.close(10_000).then(() => closed = true);
  await delay(50);
  assert.equal(closed, false, "close must wait for the in-flight request");
  gate.open();
  const res = await inFlight;
  assert.equal(res.status, 200);
  assert.equal(res.text, "finished late");
  assert.equal(res.headers.connection, "close");
  const started = performance.now();
  await closing;
  assert.ok(performance.now() - started < 2000, "close resolves soon after the last request");
  await assert.rejects(request(h), (err: Error & { code?: string }) => err.code === "ECONNREFUSED");
});

Deno.test("close with a short grace resolves even if a request never finishes", async () => {
  const gate = latch();
  const h = await startHarness(async () => {
    gate.enter();
    await gate.opened;
    return new Response("too late");
  });
  const inFlight = request(h).then(() => "answered", (err: Error & { code?: string }) => err.code ?? err.message);
  await gate.entered;
  const started = performance.now();
  await h.close(100);
  const took = performance.now() - started;
  assert.ok(took >= 90 && took < 1500, `close took ${took} ms`);
  assert.equal(await inFlight, "ECONNRESET", "the client sees its connection cut");
  assert.ok(h.logs.some((l) => l.msg === "grace period over; destroyed remaining connections"));
  // The handler finishing after its connection was destroyed must not crash anything.
  gate.open();
  await delay(20);
  assert.deepEqual(h.logs.filter((l) => l.level === "error"), []);
});

Deno.test("close does not wait for idle keep-alive connections", async () => {
  const h = await startHarness(() => new Response("ok"));
  const agent = keepAliveAgent(h);
  try {
    assert.equal((await request(h, { agent })).status, 200);
    const started = performance.now();
    await h.close(10_000);
    assert.ok(performance.now() - started < 1000, "idle connections are closed, not waited for");
  } finally {
    agent.destroy();
  }
});

Deno.test("close is idempotent", async () => {
  const h = await startHarness(() => new Response("ok"));
  const first = h.close(1000);
  assert.equal(h.server.close(5), first);
  await first;
  await h.server.close(0);
});

Deno.test("startMtlsServer rejects when the port is already taken", async () => {
  const h = await startHarness(() => new Response("ok"));
  try {
    await assert.rejects(
      startMtlsServer({
        hostname: "127.0.0.1",
        port: h.port,
        cert: h.pki.server.cert,
        key: h.pki.server.key,
        ca: h.pki.ca.cert,
        handler: () => new Response("never"),
        log: createLogger({ sink: () => {} }),
      }),
      (err: Error & { code?: string }) => err.code === "EADDRINUSE",
    );
  } finally {
    await h.close();
  }
});
