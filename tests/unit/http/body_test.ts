import assert from "node:assert/strict";
import { MAX_BODY_BYTES, readJsonBody, readOptionalJsonBody } from "../../../src/http/body.ts";
import { HttpError } from "../../../src/http/http_error.ts";

const URL_ = "https://localhost/api/v1/namespaces/prod/deployments/web/replicas";
const encoder = new TextEncoder();

function put(body: BodyInit | null, headers: Record<string, string> = { "content-type": "application/json" }): Request {
  return new Request(URL_, { method: "PUT", headers, body });
}

/** A body of `total` bytes delivered in 16 KiB chunks, with no Content-Length; records whether it was cancelled. */
function streamOf(total: number, byte = 0x20) {
  const state = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const size = Math.min(16 * 1024, total - state.pulled);
      if (size <= 0) return controller.close();
      state.pulled += size;
      controller.enqueue(new Uint8Array(size).fill(byte));
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { stream, state };
}

async function assertStatus(promise: Promise<unknown>, status: number, detail?: RegExp): Promise<HttpError> {
  let caught: unknown;
  try {
    await promise;
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof HttpError, `expected HttpError ${status}, got ${caught}`);
  assert.equal(caught.status, status, caught.detail);
  if (detail) assert.match(caught.detail, detail);
  return caught;
}

Deno.test("readJsonBody parses one JSON object sent as application/json", async () => {
  assert.deepEqual(await readJsonBody(put('{"replicas":3}')), { replicas: 3 });
});

Deno.test("readJsonBody accepts application/json with parameters and in any case", async (t) => {
  for (const type of ["application/json; charset=utf-8", "Application/JSON", "application/json;charset=UTF-8", " application/json "]) {
    await t.step(type, async () => {
      assert.deepEqual(await readJsonBody(put('{"replicas":3}', { "content-type": type })), { replicas: 3 });
    });
  }
});

Deno.test("readJsonBody accepts surrounding whitespace and a UTF-8 byte order mark", async () => {
  assert.deepEqual(await readJsonBody(put('\n  {"replicas":3}\r\n')), { replicas: 3 });
  const bom = new Uint8Array([0xef, 0xbb, 0xbf, ...encoder.encode('{"replicas":4}')]);
  assert.deepEqual(await readJsonBody(put(bom)), { replicas: 4 });
});

Deno.test("readJsonBody answers 415 when the content type is missing or not JSON", async (t) => {
  await t.step("missing", async () => {
    // A Uint8Array body gets no implicit content type (a string body would get text/plain).
    const request = put(encoder.encode('{"replicas":3}'), {});
    assert.equal(request.headers.get("content-type"), null);
    await assertStatus(readJsonBody(request), 415, /Content-Type: application\/json/);
  });
  for (
    const type of [
      "text/plain",
      "text/plain;charset=UTF-8",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "json",
      "application/jsonx",
    ]
  ) {
    await t.step(type, async () => {
      const error = await assertStatus(readJsonBody(put('{"replicas":3}', { "content-type": type })), 415);
      assert.equal(error.headers["accept-put"], "application/json");
    });
  }
});

Deno.test("readJsonBody answers 415 without reading the body", async () => {
  const { stream, state } = streamOf(1024);
  await assertStatus(readJsonBody(put(stream, { "content-type": "text/plain" })), 415);
  assert.ok(state.cancelled, "the body should be cancelled");
});

Deno.test("readJsonBody answers 413 when Content-Length exceeds the limit, without reading", async () => {
  const { stream, state } = streamOf(1024);
  const request = put(stream, { "content-type": "application/json", "content-length": String(MAX_BODY_BYTES + 1) });
  await assertStatus(readJsonBody(request), 413, new RegExp(`${MAX_BODY_BYTES + 1} bytes; the limit is ${MAX_BODY_BYTES}`));
  assert.equal(state.pulled <= 16 * 1024, true, "at most the first chunk may have been buffered");
  assert.ok(state.cancelled, "the body should be cancelled");
});

Deno.test("readJsonBody answers 413 while streaming a body without Content-Length over 64 KiB", async () => {
  const { stream, state } = streamOf(10 * 1024 * 1024);
  await assertStatus(readJsonBody(put(stream)), 413, /exceeds the limit of 65536 bytes/);
  assert.ok(state.cancelled, "the body should be cancelled");
  assert.ok(state.pulled < 256 * 1024, `read ${state.pulled} bytes of a 10 MiB body`);
});

Deno.test("readJsonBody answers 413 when the body outgrows a lying Content-Length", async () => {
  const { stream } = streamOf(MAX_BODY_BYTES + 1);
  await assertStatus(readJsonBody(put(stream, { "content-type": "application/json", "content-length": "14" })), 413);
});

Deno.test("readJsonBody accepts a body of exactly the limit", async () => {
  const json = encoder.encode('{"replicas":3}');
  const padded = new Uint8Array(MAX_BODY_BYTES).fill(0x20);
  padded.set(json, 0);
  assert.deepEqual(await readJsonBody(put(padded)), { replicas: 3 });
});

Deno.test("readJsonBody answers 400 for a body that is not valid UTF-8", async () => {
  const bytes = new Uint8Array([...encoder.encode('{"replicas":3,"x":"'), 0xff, 0xfe, ...encoder.encode('"}')]);
  await assertStatus(readJsonBody(put(bytes)), 400, /not valid UTF-8/);
});

Deno.test("readJsonBody answers 400 for anything but exactly one JSON value", async (t) => {
  const cases: [string, string, RegExp][] = [
    ["trailing data", '{"replicas":1} x', /not valid JSON/],
    ["two JSON values", '{"replicas":1}{"replicas":2}', /not valid JSON/],
    ["two JSON values separated by a newline", '{"replicas":1}\n{"replicas":2}', /not valid JSON/],
    ["truncated JSON", '{"replicas":', /not valid JSON/],
    ["single quotes", "{'replicas':1}", /not valid JSON/],
    ["empty body", "", /empty/],
    ["whitespace-only body", " \n\t ", /empty/],
  ];
  for (const [name, text, detail] of cases) {
    await t.step(name, async () => {
      await assertStatus(readJsonBody(put(text)), 400, detail);
    });
  }
  await t.step("no body at all", async () => {
    await assertStatus(readJsonBody(put(null)), 400, /empty/);
  });
});

Deno.test("readJsonBody answers 400 for a body that repeats a key, at any depth and in any spelling", async (t) => {
  const cases: [string, string, RegExp][] = [
    ["the replica count twice", '{"replicas":1,"replicas":2}', /repeats the key "replicas" \(at "\/replicas"\)/],
    ["an escaped spelling", '{"replicas":1,"re\\u0070licas":2}', /repeats the key "replicas"/],
    ["nested", '{"replicas":1,"meta":{"x":[{"a":1,"a":2}]}}', /repeats the key "a" \(at "\/meta\/x\/0\/a"\)/],
  ];
  for (const [name, text, detail] of cases) {
    await t.step(name, async () => {
      await assertStatus(readJsonBody(put(text)), 400, detail);
    });
  }
  await t.step("a long key is cut short in the detail", async () => {
    const key = "k".repeat(5000);
    const error = await assertStatus(readJsonBody(put(`{"${key}":1,"${key}":2}`)), 400, /repeats the key/);
    assert.ok(error.detail.length < 300, `detail of ${error.detail.length} characters`);
  });
});

Deno.test("readJsonBody accepts keys that repeat only across objects or inside strings", async () => {
  const text = '{"replicas":3,"note":"{\\"replicas\\":1,\\"replicas\\":2}","items":[{"replicas":1},{"replicas":2}]}';
  assert.deepEqual(await readJsonBody(put(text)), JSON.parse(text));
});

Deno.test("an optional body may be left out, or sent empty, and is then undefined", async () => {
  const post = (init: RequestInit) => new Request("https://x/restart", { method: "POST", ...init });
  assert.equal(await readOptionalJsonBody(post({}), "{}"), undefined);
  assert.equal(await readOptionalJsonBody(post({ body: "", headers: { "content-length": "0" } }), "{}"), undefined);
  assert.equal(await readOptionalJsonBody(post({ body: new Uint8Array() }), "{}"), undefined);
  assert.equal(await readOptionalJsonBody(post({ body: "", headers: { "content-type": "application/json" } }), "{}"), undefined);
  assert.deepEqual(await readOptionalJsonBody(post({ body: `{"toRevision": 2}`, headers: { "content-type": "application/json" } }), "{}"), {
    toRevision: 2,
  });
});

Deno.test("an optional body that is sent is read as strictly as any other", async () => {
  // Bytes, not a string: a string body would get a text/plain Content-Type from the Request constructor.
  const post = (body: string, headers: Record<string, string> = { "content-type": "application/json" }) =>
    readOptionalJsonBody(new Request("https://x/undo", { method: "POST", body: encoder.encode(body), headers }), `{"toRevision": 2}`);
  await assert.rejects(post(`{"a":1}`, {}), (e: HttpError) => e.status === 415 && /toRevision.*or send none/.test(e.message));
  await assert.rejects(post(`{}`, { "content-type": "text/plain" }), (e: HttpError) => e.status === 415);
  await assert.rejects(post(`   `), (e: HttpError) => e.status === 400 && /blank/.test(e.message));
  await assert.rejects(post(`{"a":1,"a":2}`), (e: HttpError) => e.status === 400 && /repeats the key/.test(e.message));
  await assert.rejects(post(`{} x`), (e: HttpError) => e.status === 400 && /not valid JSON/.test(e.message));
  await assert.rejects(post("x".repeat(70_000)), (e: HttpError) => e.status === 413);
});
