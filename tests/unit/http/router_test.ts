import assert from "node:assert/strict";
import { createRouter, type Method, type Route } from "../../../src/http/router.ts";
import { HttpError } from "../../../src/http/http_error.ts";
import { createApp } from "../../../src/http/app.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import type { RequestContext } from "../../../src/http/types.ts";

const CONTEXT: RequestContext = { remoteAddr: "127.0.0.1:1", params: {} };

/** A route whose handler answers with its own name and the params it received. */
function route(method: Method, path: string, name = `${method} ${path}`): Route {
  return { method, path, name, handler: (_request, context) => Response.json({ name, params: context.params }) };
}

function testRouter() {
  return createRouter([
    route("GET", "/things"),
    route("POST", "/things"),
    route("GET", "/things/:id"),
    route("PUT", "/things/:id"),
    route("DELETE", "/things/:id"),
    route("PUT", "/write-only"),
    route("GET", "/things/:id/parts/:part"),
  ]);
}

function assertHttpError(fn: () => unknown, status: number): HttpError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof HttpError, `expected HttpError ${status}, got ${caught}`);
  assert.equal(caught.status, status);
  return caught;
}

Deno.test("router matches a route by method and path", () => {
  const router = testRouter();
  assert.equal(router.match("GET", "/things").route.name, "GET /things");
  assert.equal(router.match("POST", "/things").route.name, "POST /things");
  assert.equal(router.match("PUT", "/things/7").route.name, "PUT /things/:id");
  assert.deepEqual(router.match("GET", "/things/7/parts/wheel").params, { id: "7", part: "wheel" });
});

Deno.test("router answers 404 for an unknown path", async (t) => {
  const router = testRouter();
  for (const path of ["/", "/nope", "/things/", "/things/7/", "/things/7/parts", "/things/7/parts/a/b", "/THINGS", "//things"]) {
    await t.step(path, () => {
      const error = assertHttpError(() => router.match("GET", path), 404);
      assert.ok(error.detail.includes(path));
    });
  }
});

Deno.test("router answers 405 with a sorted Allow header for a known path and wrong method", async (t) => {
  const router = testRouter();
  const cases: [string, string, string][] = [
    ["POST", "/things/7", "DELETE, GET, HEAD, PUT"],
    ["PATCH", "/things", "GET, HEAD, POST"],
    ["OPTIONS", "/things/7/parts/x", "GET, HEAD"],
    ["GET", "/write-only", "PUT"],
    ["HEAD", "/write-only", "PUT"],
  ];
  for (const [method, path, allow] of cases) {
    await t.step(`${method} ${path}`, () => {
      const error = assertHttpError(() => router.match(method, path), 405);
      assert.equal(error.headers.allow, allow);
    });
  }
});

Deno.test("router.refusal is the very 404 or 405 match throws, for the transport's methods too", async (t) => {
  const router = testRouter();
  const cases: [string, string, number][] = [
    ["POST", "/things/7", 405],
    ["GET", "/write-only", 405],
    ["GET", "/nope", 404],
    ["TRACE", "/things/7/parts/x", 405],
    ["CONNECT", "/nope", 404],
  ];
  for (const [method, path, status] of cases) {
    await t.step(`${method} ${path}`, () => {
      const thrown = assertHttpError(() => router.match(method, path), status);
      const refusal = router.refusal(method, path);
      assert.ok(refusal instanceof HttpError);
      assert.equal(refusal.status, status);
      assert.equal(refusal.detail, thrown.detail);
      assert.deepEqual(refusal.headers, thrown.headers);
    });
  }
  assert.equal(router.refusal("TRACE", "/things/7").headers.allow, "DELETE, GET, HEAD, PUT");
});

Deno.test("app renders a router 405 as problem+json carrying the Allow header", async () => {
  const app = createApp({ router: testRouter(), log: createLogger({ sink: () => {} }), accessLog: false });
  const response = await app(new Request("https://localhost/things/7", { method: "POST", body: "{}" }), CONTEXT);
  assert.equal(response.status, 405);
  assert.equal(response.headers.get("allow"), "DELETE, GET, HEAD, PUT");
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  assert.equal((await response.json()).status, 405);
});

Deno.test("router answers HEAD with the GET route", async () => {
  const router = testRouter();
  const found = router.match("HEAD", "/things/7");
  assert.equal(found.route.method, "GET");
  assert.equal(found.route.name, "GET /things/:id");
  const response = await router.handle(new Request("https://localhost/things/7", { method: "HEAD" }), CONTEXT);
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { name: "GET /things/:id", params: { id: "7" } });
});

Deno.test("router passes percent-decoded path params to the handler", async (t) => {
  const router = testRouter();
  const cases: [string, string][] = [
    ["/things/a%20b", "a b"],
    ["/things/a%2Db", "a-b"],
    ["/things/a%2Fb", "a/b"],
    ["/things/%C3%BC", "ü"],
    ["/things/plain", "plain"],
  ];
  for (const [path, id] of cases) {
    await t.step(path, async () => {
      assert.equal(router.match("GET", path).params.id, id);
      const response = await router.handle(new Request(`https://localhost${path}`), CONTEXT);
      assert.deepEqual((await response.json()).params, { id });
    });
  }
});

Deno.test("router answers 400 for malformed percent-encoding in a path param", async (t) => {
  const router = testRouter();
  for (const path of ["/things/%zz", "/things/%E0%A4%A", "/things/%", "/things/%C3"]) {
    await t.step(path, () => {
      assertHttpError(() => router.match("GET", path), 400);
    });
  }
});

Deno.test("app renders malformed percent-encoding as a 400 problem, not a crash", async () => {
  const app = createApp({ router: testRouter(), log: createLogger({ sink: () => {} }), accessLog: false });
  const response = await app(new Request("https://localhost/things/%E0%A4%A"), CONTEXT);
  assert.equal(response.status, 400);
  assert.equal(response.headers.get("content-type"), "application/problem+json");
  await response.body?.cancel();
});

Deno.test("router refuses a duplicate route registration", () => {
  assert.throws(() => createRouter([route("GET", "/x", "a"), route("GET", "/x", "b")]), /duplicate route GET \/x/);
});

Deno.test("router accepts the same path with different methods", () => {
  const router = createRouter([route("GET", "/x"), route("PUT", "/x")]);
  assert.equal(router.routes.length, 2);
});

Deno.test("router uses a later route whose pattern also matches when the first matching pattern lacks the method", () => {
  // A static path registered next to a parameterised one (e.g. /things/:id and /things/search) must not be
  // hidden by it: the method decides among every pattern that matches, and Allow lists all of their methods.
  const router = createRouter([route("GET", "/things/:id"), route("POST", "/things/search")]);
  assert.equal(router.match("POST", "/things/search").route.name, "POST /things/search");
  const error = assertHttpError(() => router.match("DELETE", "/things/search"), 405);
  assert.equal(error.headers.allow, "GET, HEAD, POST");
});

Deno.test("router answers a repeated request line with the same match, whose parameters cannot be changed", () => {
  const router = testRouter();
  const first = router.match("GET", "/things/a%20b");
  const again = router.match("GET", "/things/a%20b");
  assert.equal(again, first, "remembered, not matched again");
  assert.deepEqual(first.params, { id: "a b" });
  assert.ok(Object.isFrozen(first.params) && Object.isFrozen(first));
  assert.throws(() => {
    (first.params as Record<string, string>).id = "other";
  }, TypeError);
  // HEAD shares GET's routes and so its matches; another method on the same path is matched on its own.
  assert.equal(router.match("HEAD", "/things/a%20b").route, first.route);
  assert.equal(router.match("PUT", "/things/a%20b").route.name, "PUT /things/:id");
});

Deno.test("router never remembers a 404, 405 or 400: each repeat is refused again", () => {
  const router = testRouter();
  for (let i = 0; i < 2; i++) {
    assertHttpError(() => router.match("GET", "/nothing-here"), 404);
    assertHttpError(() => router.match("POST", "/things/x"), 405);
    assertHttpError(() => router.match("GET", "/things/%E0%A4%A"), 400);
  }
});

Deno.test("router stays correct past its memo's bound (many distinct paths, then the first again)", () => {
  const router = testRouter();
  const first = router.match("GET", "/things/0");
  for (let i = 1; i <= 5_000; i++) assert.deepEqual(router.match("GET", `/things/${i}`).params, { id: String(i) });
  const again = router.match("GET", "/things/0");
  assert.deepEqual(again.params, { id: "0" });
  assert.equal(again.route, first.route);
  // A path longer than the memo keeps is matched every time, and correctly.
  const long = `/things/${"x".repeat(600)}`;
  assert.equal(router.match("GET", long).params.id.length, 600);
  assert.notEqual(router.match("GET", long), router.match("GET", long));
});

/** /things with a watch mode and /things/:id with a wait mode, each a route of its own. */
function modesRouter() {
  return createRouter([
    route("GET", "/things", "list"),
    { ...route("GET", "/things", "watch"), query: "watch=true" },
    route("GET", "/things/:id", "get"),
    { ...route("GET", "/things/:id", "get_wait"), query: "wait=done" },
    route("PUT", "/things/:id", "put"),
    { ...route("PUT", "/things/:id", "put_wait"), query: "wait=done" },
  ]);
}

Deno.test("router picks a route with a query when the request's query has that value, the plain route otherwise", async (t) => {
  const router = modesRouter();
  const cases: [string, string, string][] = [
    ["GET", "/things?watch=true", "watch"],
    ["HEAD", "/things?watch=true", "watch"],
    ["GET", "/things?x=1&watch=true", "watch"],
    ["GET", "/things", "list"],
    ["GET", "/things?watch=false", "list"],
    ["GET", "/things?watch=TRUE", "list"],
    ["GET", "/things?watch", "list"],
    ["GET", "/things/7?wait=done", "get_wait"],
    ["PUT", "/things/7?wait=done", "put_wait"],
    ["PUT", "/things/7?wait=later", "put"],
    ["GET", "/things/7?watch=true", "get"],
  ];
  for (const [method, target, name] of cases) {
    await t.step(`${method} ${target}`, () => {
      const url = `https://localhost${target}`;
      const found = router.match(method, new URL(url).pathname, url);
      assert.equal(found.route.name, name);
    });
  }
  // The path parameters are the plain match's, and the query route's handler is the one that runs.
  const found = router.match("GET", "/things/a%20b", "https://localhost/things/a%20b?wait=done");
  assert.deepEqual(found.params, { id: "a b" });
  const response = await router.handle(new Request("https://localhost/things/7?wait=done"), CONTEXT);
  assert.equal((await response.json()).name, "get_wait");
});

Deno.test("router without the URL matches only plain routes, and a query route changes no 404 or 405", () => {
  const router = modesRouter();
  assert.equal(router.match("GET", "/things").route.name, "list");
  const error = assertHttpError(() => router.match("POST", "/things", "https://localhost/things?watch=true"), 405);
  assert.equal(error.headers.allow, "GET, HEAD");
  assertHttpError(() => router.match("GET", "/nothing", "https://localhost/nothing?watch=true"), 404);
  assert.equal(router.refusal("TRACE", "/things/7").headers.allow, "GET, HEAD, PUT");
});

Deno.test("app counts and logs a query route under its own name", async () => {
  const lines: string[] = [];
  const app = createApp({ router: modesRouter(), log: createLogger({ sink: (line) => lines.push(line) }), accessLog: true });
  for (const target of ["/things?watch=true", "/things"]) {
    await (await app(new Request(`https://localhost${target}`), CONTEXT)).body?.cancel();
  }
  assert.deepEqual(lines.map((line) => JSON.parse(line).route), ["watch", "list"]);
});

Deno.test("router refuses a query route without a plain route, a malformed query and a duplicate", () => {
  assert.throws(() => createRouter([{ ...route("GET", "/x", "w"), query: "watch=true" }]), /needs a plain route GET \/x/);
  for (const query of ["watch", "=true", "a=b=c"]) {
    assert.throws(() => createRouter([route("GET", "/x"), { ...route("GET", "/x", "w"), query }]), /query must be "name=value"/, query);
  }
  const twice = { ...route("GET", "/x", "w"), query: "watch=true" };
  assert.throws(() => createRouter([route("GET", "/x"), twice, twice]), /duplicate route GET \/x\?watch=true/);
});
