/**
 * A response sent before the request body has fully arrived (a 413 for a body over the limit) must reach the
 * client, and a client that keeps sending must be cut off within the drain bound (src/tls/body_drain.ts).
 */
import assert from "node:assert/strict";
import tls from "node:tls";
import process from "node:process";
import { type Harness, keepAliveAgent, request, startHarness } from "./_harness.ts";
import { MAX_BODY_BYTES, readJsonBody } from "../../../src/http/body.ts";
import { problemResponse, toHttpError } from "../../../src/http/problem.ts";
import type { Handler } from "../../../src/http/types.ts";

/** The API's own body reader: 413 as soon as the body is known to be over the limit, without reading the rest. */
const jsonHandler: Handler = async (req) => {
  try {
    await readJsonBody(req);
    return new Response("accepted");
  } catch (error) {
    return problemResponse(toHttpError(error));
  }
};

async function curl(h: Harness, args: string[]): Promise<{ status: string; body: string; code: number; stderr: string }> {
  const out = await new Deno.Command("curl", {
    args: [
      "-sS",
      "-w",
      "\n%{http_code}",
      "--cacert",
      h.pki.ca.certPath,
      "--cert",
      h.pki.alice.certPath,
      "--key",
      h.pki.alice.keyPath,
      "-X",
      "PUT",
      "-H",
      "content-type: application/json",
      ...args,
      `https://localhost:${h.port}/replicas`,
    ],
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  const nl = stdout.lastIndexOf("\n");
  return { body: stdout.slice(0, nl), status: stdout.slice(nl + 1), code: out.code, stderr: new TextDecoder().decode(out.stderr).trim() };
}

Deno.test("curl sees the 413 for bodies over the limit, every time, however it frames the body", async (t) => {
  const h = await startHarness(jsonHandler);
  const dir = await Deno.makeTempDir({ prefix: "replica-api-413-" });
  try {
    // Just over the limit up to 1,600 times over it.
    for (const size of [MAX_BODY_BYTES + 1, 1024 * 1024, 16 * 1024 * 1024, 100 * 1024 * 1024]) {
      const file = `${dir}/body-${size}`;
      await Deno.writeFile(file, new Uint8Array(size).fill(0x20));
      const framings: [string, string[]][] = [
        ["Content-Length", []],
        ["chunked", ["-H", "transfer-encoding: chunked"]],
        // The case that used to fail: the server closes after the response, which reset the connection under curl.
        ["Content-Length, Connection: close", ["-H", "connection: close"]],
        ["chunked, Connection: close", ["-H", "transfer-encoding: chunked", "-H", "connection: close"]],
      ];
      for (const [framing, args] of framings) {
        await t.step(`${size} bytes, ${framing}, 5 times`, async () => {
          for (let i = 0; i < 5; i++) {
            const r = await curl(h, [...args, "--data-binary", `@${file}`]);
            assert.equal(r.status, "413", `attempt ${i + 1}: curl exit ${r.code}: ${r.stderr}`);
            assert.equal(r.code, 0, r.stderr);
            assert.match(r.body, /"status":413/);
          }
        });
      }
      await Deno.remove(file);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    await h.close();
  }
});

interface RawResult {
  received: string;
  written: number;
  error?: string;
  /** ms from the first response byte to the connection's close. */
  closedAfterResponseMs?: number;
}

/**
 * A raw TLS client that sends `head`, then body bytes: `total` of them (Infinity: forever), `chunk` at a time, as fast
 * as the connection takes them or one per `intervalMs`. With `readAfterSending`, it reads nothing until all is sent.
 */
function rawUpload(
  h: Harness,
  head: string,
  options: { total: number; chunk: number; intervalMs?: number; readAfterSending?: boolean },
): Promise<RawResult> {
  return new Promise((resolve) => {
    const result: RawResult = { received: "", written: 0 };
    let firstByteAt: number | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const socket = tls.connect({
      host: "127.0.0.1",
      port: h.port,
      servername: "localhost",
      ca: h.pki.ca.cert,
      cert: h.pki.alice.cert,
      key: h.pki.alice.key,
    }, () => {
      // Paused only now: before the handshake has completed, a paused socket would never complete it.
      if (options.readAfterSending) socket.pause();
      socket.write(head);
      const block = new Uint8Array(options.chunk).fill(0x20);
      const pump = () => {
        while (result.written < options.total && !socket.destroyed) {
          result.written += block.byteLength;
          const more = socket.write(block);
          if (result.written >= options.total) break;
          if (options.intervalMs) return void (timer = setTimeout(pump, options.intervalMs));
          if (!more) return void socket.once("drain", pump);
        }
        if (socket.destroyed) return;
        if (options.readAfterSending) socket.resume();
        // Nothing more to send: our FIN lets the server close a keep-alive connection too.
        socket.end();
      };
      pump();
    });
    socket.setEncoding("utf8");
    socket.on("data", (text: string) => {
      firstByteAt ??= performance.now();
      result.received += text;
    });
    socket.on("error", (err: Error & { code?: string }) => result.error = err.code ?? err.message);
    socket.on("close", () => {
      clearTimeout(timer);
      if (firstByteAt !== undefined) result.closedAfterResponseMs = performance.now() - firstByteAt;
      resolve(result);
    });
  });
}

Deno.test("a client that reads only after sending its whole body still gets the 413, also with Connection: close", async () => {
  const h = await startHarness(jsonHandler);
  try {
    const size = 3 * 1024 * 1024; // within the default drain bound (4 MiB)
    for (const connection of ["keep-alive", "close"]) {
      for (let i = 0; i < 10; i++) {
        const head = `PUT /replicas HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${size}\r\n` +
          `Connection: ${connection}\r\n\r\n`;
        const r = await rawUpload(h, head, { total: size, chunk: 64 * 1024, readAfterSending: true });
        assert.match(r.received, /^HTTP\/1\.1 413 /, `${connection} #${i + 1}: ${r.error ?? ""} ${r.received.slice(0, 80)}`);
        assert.equal(r.written, size);
        if (connection === "close") assert.equal(r.error, undefined, "closed with a FIN after the response, not reset");
      }
    }
  } finally {
    await h.close();
  }
});

Deno.test("a client that keeps sending after the response is cut off within the drain bound", async (t) => {
  const bodyDrain = { timeoutMs: 800, maxBytes: 1024 * 1024 };
  const h = await startHarness(jsonHandler, { bodyDrain });
  const chunked = "PUT /replicas HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  // One endless chunk: its size line announces far more than will ever be sent.
  const endless = `${chunked}${(2 ** 40).toString(16)}\r\n`;
  try {
    await t.step("as fast as it can: the connection is closed soon after maxBytes", async () => {
      const r = await rawUpload(h, endless, { total: Infinity, chunk: 64 * 1024 });
      console.log(`  closed ${r.closedAfterResponseMs?.toFixed(0)} ms after the response; the client got ${r.written} bytes out`);
      assert.match(r.received, /^HTTP\/1\.1 413 /, "the response arrived first");
      assert.ok(
        r.closedAfterResponseMs !== undefined && r.closedAfterResponseMs < 5 * bodyDrain.timeoutMs,
        `${r.closedAfterResponseMs} ms`,
      );
      // Bounded by time alone, a loopback client gets hundreds of MiB out in 800 ms (measured: 263 MiB).
      assert.ok(r.written < bodyDrain.maxBytes + 128 * 1024 * 1024, `the client got ${r.written} bytes out`);
    });
    await t.step("slowly, under the byte bound: the timeout cuts it", async () => {
      const r = await rawUpload(h, endless, { total: Infinity, chunk: 1024, intervalMs: 20 });
      console.log(`  closed ${r.closedAfterResponseMs?.toFixed(0)} ms after the response; the client got ${r.written} bytes out`);
      assert.match(r.received, /^HTTP\/1\.1 413 /);
      assert.ok(
        r.closedAfterResponseMs !== undefined && r.closedAfterResponseMs < 5 * bodyDrain.timeoutMs,
        `${r.closedAfterResponseMs} ms`,
      );
      assert.ok(r.written < bodyDrain.maxBytes, "cut by time, not by bytes");
    });
    const cut = h.logs.filter((l) => l.msg === "handler failed");
    assert.deepEqual(cut, [], "the handler never fails over it");
  } finally {
    await h.close();
  }
});

Deno.test("many drained bodies on one keep-alive connection keep it usable and leave no listeners behind", async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.name);
  process.on("warning", onWarning);
  const h = await startHarness(() => new Response("not read", { status: 429 }));
  const agent = keepAliveAgent(h);
  try {
    for (let i = 0; i < 20; i++) {
      const res = await request(h, { agent, method: "PUT", body: new Uint8Array(256 * 1024) });
      assert.equal(res.status, 429);
    }
    assert.equal(h.logs.filter((l) => l.msg === "client connection authenticated").length, 1, "all 20 on one connection");
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.deepEqual(warnings, [], "no MaxListenersExceededWarning from listeners piling up on the socket");
  } finally {
    process.off("warning", onWarning);
    agent.destroy();
    await h.close();
  }
});
