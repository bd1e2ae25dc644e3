/**
 * The node:http ⇄ fetch adapter behind the mTLS listener: requests, bodies,
 * headers, failures and disconnects.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import tls from "node:tls";
import { delay, keepAliveAgent, request, startHarness, tlsExchange } from "./_harness.ts";
import { emptyResponse, jsonResponse, textResponse } from "../../../src/http/response.ts";

const PROBLEM = "application/problem+json";

Deno.test("a handler that throws gets a generic 500 problem and the server keeps serving", async () => {
  let calls = 0;
  const h = await startHarness((req) => {
    calls++;
    if (new URL(req.url).pathname === "/sync") throw new Error("secret internal detail");
    if (new URL(req.url).pathname === "/async") return Promise.reject(new Error("async secret", { cause: new Error("root") }));
    return new Response("fine");
  });
  try {
    for (const path of ["/sync", "/async"]) {
      const res = await request(h, { path });
      assert.equal(res.status, 500);
      assert.equal(res.headers["content-type"], PROBLEM);
      const problem = JSON.parse(res.text);
      assert.deepEqual(Object.keys(problem).sort(), ["detail", "instance", "status", "title", "type"]);
      assert.equal(problem.instance, path);
      assert.equal(problem.status, 500);
      assert.equal(problem.type, "about:blank");
      assert.ok(!res.text.includes("secret"), "the error must not leak to the client");
    }
    const errors = h.logs.filter((l) => l.level === "error" && l.msg === "handler failed");
    assert.equal(errors.length, 2);
    assert.deepEqual(errors[1].cause, { name: "Error", message: "async secret", cause: { name: "Error", message: "root" } });
    assert.equal((await request(h, { path: "/ok" })).text, "fine");
    assert.equal(calls, 3);
  } finally {
    await h.close();
  }
});

Deno.test("a POST body is streamed to the handler intact", async () => {
  const h = await startHarness(async (req) => {
    const bytes = new Uint8Array(await req.arrayBuffer());
    return Response.json({ length: bytes.byteLength, sha256: createHash("sha256").update(bytes).digest("hex") });
  });
  try {
    const body = crypto.getRandomValues(new Uint8Array(65536));
    const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => body[i % body.length] ^ (i >> 16));
    const res = await request(h, { method: "POST", body: big, headers: { "content-type": "application/octet-stream" } });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.text), { length: big.byteLength, sha256: createHash("sha256").update(big).digest("hex") });
  } finally {
    await h.close();
  }
});

Deno.test("a large body the handler ignores neither hangs the client nor the server", async () => {
  const h = await startHarness(() => new Response("ignored your body", { status: 202 }));
  const agent = keepAliveAgent(h);
  try {
    // Within the drain bound (DEFAULT_BODY_DRAIN.maxBytes); beyond it the connection is cut (body_drain_test.ts).
    const res = await request(h, { agent, method: "POST", body: new Uint8Array(3 * 1024 * 1024) });
    assert.equal(res.status, 202);
    assert.equal(res.text, "ignored your body");
    // Same keep-alive connection: the unread remainder must have been discarded.
    assert.equal((await request(h, { agent, method: "POST", body: "small" })).status, 202);
    assert.equal(h.logs.filter((l) => l.msg === "client connection authenticated").length, 1);
  } finally {
    agent.destroy();
    await h.close();
  }
});

Deno.test("a handler that stops reading a body early (size limit) can still answer", async () => {
  const h = await startHarness(async (req) => {
    const reader = req.body!.getReader();
    let seen = 0;
    while (seen < 100_000) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += value.byteLength;
    }
    await reader.cancel();
    return new Response(null, { status: 413 });
  });
  const agent = keepAliveAgent(h);
  try {
    const res = await request(h, { agent, method: "PUT", body: new Uint8Array(4 * 1024 * 1024) });
    assert.equal(res.status, 413);
    assert.equal((await request(h, { agent, method: "PUT", body: "tiny" })).status, 413);
  } finally {
    agent.destroy();
    await h.close();
  }
});

Deno.test("GET and HEAD requests carry no body and HEAD responses send none", async () => {
  const seen: (ReadableStream | null)[] = [];
  const h = await startHarness((req) => {
    seen.push(req.body);
    return new Response("some body", { headers: { "x-method": req.method } });
  });
  try {
    assert.equal((await request(h)).text, "some body");
    const head = await request(h, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers["x-method"], "HEAD");
    assert.equal(head.body.byteLength, 0);
    assert.deepEqual(seen, [null, null]);
  } finally {
    await h.close();
  }
});

Deno.test("repeated request headers are joined and repeated response headers are all sent", async () => {
  let seen: Headers | undefined;
  const h = await startHarness((req) => {
    seen = req.headers;
    const headers = new Headers({ "content-type": "text/plain" });
    headers.append("x-many", "one");
    headers.append("x-many", "two");
    headers.append("set-cookie", "a=1");
    headers.append("set-cookie", "b=2");
    return new Response("ok", { status: 201, headers });
  });
  try {
    const res = await request(h, { headers: { "x-multi": ["a", "b"], "x-single": "s" } });
    assert.equal(res.status, 201);
    assert.equal(seen?.get("x-multi"), "a, b");
    assert.equal(seen?.get("x-single"), "s");
    assert.equal(res.headers["x-many"], "one, two");
    assert.deepEqual(res.headers["set-cookie"], ["a=1", "b=2"]);
  } finally {
    await h.close();
  }
});

Deno.test("request URLs are built on a fixed origin, never on the Host header", async () => {
  const urls: string[] = [];
  const h = await startHarness((req) => {
    urls.push(req.url);
    return new Response("ok");
  });
  try {
    await request(h, { path: "/a/b?x=1&y=%20", headers: { host: "evil.example:666" } });
    const absolute = await tlsExchange(
      h,
      h.pki.alice,
      "GET http://evil.example/p?q=1 HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    );
    assert.match(absolute.received, /^HTTP\/1\.1 200/);
    const doubleSlash = await tlsExchange(h, h.pki.alice, "GET //evil.example/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match(doubleSlash.received, /^HTTP\/1\.1 200/);
    assert.deepEqual(urls, ["https://localhost/a/b?x=1&y=%20", "https://localhost/p?q=1", "https://localhost//evil.example/x"]);
  } finally {
    await h.close();
  }
});

Deno.test("an unsupported request target is answered 400 problem+json without calling the handler", async () => {
  let calls = 0;
  const h = await startHarness(() => {
    calls++;
    return new Response("ok");
  });
  try {
    const out = await tlsExchange(h, h.pki.alice, "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(out.received, /^HTTP\/1\.1 400/);
    assert.match(out.received, /content-type: application\/problem\+json/i);
    const problem = JSON.parse(out.received.slice(out.received.indexOf("\r\n\r\n") + 4));
    assert.equal(problem.title, "Bad Request");
    assert.equal(problem.status, 400);
    assert.equal(problem.type, "about:blank");
    assert.equal(typeof problem.detail, "string");
    assert.equal(calls, 0);
  } finally {
    await h.close();
  }
});

Deno.test("a client that disconnects mid-response cancels the response body without crashing", async () => {
  let cancelled!: () => void;
  const wasCancelled = new Promise<void>((resolve) => cancelled = resolve);
  let timer: ReturnType<typeof setInterval> | undefined;
  const endless = () =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode("first chunk\n"));
        timer = setInterval(() => controller.enqueue(new TextEncoder().encode("more\n")), 5);
      },
      cancel() {
        clearInterval(timer);
        cancelled();
      },
    });
  const h = await startHarness((req) => new Response(new URL(req.url).pathname === "/stream" ? endless() : "ok"));
  try {
    const out = await tlsExchange(h, h.pki.alice, "GET /stream HTTP/1.1\r\nHost: x\r\n\r\n", {}, (r) => r.includes("more"));
    assert.match(out.received, /first chunk/);
    await wasCancelled;
    await delay(20);
    assert.deepEqual(h.logs.filter((l) => l.level === "error"), []);
    assert.equal((await request(h, { path: "/after" })).text, "ok");
  } finally {
    clearInterval(timer);
    await h.close();
  }
});

Deno.test("a response body that fails mid-stream cuts the connection and is logged", async () => {
  const h = await startHarness(() =>
    new Response(
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode("partial"));
          setTimeout(() => controller.error(new Error("backend went away")), 20);
        },
      }),
    )
  );
  try {
    const out = await tlsExchange(h, h.pki.alice, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert.match(out.received, /^HTTP\/1\.1 200/);
    assert.match(out.received, /partial/);
    assert.ok(!/\r\n0\r\n\r\n$/.test(out.received), "the chunked body must not look complete");
    const logged = h.logs.find((l) => l.msg === "response body failed");
    assert.equal(logged?.level, "error");
    assert.deepEqual(logged?.cause, { name: "Error", message: "backend went away" });
  } finally {
    await h.close();
  }
});

Deno.test("a streamed body is cancelled when the client left before the handler answered", async () => {
  let entered!: () => void;
  const handlerEntered = new Promise<void>((resolve) => entered = resolve);
  let clientGone!: () => void;
  const clientLeft = new Promise<void>((resolve) => clientGone = resolve);
  let cancelled!: () => void;
  const wasCancelled = new Promise<void>((resolve) => cancelled = resolve);
  const h = await startHarness(async () => {
    entered();
    await clientLeft;
    await delay(20); // let the server notice the disconnect
    return new Response(new ReadableStream({ pull: (c) => c.enqueue(new Uint8Array(16)), cancel: () => cancelled() }));
  });
  try {
    const socket = tls.connect({
      host: "127.0.0.1",
      port: h.port,
      servername: "localhost",
      ca: h.pki.ca.cert,
      cert: h.pki.alice.cert,
      key: h.pki.alice.key,
    }, () => {
      socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    });
    const closed = new Promise((resolve) => socket.on("close", resolve));
    socket.on("error", () => {});
    await handlerEntered;
    socket.destroy();
    await closed;
    clientGone();
    await wasCancelled;
  } finally {
    await h.close();
  }
});

const BYTES_BODY = JSON.stringify({ items: [{ name: "ünïcode" }] });

Deno.test("prepared responses carry an exact Content-Length; HEAD gets the GET's length and no body; 304 gets none", async () => {
  const h = await startHarness((req) => {
    const path = new URL(req.url).pathname;
    if (path === "/304") return emptyResponse(304, { etag: '"1"' });
    // A cached list's way: the text and its bytes, which the listener writes as they are.
    if (path === "/bytes") return textResponse(BYTES_BODY, "application/json", { bytes: new TextEncoder().encode(BYTES_BODY) });
    return jsonResponse({ word: "héllo" }, { headers: { etag: '"1"' } });
  });
  try {
    const body = JSON.stringify({ word: "héllo" });
    const length = new TextEncoder().encode(body).byteLength; // multi-byte: not body.length
    const get = await tlsExchange(h, h.pki.alice, "GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match(get.received, new RegExp(`\r\ncontent-length: ${length}\r\n`, "i"));
    assert.doesNotMatch(get.received, /transfer-encoding/i);
    assert.ok(get.received.endsWith(`\r\n\r\n${body}`), get.received);
    const head = await tlsExchange(h, h.pki.alice, "HEAD /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match(head.received, new RegExp(`\r\ncontent-length: ${length}\r\n`, "i"));
    assert.ok(head.received.endsWith("\r\n\r\n"), head.received);
    const notModified = await tlsExchange(h, h.pki.alice, "GET /304 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match(notModified.received, /^HTTP\/1\.1 304/);
    assert.doesNotMatch(notModified.received, /content-length|transfer-encoding/i);
    assert.match(notModified.received, /\r\netag: "1"\r\n/i);
    const bytesLength = new TextEncoder().encode(BYTES_BODY).byteLength;
    const getBytes = await tlsExchange(h, h.pki.alice, "GET /bytes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match(getBytes.received, new RegExp(`\r\ncontent-length: ${bytesLength}\r\n`, "i"));
    assert.ok(getBytes.received.endsWith(`\r\n\r\n${BYTES_BODY}`), getBytes.received);
    const headBytes = await tlsExchange(h, h.pki.alice, "HEAD /bytes HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert.match(headBytes.received, new RegExp(`\r\ncontent-length: ${bytesLength}\r\n`, "i"));
    assert.ok(headBytes.received.endsWith("\r\n\r\n"), headBytes.received);
  } finally {
    await h.close();
  }
});

Deno.test("a GET that carries a body anyway does not stall the next request on the connection", async () => {
  const h = await startHarness(() => jsonResponse({ ok: true }));
  try {
    const body = "x".repeat(1024 * 1024); // more than the socket buffers: unread, it would hold the connection
    const two = `GET /a HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
      "GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    const exchange = await tlsExchange(h, h.pki.alice, two);
    assert.equal(exchange.received.match(/HTTP\/1\.1 200/g)?.length, 2, exchange.received);
  } finally {
    await h.close();
  }
});
