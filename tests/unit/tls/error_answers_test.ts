/**
 * One way for errors: every listener (the app behind the router, the mTLS transport's own refusals and failures,
 * the plain-HTTP probe listener) answers errors as problem+json rendered by http/problem.ts, and a failure is
 * the same 500 everywhere.
 */
import assert from "node:assert/strict";
import { createApp } from "../../../src/http/app.ts";
import { createRouter } from "../../../src/http/router.ts";
import { startProbeServer } from "../../../src/http/probe_server.ts";
import type { Handler } from "../../../src/http/types.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import { request, startHarness, tlsExchange } from "./_harness.ts";

const PROBLEM = "application/problem+json";
const quiet = createLogger({ sink: () => {} });
const failing: Handler = () => {
  throw new Error("secret internal detail");
};

/** The parts of a problem every listener must agree on (the instance is the request's path where it is known). */
function essence(text: string): Record<string, unknown> {
  const { instance: _instance, ...rest } = JSON.parse(text);
  return rest;
}

/** The app's own 500 for a failing handler, without sockets: the reference every listener is compared with. */
async function appFiveHundred(): Promise<{ text: string; headers: Headers }> {
  const app = createApp({
    router: createRouter([{ method: "GET", path: "/x", name: "x", handler: failing }]),
    log: quiet,
    accessLog: false,
  });
  const response = await app(new Request("https://localhost/x"), { remoteAddr: "127.0.0.1", params: {} });
  assert.equal(response.status, 500);
  return { text: await response.text(), headers: response.headers };
}

Deno.test("a failing handler gets the same problem+json 500 from the app, the mTLS transport and the probe listener", async () => {
  const reference = await appFiveHundred();
  assert.equal(reference.headers.get("content-type"), PROBLEM);
  assert.deepEqual(essence(reference.text), {
    type: "about:blank",
    title: "Internal Server Error",
    status: 500,
    detail: "An unexpected error occurred; it has been logged.",
  });

  const mtls = await startHarness(failing);
  try {
    const res = await request(mtls, { path: "/x" });
    assert.equal(res.status, 500);
    assert.equal(res.headers["content-type"], PROBLEM);
    assert.equal(res.headers["cache-control"], "no-store");
    assert.equal(res.text, reference.text, "byte for byte the app's answer, instance included");
  } finally {
    await mtls.close();
  }

  const probe = startProbeServer({ hostname: "127.0.0.1", port: 0, handler: failing, log: quiet });
  try {
    const res = await fetch(`http://127.0.0.1:${probe.port}/x`);
    const text = await res.text();
    assert.equal(res.status, 500);
    assert.equal(res.headers.get("content-type"), PROBLEM);
    assert.equal(res.headers.get("cache-control"), "no-store");
    // Deno.serve's onError is not told the request, so this one problem has no instance.
    assert.deepEqual(essence(text), essence(reference.text));
    assert.ok(!text.includes("secret"));
  } finally {
    await probe.close();
  }
});

Deno.test("the transport refuses TRACE in the router's words, and without a router with a 501 problem", async () => {
  const router = createRouter([{ method: "PUT", path: "/things/:id", name: "put", handler: () => new Response("ok") }]);
  const routed = await startHarness(() => new Response("routed"), { refusal: router.refusal });
  try {
    const res = await request(routed, { method: "TRACE", path: "/things/1" });
    const expected = router.refusal("TRACE", "/things/1");
    assert.equal(res.status, 405);
    assert.equal(res.headers["content-type"], PROBLEM);
    assert.equal(res.headers["allow"], expected.headers.allow);
    assert.deepEqual(JSON.parse(res.text), {
      type: "about:blank",
      title: "Method Not Allowed",
      status: 405,
      detail: expected.detail,
      instance: "/things/1",
    });
    assert.throws(() => router.match("TRACE", "/things/1"), (err) => err instanceof Error && err.message === expected.detail);
  } finally {
    await routed.close();
  }
  const bare = await startHarness(() => new Response("routed"));
  try {
    const res = await request(bare, { method: "TRACE", path: "/anything" });
    assert.equal(res.status, 501);
    assert.equal(res.headers["content-type"], PROBLEM);
    assert.equal(JSON.parse(res.text).title, "Not Implemented");
  } finally {
    await bare.close();
  }
});

Deno.test("a request the transport cannot adapt is a problem+json 400 with no-store, like the app's problems", async () => {
  const h = await startHarness(() => new Response("never"));
  try {
    const out = await tlsExchange(h, h.pki.alice, "GET * HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    assert.match(out.received, /^HTTP\/1\.1 400/);
    assert.match(out.received, /content-type: application\/problem\+json/i);
    assert.match(out.received, /cache-control: no-store/i);
  } finally {
    await h.close();
  }
});
