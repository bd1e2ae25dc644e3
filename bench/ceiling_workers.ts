/**
 * The ceiling responder (bench/ceiling_server.ts: node:https, TLS 1.3, client certificate required, a fixed JSON
 * body) run in several Worker isolates that listen on one port (`reusePort`; the kernel spreads connections), in
 * one of two shapes, to measure what each costs before the service takes either:
 *
 * - `CEILING_MODE=local`: every worker answers its own requests (the upper bound of "each worker serves reads
 *   from its own copy of the read model");
 * - `CEILING_MODE=forward`: every worker does TLS and HTTP, posts each request (method, target, headers, the
 *   client's certificate identity) to the main isolate, which answers it (the body here stands for the service's
 *   router, limits and cache), and writes the main isolate's answer back (the shape where one isolate keeps all
 *   application state, so every limit and cache is global by construction);
 * - `CEILING_MODE=batch`: forward, but the requests a worker parsed in one turn of its event loop go in one
 *   message, and the main isolate answers a message's requests in one message (postMessage has a fixed cost per
 *   message, a thread wake-up and a serialization, that one-per-request pays every time);
 * - `CEILING_MODE=ring`: forward through two rings in shared memory per worker (bench/_ring.ts), requests one way
 *   and answers the other, with Atomics.waitAsync instead of postMessage.
 *
 *   deno run --allow-net --allow-read --allow-env bench/ceiling_workers.ts
 *
 * Environment: as ceiling_server.ts (TLS_CERT_FILE, TLS_KEY_FILE, TLS_CLIENT_CA_FILE, LISTEN_ADDR, CEILING_BODY),
 * plus CEILING_WORKERS (default 2) and CEILING_MODE (local | forward | batch | ring, default forward). LISTEN_ADDR's port must
 * not be 0 when there is more than one worker (they would each get another port), so port 0 picks a free port
 * first. Prints one JSON line {"msg":"listening","api":"host:port"} once every worker listens.
 */
import https from "node:https";
import net from "node:net";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { createRing, RingReader, RingWriter } from "./_ring.ts";
import { ceilingAddress, ceilingBody, ceilingEnv, ceilingTls } from "./_ceiling_config.ts";

/** What a worker posts to the main isolate per request in forward mode. */
interface Forwarded {
  id: number;
  method: string;
  target: string;
  headers: string[];
  cn: string;
}
/** The main isolate's answer. */
interface Answer {
  id: number;
  status: number;
  headers: [string, string][];
  body: Uint8Array;
}
interface WorkerStart {
  port: number;
  hostname: string;
  mode: "local" | "forward" | "batch" | "ring";
  /** ring mode: requests (the worker writes) and answers (the main isolate writes). */
  requests?: SharedArrayBuffer;
  answers?: SharedArrayBuffer;
}

const env = (name: string, fallback?: string) => ceilingEnv("ceiling_workers", name, fallback);
const body = ceilingBody("ceiling_workers");

// deno-lint-ignore no-explicit-any
const self = globalThis as any;
const inWorker = typeof self.WorkerGlobalScope !== "undefined" && self instanceof self.WorkerGlobalScope;

async function main() {
  const workers = Number(env("CEILING_WORKERS", "2"));
  const mode = env("CEILING_MODE", "forward") as WorkerStart["mode"];
  if (!(Number.isInteger(workers) && workers >= 1) || !["local", "forward", "batch", "ring"].includes(mode)) {
    console.error(`ceiling_workers: CEILING_WORKERS must be ≥ 1 and CEILING_MODE local, forward, batch or ring`);
    Deno.exit(2);
  }
  const [hostname, listenPort] = ceilingAddress("ceiling_workers");
  let port = listenPort;
  if (port === 0) port = await freePort(hostname);
  const headers: [string, string][] = [["content-type", "application/json"]];
  let listening = 0;
  for (let w = 0; w < workers; w++) {
    const worker = new Worker(import.meta.url, { type: "module" });
    // The main isolate's whole part: here a fixed body, in the service the router, limits and cache.
    const answer = (request: Forwarded): Answer => ({ id: request.id, status: 200, headers, body });
    worker.onmessage = (event: MessageEvent<Forwarded | Forwarded[] | "listening">) => {
      const data = event.data;
      if (data === "listening") {
        if (++listening === workers) console.log(JSON.stringify({ msg: "listening", api: `${hostname}:${port}`, workers, mode }));
      } else if (Array.isArray(data)) worker.postMessage(data.map(answer));
      else worker.postMessage(answer(data));
    };
    if (mode === "ring") {
      const requests = createRing();
      const answers = createRing();
      const reply = new RingWriter(answers);
      void new RingReader(requests).run((batch) => {
        for (const message of batch) reply.write(encodeAnswer(decodeRequest(message).id, 200, body));
      });
      worker.postMessage({ port, hostname, mode, requests, answers } satisfies WorkerStart);
    } else worker.postMessage({ port, hostname, mode } satisfies WorkerStart);
  }
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
  Deno.addSignalListener("SIGINT", () => Deno.exit(0));
}

/** A port the kernel has just handed out (and taken back) on `hostname`. */
function freePort(hostname: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, hostname, () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

const pending = new Map<number, ServerResponse>();
let nextId = 0;

function answered(answer: Answer) {
  const res = pending.get(answer.id);
  if (!res) return;
  pending.delete(answer.id);
  res.statusCode = answer.status;
  for (const [name, value] of answer.headers) res.setHeader(name, value);
  res.end(answer.body);
}

function serve(start: WorkerStart) {
  const server = https.createServer(
    ceilingTls("ceiling_workers"),
    start.mode === "local"
      ? answerHere
      : start.mode === "ring"
      ? ringForwarder(start)
      : (req, res) => forward(req, res, start.mode === "batch"),
  );
  server.on("tlsClientError", (_err: Error, socket: { destroy(): void }) => socket.destroy());
  server.listen({ port: start.port, host: start.hostname, reusePort: true }, () => self.postMessage("listening"));
}

function answerHere(_req: IncomingMessage, res: ServerResponse) {
  res.statusCode = 200;
  res.setHeader("content-type", "application/json");
  res.end(body);
}

/** Forward mode: what the service's workers would send per request; the identity is read once per connection. */
/** The client certificate's CN, read once per connection (what the service's listener passes on per request). */
function cnOf(req: IncomingMessage): string {
  const socket = req.socket as TLSSocket & { cn?: string };
  if (socket.cn === undefined) {
    const subject = (socket.getPeerCertificate() as unknown as { subject?: Record<string, string> }).subject;
    socket.cn = subject?.CN ?? "";
  }
  return socket.cn;
}

let batch: Forwarded[] = [];
const flush = () => {
  self.postMessage(batch);
  batch = [];
};

function forward(req: IncomingMessage, res: ServerResponse, batched: boolean) {
  const id = nextId++;
  pending.set(id, res);
  const message: Forwarded = { id, method: req.method ?? "GET", target: req.url ?? "/", headers: req.rawHeaders, cn: cnOf(req) };
  if (!batched) return self.postMessage(message);
  // Everything parsed in this turn goes in one message, sent once the turn's I/O callbacks have run.
  if (batch.push(message) === 1) setTimeout(flush, 0);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A request as ring bytes: its id (u32), then method, target, client CN and the raw headers, newline-separated. */
function encodeRequest(id: number, req: IncomingMessage, cn: string): Uint8Array {
  const text = encoder.encode(`${req.method}\n${req.url}\n${cn}\n${req.rawHeaders.join("\n")}`);
  const out = new Uint8Array(4 + text.length);
  new DataView(out.buffer).setUint32(0, id, true);
  out.set(text, 4);
  return out;
}

function decodeRequest(bytes: Uint8Array): Forwarded {
  const id = new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true);
  const [method, target, cn, ...headers] = decoder.decode(bytes.subarray(4)).split("\n");
  return { id, method, target, cn, headers };
}

/** An answer as ring bytes: id (u32), status (u16), body. (The prototype's headers are fixed.) */
function encodeAnswer(id: number, status: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(6 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, id, true);
  view.setUint16(4, status, true);
  out.set(payload, 6);
  return out;
}

function ringForwarder(start: WorkerStart): (req: IncomingMessage, res: ServerResponse) => void {
  const out = new RingWriter(start.requests!);
  void new RingReader(start.answers!).run((batch) => {
    for (const bytes of batch) {
      const view = new DataView(bytes.buffer, bytes.byteOffset);
      const res = pending.get(view.getUint32(0, true));
      if (!res) continue;
      pending.delete(view.getUint32(0, true));
      res.statusCode = view.getUint16(4, true);
      res.setHeader("content-type", "application/json");
      res.end(bytes.subarray(6));
    }
  });
  return (req, res) => {
    const id = nextId++;
    pending.set(id, res);
    out.write(encodeRequest(id, req, cnOf(req)));
  };
}

// Last, once every module-level binding above exists (handlers and ring callbacks use them).
if (inWorker) {
  self.onmessage = (event: MessageEvent<WorkerStart | Answer | Answer[]>) => {
    const data = event.data;
    if (Array.isArray(data)) { for (const answer of data) answered(answer); }
    else if ("port" in data) serve(data);
    else answered(data);
  };
} else {
  await main();
}
