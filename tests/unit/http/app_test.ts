import assert from "node:assert/strict";
import { createRouter } from "../../../src/http/router.ts";
import { createApp } from "../../../src/http/app.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import { jsonResponse } from "../../../src/http/response.ts";
import { HttpError } from "../../../src/http/http_error.ts";
import { createServiceMetrics } from "../../../src/observability/service_metrics.ts";
import type { Handler, RequestContext } from "../../../src/http/types.ts";
import { CONTENT_SECURITY_POLICY, SECURITY_HEADERS } from "../../../src/http/security_headers.ts";

const CONTEXT: RequestContext = { remoteAddr: "127.0.0.1", params: {} };

function appWith(handler: Handler, metrics = createServiceMetrics()) {
  const router = createRouter([{ method: "GET", path: "/x", name: "x", handler }]);
  let id = 0;
  const app = createApp({
    router,
    log: createLogger({ sink: () => {} }),
    accessLog: false,
    metrics: metrics.http,
    newRequestId: () => `id-${++id}`,
  });
  return { app, metrics };
}

Deno.test("a synchronous handler's answer comes back as a Response, not a promise, with its request id", () => {
  const { app, metrics } = appWith(() => jsonResponse({ ok: true }));
  const result = app(new Request("https://localhost/x"), CONTEXT);
  assert.ok(result instanceof Response, "no promise on the synchronous path");
  assert.equal(result.headers.get("x-request-id"), "id-1");
  assert.match(metrics.registry.render(), /replica_api_http_requests_total\{listener="api",route="x",method="GET",status="200"\} 1/);
});

Deno.test("a synchronous throw and an asynchronous rejection both become the same problem response", async () => {
  for (
    const handler of [() => {
      throw new HttpError(409, "busy");
    }, () => Promise.reject(new HttpError(409, "busy"))] as Handler[]
  ) {
    const { app } = appWith(handler);
    const response = await app(new Request("https://localhost/x"), CONTEXT);
    assert.equal(response.status, 409);
    assert.equal(response.headers.get("content-type"), "application/problem+json");
    assert.equal(response.headers.get("x-request-id"), "id-1");
    assert.equal((await response.json()).detail, "busy");
  }
});

Deno.test("request metrics count every outcome of a route separately and keep in-flight balanced", async () => {
  let status = 200;
  const { app, metrics } = appWith(() => status === 200 ? jsonResponse({}) : Promise.reject(new HttpError(status, "no")));
  for (const s of [200, 200, 404, 200, 404, 503]) {
    status = s;
    const response = await app(new Request("https://localhost/x"), CONTEXT);
    await response.body?.cancel();
  }
  const text = metrics.registry.render();
  for (const [s, n] of [["200", 3], ["404", 2], ["503", 1]]) {
    assert.match(text, new RegExp(`replica_api_http_requests_total\\{listener="api",route="x",method="GET",status="${s}"\\} ${n}\\n`));
  }
  assert.match(text, /replica_api_http_request_duration_seconds_count\{listener="api",route="x"\} 6\n/);
  assert.match(text, /replica_api_http_requests_in_flight\{listener="api"\} 0\n/);
});

Deno.test("the security headers are on every response of the app: answers, problems and unknown routes", async () => {
  const router = createRouter([{ method: "GET", path: "/x", name: "x", handler: () => jsonResponse({}) }]);
  const app = createApp({
    router,
    log: createLogger({ sink: () => {} }),
    accessLog: false,
    responseHeaders: SECURITY_HEADERS,
  });
  for (const [path, status] of [["/x", 200], ["/nope", 404]] as const) {
    const response = await app(new Request(`https://localhost${path}`), CONTEXT);
    assert.equal(response.status, status);
    assert.equal(response.headers.get("content-security-policy"), CONTENT_SECURITY_POLICY);
    assert.match(CONTENT_SECURITY_POLICY, /frame-ancestors 'none'/);
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval/);
    assert.equal(response.headers.get("x-content-type-options"), "nosniff");
    assert.equal(response.headers.get("referrer-policy"), "no-referrer");
  }
});

Deno.test("a cross-site browser write is refused with a 403 problem before it reaches its handler, and reported once", async () => {
  let called = 0;
  const refused: string[] = [];
  const router = createRouter([
    { method: "PUT", path: "/x", name: "x", handler: () => (called++, jsonResponse({})) },
    { method: "GET", path: "/x", name: "x_get", handler: () => (called++, jsonResponse({})) },
  ]);
  const app = createApp({
    router,
    log: createLogger({ sink: () => {} }),
    accessLog: false,
    crossOrigin: { refused: (reason) => void refused.push(reason) },
  });
  const put = await app(new Request("https://localhost/x", { method: "PUT", headers: { "sec-fetch-site": "cross-site" } }), CONTEXT);
  assert.equal(put.status, 403);
  assert.equal(put.headers.get("content-type"), "application/problem+json");
  assert.match((await put.json()).detail, /Sec-Fetch-Site/);
  assert.equal(called, 0, "the handler never ran");
  assert.deepEqual(refused, ["sec-fetch-site:cross-site"]);
  const get = await app(new Request("https://localhost/x", { headers: { "sec-fetch-site": "cross-site" } }), CONTEXT);
  assert.equal(get.status, 200, "a cross-site read is not refused (it changes nothing)");
  const same = await app(new Request("https://localhost/x", { method: "PUT", headers: { "sec-fetch-site": "same-origin" } }), CONTEXT);
  assert.equal(same.status, 200);
  assert.equal(called, 2);
});
