import assert from "node:assert/strict";
import { emptyResponse, jsonResponse, PreparedResponse, setResponseHeader, textResponse } from "../../../src/http/response.ts";

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
