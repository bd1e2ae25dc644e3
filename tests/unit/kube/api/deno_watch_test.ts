import assert from "node:assert/strict";
import { createDenoWatch, type FetchCredentials, WatchHttpError } from "../../../../src/kube/api/deno_watch.ts";
import { describe } from "../../../../src/kube/informer/reflector.ts";
import { sharedTestPki, type TestPki } from "../../../support/pki.ts";
import { deployment, eventLine, startWatchServer, type WatchHandler, type WatchServer } from "./_watch_server.ts";

const sharedPki = sharedTestPki;

function credentialsFor(pki: TestPki, server: string, token = "t0k3n"): FetchCredentials {
  return { server, headers: { Authorization: `Bearer ${token}` }, caCerts: [pki.ca.cert], cert: pki.alice.cert, key: pki.alice.key };
}

/** Records what a watch reports; `ended` resolves with done's argument. */
function recorder() {
  const events: { type: string; name?: string; raw: unknown }[] = [];
  const ended = Promise.withResolvers<unknown>();
  let doneCalls = 0;
  return {
    events,
    ended: ended.promise,
    get doneCalls() {
      return doneCalls;
    },
    // deno-lint-ignore no-explicit-any
    callback: (type: string, object: any, raw?: unknown) => events.push({ type, name: object?.metadata?.name, raw }),
    done: (err: unknown) => {
      doneCalls++;
      ended.resolve(err);
    },
  };
}

async function withServer(handler: WatchHandler, test: (server: WatchServer, pki: TestPki) => Promise<void>): Promise<void> {
  const pki = await sharedPki();
  const server = await startWatchServer(pki, handler);
  try {
    await test(server, pki);
  } finally {
    await server.close();
  }
}

/** A handler that answers 200 and sends these lines, then leaves the stream open. */
const streaming = (...lines: string[]): WatchHandler => (_req, res) => {
  res.writeHead(200, { "content-type": "application/json" });
  for (const line of lines) res.write(line);
};

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

Deno.test("the Deno watch sends the watch query and the kubeconfig credentials over HTTP/1.1, and delivers events in order", async () => {
  const lines = [
    eventLine("ADDED", deployment("prod", "web", 3, "11")),
    eventLine("MODIFIED", deployment("prod", "web", 4, "12")),
    eventLine("BOOKMARK", { kind: "Deployment", metadata: { resourceVersion: "13" } }),
    eventLine("DELETED", deployment("prod", "web", 4, "14")),
  ];
  await withServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(lines.join(""));
  }, async (server, pki) => {
    const watch = createDenoWatch({ credentials: () => Promise.resolve(credentialsFor(pki, server.url)), idleTimeoutMs: 5000 });
    const r = recorder();
    await watch.watch(
      "/apis/apps/v1/namespaces/prod/deployments",
      {
        resourceVersion: "10",
        allowWatchBookmarks: true,
        timeoutSeconds: 60,
        fieldSelector: "metadata.name=web",
        labelSelector: undefined,
      },
      r.callback,
      r.done,
    );
    assert.equal(await within(r.ended, 2000, "the end of the stream"), null, "a stream the server ends is a clean done");
    const seen = server.requests[0];
    assert.equal(seen.url.pathname, "/apis/apps/v1/namespaces/prod/deployments");
    assert.deepEqual(Object.fromEntries(seen.url.searchParams), {
      watch: "true",
      resourceVersion: "10",
      allowWatchBookmarks: "true",
      timeoutSeconds: "60",
      fieldSelector: "metadata.name=web",
    });
    assert.equal(seen.headers.authorization, "Bearer t0k3n");
    assert.equal(seen.clientCn, "alice", "the client certificate was presented");
    assert.equal(seen.alpn, "http/1.1", "HTTP/2 is never negotiated, though the server offers it first");
    assert.deepEqual(r.events.map((e) => `${e.type} ${e.name ?? ""}`.trim()), ["ADDED web", "MODIFIED web", "BOOKMARK", "DELETED web"]);
    assert.deepEqual(r.events[1].raw, JSON.parse(lines[1]), "the raw event is passed too, as client-node's Watch does");
    assert.equal(r.doneCalls, 1);
  });
});

Deno.test("the Deno watch reassembles events the server writes in arbitrary pieces", async () => {
  const names = ["a", "b-ünïcödé", "c-名前", "d-🚀", "e"];
  const bytes = new TextEncoder().encode(names.map((n, i) => eventLine("ADDED", deployment("prod", n, i, String(20 + i)))).join(""));
  await withServer(async (_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    // Piece sizes 1..7 bytes, each flushed on its own; many cut a line or a multi-byte character in two.
    for (let at = 0, size = 1; at < bytes.length; at += size, size = size % 7 + 1) {
      res.write(bytes.subarray(at, at + size));
      if (at % 5 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    res.end();
  }, async (server, pki) => {
    const watch = createDenoWatch({ credentials: () => Promise.resolve(credentialsFor(pki, server.url)), idleTimeoutMs: 5000 });
    const r = recorder();
    await watch.watch("/apis/apps/v1/deployments", {}, r.callback, r.done);
    assert.equal(await within(r.ended, 5000, "the end of the stream"), null);
    assert.deepEqual(r.events.map((e) => e.name), names);
  });
});

Deno.test("a connection the API server drops mid-stream ends the watch with an error within 2 s", async () => {
  await withServer(streaming(eventLine("ADDED", deployment("prod", "web", 1, "5"))), async (server, pki) => {
    const watch = createDenoWatch({ credentials: () => Promise.resolve(credentialsFor(pki, server.url)), idleTimeoutMs: 60_000 });
    const r = recorder();
    await watch.watch("/apis/apps/v1/deployments", {}, r.callback, r.done);
    while (r.events.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    server.cutConnections();
    const error = await within(r.ended, 2000, "noticing the dropped connection");
    assert.ok(error, "an error, not a clean end: the stream was cut short");
    assert.notEqual((error as Error).name, "TimeoutError");
    assert.deepEqual(r.events.map((e) => e.name), ["web"]);
    assert.equal(r.doneCalls, 1);
  });
});

Deno.test("a SIGKILLed API server process ends the watch with an error within 2 s", async () => {
  const pki = await sharedPki();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-net",
      new URL("./_killable_watch_server.ts", import.meta.url).pathname,
      pki.server.certPath,
      pki.server.keyPath,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const output = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    const { port } = JSON.parse((await output.read()).value ?? "{}");
    const watch = createDenoWatch({
      credentials: () => Promise.resolve(credentialsFor(pki, `https://localhost:${port}`)),
      idleTimeoutMs: 60_000,
    });
    const r = recorder();
    await watch.watch("/apis/apps/v1/deployments", {}, r.callback, r.done);
    while (r.events.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    child.kill("SIGKILL");
    const error = await within(r.ended, 2000, "noticing the killed server");
    assert.ok(error, "the watch ends with an error");
    assert.equal(r.doneCalls, 1);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already killed by the test */ }
    await child.status;
    await output.cancel();
  }
});

Deno.test("abort() closes the watch's connection and ends the watch once, with the abort", async () => {
  await withServer(streaming(eventLine("ADDED", deployment("prod", "web", 1, "5"))), async (server, pki) => {
    const watch = createDenoWatch({ credentials: () => Promise.resolve(credentialsFor(pki, server.url)), idleTimeoutMs: 60_000 });
    const r = recorder();
    const handle = await watch.watch("/apis/apps/v1/deployments", {}, r.callback, r.done);
    const seen = await server.request(0);
    handle.abort();
    await within(seen.closed, 2000, "the server seeing the connection closed");
    const error = await within(r.ended, 2000, "the watch ending");
    assert.equal((error as Error).name, "AbortError");
    handle.abort();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(r.doneCalls, 1, "done is called once, however often abort() is");
  });
});

Deno.test("a non-2xx answer ends the watch with its HTTP status and Status message before watch() resolves", async (t) => {
  for (const [code, reason] of [[410, "Expired"], [403, "Forbidden"], [500, "InternalError"]] as const) {
    await t.step(`${code}`, async () => {
      await withServer((_req, res) => {
        res.writeHead(code, { "content-type": "application/json", "retry-after": "3" });
        res.end(JSON.stringify({ kind: "Status", status: "Failure", message: `said ${code}`, reason, code }));
      }, async (server, pki) => {
        const watch = createDenoWatch({ credentials: () => Promise.resolve(credentialsFor(pki, server.url)), idleTimeoutMs: 5000 });
        const r = recorder();
        await watch.watch("/apis/apps/v1/deployments", { resourceVersion: "1" }, r.callback, r.done);
        assert.equal(r.doneCalls, 1, "done was called before watch() resolved, as client-node's Watch does");
        const error = await r.ended as WatchHttpError;
        assert.ok(error instanceof WatchHttpError);
        assert.equal(error.statusCode, code, "ListWatch and the reflector read statusCode");
        assert.equal(error.status, code);
        assert.equal(error.message, `said ${code}`);
        assert.equal(error.reason, reason);
        assert.equal(error.retryAfterSeconds, 3);
        assert.equal(r.events.length, 0);
      });
    });
  }
});

Deno.test("a redirect is not followed: it ends the watch as an error, and the credentials go nowhere else", async () => {
  await withServer((req, res) => {
    res.writeHead(302, { location: `https://localhost:${(req.socket.address() as { port: number }).port}/elsewhere` });
    res.end();
  }, async (server, pki) => {
    const watch = createDenoWatch({ credentials: () => Promise.resolve(credentialsFor(pki, server.url)), idleTimeoutMs: 5000 });
    const r = recorder();
    await watch.watch("/apis/apps/v1/deployments", {}, r.callback, r.done);
    assert.equal((await r.ended as WatchHttpError).statusCode, 302);
    assert.equal(server.requests.length, 1);
  });
});

Deno.test("a watch that hears nothing for idleTimeoutMs ends with a TimeoutError and closes its connection", async () => {
  await withServer(streaming(), async (server, pki) => {
    const watch = createDenoWatch({ credentials: () => Promise.resolve(credentialsFor(pki, server.url)), idleTimeoutMs: 300 });
    const r = recorder();
    await watch.watch("/apis/apps/v1/deployments", {}, r.callback, r.done);
    const error = await within(r.ended, 2000, "the idle timeout");
    assert.equal((error as Error).name, "TimeoutError");
    await within(server.requests[0].closed, 2000, "the server seeing the connection closed");
  });
});

Deno.test("a line that is not a watch event ends the watch with an error and closes its connection", async () => {
  await withServer(streaming(eventLine("ADDED", deployment("prod", "a", 1, "5")), "<html>proxy error</html>\n"), async (server, pki) => {
    const watch = createDenoWatch({ credentials: () => Promise.resolve(credentialsFor(pki, server.url)), idleTimeoutMs: 60_000 });
    const r = recorder();
    await watch.watch("/apis/apps/v1/deployments", {}, r.callback, r.done);
    const error = await within(r.ended, 2000, "the watch ending");
    assert.match((error as Error).message, /not JSON/);
    assert.deepEqual(r.events.map((e) => e.name), ["a"]);
    await within(server.requests[0].closed, 2000, "the server seeing the connection closed");
  });
});

Deno.test("an exception thrown by the event callback ends the watch with that exception", async () => {
  await withServer(streaming(eventLine("ADDED", deployment("prod", "a", 1, "5"))), async (server, pki) => {
    const watch = createDenoWatch({ credentials: () => Promise.resolve(credentialsFor(pki, server.url)), idleTimeoutMs: 60_000 });
    const boom = new Error("handler bug");
    const r = recorder();
    await watch.watch("/apis/apps/v1/deployments", {}, () => {
      throw boom;
    }, r.done);
    assert.equal(await within(r.ended, 2000, "the watch ending"), boom);
    await within(server.requests[0].closed, 2000, "the server seeing the connection closed");
  });
});

Deno.test("credentials are resolved for every watch, so a rotated token is used by the next one", async () => {
  await withServer((_req, res) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end();
  }, async (server, pki) => {
    let token = 0;
    const watch = createDenoWatch({
      credentials: () => Promise.resolve(credentialsFor(pki, server.url, `token-${++token}`)),
      idleTimeoutMs: 5000,
    });
    for (let i = 0; i < 2; i++) {
      const r = recorder();
      await watch.watch("/api/v1/namespaces", {}, r.callback, r.done);
      assert.equal(await r.ended, null);
    }
    assert.deepEqual(server.requests.map((s) => s.headers.authorization), ["Bearer token-1", "Bearer token-2"]);
  });
});

Deno.test("an API server that cannot be reached ends the watch with an error before watch() resolves", async () => {
  const pki = await sharedPki();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const watch = createDenoWatch({
    credentials: () => Promise.resolve(credentialsFor(pki, `https://localhost:${port}`)),
    idleTimeoutMs: 5000,
  });
  const r = recorder();
  await watch.watch("/apis/apps/v1/deployments", {}, r.callback, r.done);
  assert.equal(r.doneCalls, 1);
  // The reflector logs and reports errors through describe(), which includes the cause Deno attaches.
  assert.match(describe(await r.ended), /refused/i);
});

Deno.test("a failure to resolve credentials rejects watch() without calling done", async () => {
  const watch = createDenoWatch({ credentials: () => Promise.reject(new Error("exec plugin failed")), idleTimeoutMs: 5000 });
  const r = recorder();
  await assert.rejects(() => watch.watch("/apis/apps/v1/deployments", {}, r.callback, r.done), /exec plugin failed/);
  assert.equal(r.doneCalls, 0);
});
