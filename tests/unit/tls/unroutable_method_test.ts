import assert from "node:assert/strict";
import { createRouter } from "../../../src/http/router.ts";
import { request, startHarness } from "./_harness.ts";

Deno.test("TRACE and CONNECT, which a fetch Request cannot carry, get 405 with Allow on known paths and 404 elsewhere", async () => {
  const router = createRouter([
    { method: "GET", path: "/things/:id", name: "get", handler: () => new Response("ok") },
    { method: "PUT", path: "/things/:id", name: "put", handler: () => new Response("ok") },
  ]);
  let handled = 0;
  const harness = await startHarness(() => {
    handled++;
    return new Response("routed");
  }, { refusal: router.refusal });
  try {
    const trace = await request(harness, { method: "TRACE", path: "/things/1" });
    assert.equal(trace.status, 405);
    assert.equal(trace.headers["allow"], "GET, HEAD, PUT");
    assert.equal(trace.headers["content-type"], "application/problem+json");
    assert.match(JSON.parse(trace.text).detail, /TRACE is not supported/);
    const unknown = await request(harness, { method: "TRACE", path: "/nowhere" });
    assert.equal(unknown.status, 404);
    assert.equal(handled, 0, "never reached the handler");
    assert.equal((await request(harness, { path: "/things/1" })).status, 200, "other methods still route");
  } finally {
    await harness.close();
  }
});
