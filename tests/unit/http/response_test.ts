import assert from "node:assert/strict";
import {
  emptyResponse,
  isStreamedResponse,
  jsonResponse,
  nativeResponse,
  PreparedResponse,
  setResponseHeader,
  textResponse,
} from "../../../src/http/response.ts";

Deno.test("jsonResponse is a real Response whose headers and body match its prepared fields", async () => {
  const response = jsonResponse({ a: "é" }, { status: 201, headers: { ETag: '"7"', "cache-status": "x; hit" } });
  assert.ok(response instanceof Response);
  assert.ok(response instanceof PreparedResponse);
  assert.deepEqual(response.preparedFields, ["content-type", "application/json", "etag", '"7"', "cache-status", "x; hit"]);
  assert.equal(response.status, 201);
  assert.equal(response.headers.get("content-type"), "application/json"); // not the text/plain a string body implies
  assert.equal(response.headers.get("etag"), '"7"');
  assert.deepEqual(await response.json(), { a: "é" });
});

Deno.test("once headers are read, the Headers object is authoritative and preparedFields is gone", () => {
  const response = textResponse("x", "text/plain") as PreparedResponse;
  response.headers.set("x-extra", "1");
  assert.equal(response.preparedFields, undefined);
  setResponseHeader(response, "x-request-id", "abc");
  assert.equal(response.headers.get("x-request-id"), "abc");
  assert.equal(response.headers.get("x-extra"), "1");
});

Deno.test("setResponseHeader replaces a prepared field like Headers.set, case-insensitively", () => {
  const response = jsonResponse({}, { headers: { "x-request-id": "old" } }) as PreparedResponse;
  response.setHeader("X-Request-Id", "new");
  response.setHeader("x-other", "1");
  assert.deepEqual(response.preparedFields, ["content-type", "application/json", "x-request-id", "new", "x-other", "1"]);
  assert.equal(response.headers.get("x-request-id"), "new");
});

Deno.test("setResponseHeader works on a plain Response too", () => {
  const response = new Response("x");
  setResponseHeader(response, "x-request-id", "abc");
  assert.equal(response.headers.get("x-request-id"), "abc");
});

Deno.test("a prepared response refuses header values that would break the field (CR, LF, NUL)", () => {
  assert.throws(() => jsonResponse({}, { headers: { "x-a": "a\r\nset-cookie: x" } }), TypeError);
  const response = jsonResponse({}) as PreparedResponse;
  assert.throws(() => response.setHeader("x-a", "a\nb"), TypeError);
});

Deno.test("clone() of a prepared response carries its headers and body", async () => {
  const response = jsonResponse({ n: 1 }, { status: 409, headers: { etag: '"3"' } });
  const copy = response.clone();
  assert.equal(copy.status, 409);
  assert.equal(copy.headers.get("etag"), '"3"');
  assert.equal(copy.headers.get("content-type"), "application/json");
  assert.deepEqual(await copy.json(), { n: 1 });
  assert.deepEqual(await response.json(), { n: 1 });
});

Deno.test("emptyResponse has no body and only the given headers", async () => {
  const response = emptyResponse(304, { etag: '"9"' }) as PreparedResponse;
  assert.equal(response.status, 304);
  assert.equal(response.body, null);
  assert.equal(response.preparedText, null);
  assert.equal(response.headers.get("etag"), '"9"');
  assert.equal(response.headers.get("content-type"), null);
  assert.equal(await response.text(), "");
});

Deno.test("a prepared response's body reads through every body method, and only once", async () => {
  const text = JSON.stringify({ a: "é", n: 1 });
  assert.equal(await jsonResponse({ a: "é", n: 1 }).text(), text);
  assert.deepEqual(new TextDecoder().decode(await jsonResponse({ a: "é", n: 1 }).bytes()), text);
  assert.equal(new TextDecoder().decode(await jsonResponse({ a: "é", n: 1 }).arrayBuffer()), text);
  const blob = await jsonResponse({ a: "é", n: 1 }).blob();
  assert.equal(blob.type, "application/json", "the Blob's type is the response's content type, not text/plain");
  assert.equal(await blob.text(), text);
  assert.equal(await new Response(jsonResponse({ a: "é", n: 1 }).body).text(), text);
  const read = jsonResponse({ a: "é", n: 1 });
  assert.equal(read.bodyUsed, false);
  assert.equal(await read.text(), text);
  assert.equal(read.bodyUsed, true);
  await assert.rejects(() => read.text(), TypeError, "a second read fails as on any Response");
  assert.throws(() => read.clone(), TypeError);
});

Deno.test("a prepared response refuses a body on a status that cannot have one, as Response does", () => {
  assert.throws(() => new PreparedResponse("x", 304, []), TypeError);
  assert.throws(() => new PreparedResponse("x", 204, []), TypeError);
  assert.equal(new PreparedResponse(null, 204, []).status, 204);
});

Deno.test("clone() of a prepared response whose body stream was taken tees it", async () => {
  const response = textResponse("hello", "text/plain");
  assert.ok(response.body !== null);
  const copy = response.clone();
  assert.equal(await response.text(), "hello");
  assert.equal(await copy.text(), "hello");
  assert.equal(copy.headers.get("content-type"), "text/plain");
});

Deno.test("nativeResponse puts a prepared response's headers and body where Response's own internals read them", async () => {
  const response = jsonResponse({ ok: true }, { status: 503, headers: { "retry-after": "2" } });
  // Response.prototype's methods read the internal state, as Deno.serve does: the prepared response keeps it empty.
  assert.equal(await Response.prototype.text.call(jsonResponse({ ok: true })), "");
  const native = nativeResponse(response);
  assert.ok(!(native instanceof PreparedResponse));
  assert.equal(native.status, 503);
  assert.equal(await Response.prototype.text.call(native), '{"ok":true}');
  const headers = Object.getOwnPropertyDescriptor(Response.prototype, "headers")!.get!.call(native) as Headers;
  assert.equal(headers.get("retry-after"), "2");
  assert.equal(headers.get("content-type"), "application/json");
  const plain = new Response("x");
  assert.equal(nativeResponse(plain), plain, "a plain Response is passed through");
});

Deno.test("Deno.serve sends the headers and body of a prepared response given through nativeResponse", async () => {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => nativeResponse(jsonResponse({ n: 7 }, { headers: { etag: '"7"' } })),
  );
  try {
    const answer = await fetch(`http://127.0.0.1:${server.addr.port}/`);
    assert.equal(answer.headers.get("etag"), '"7"');
    assert.equal(answer.headers.get("content-type"), "application/json");
    assert.deepEqual(await answer.json(), { n: 7 });
  } finally {
    await server.shutdown();
  }
});

Deno.test("a prepared response keeps the caller's bytes of its text, for the listener, through clone()", async () => {
  const bytes = new TextEncoder().encode("ünï");
  const response = textResponse("ünï", "text/plain", { bytes }) as PreparedResponse;
  assert.equal(response.preparedBytes, bytes);
  assert.equal((response.clone() as PreparedResponse).preparedBytes, bytes);
  assert.equal(await response.text(), "ünï");
  assert.equal((textResponse("x", "text/plain") as PreparedResponse).preparedBytes, undefined);
});

Deno.test("reading a prepared response's body leaves its prepared fields for the listener", async () => {
  const response = jsonResponse({ n: 1 }, { headers: { etag: '"1"' } }) as PreparedResponse;
  assert.deepEqual(await response.json(), { n: 1 });
  assert.deepEqual(response.preparedFields, ["content-type", "application/json", "etag", '"1"']);
});

Deno.test("isStreamedResponse streams event streams, NDJSON, JSON Lines, octet streams and untyped bodies, and nothing else", async (t) => {
  const cases: [string | null, boolean][] = [
    ["text/event-stream", true],
    ["text/event-stream; charset=utf-8", true],
    ["application/x-ndjson", true],
    ["Application/NDJSON", true],
    ["application/jsonl", true],
    ["application/octet-stream", true],
    [null, true],
    ["application/json", false],
    ["application/problem+json", false],
    ["text/plain; charset=utf-8", false],
    ["application/jsonlines", false],
  ];
  for (const [type, streamed] of cases) {
    await t.step(String(type), () => {
      const response = new Response("x", type === null ? undefined : { headers: { "content-type": type } });
      if (type === null) response.headers.delete("content-type");
      assert.equal(isStreamedResponse(response), streamed);
    });
  }
});
