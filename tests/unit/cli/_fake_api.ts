/**
 * A stand-in replica-api for CLI tests: the project's own mTLS listener
 * (real client-certificate handshake, streamed event-stream bodies) in front
 * of a handler the test writes, recording every request. Plus helpers to run
 * the CLI in-process against it with captured output and a virtual clock.
 */
import { startMtlsServer } from "../../../src/tls/mod.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import { sharedTestPki, type TestPki } from "../../support/pki.ts";
import { runCli } from "../../../src/cli/run.ts";
import type { CliEnv } from "../../../src/cli/args.ts";
import type { Clock } from "../../../src/cli/output.ts";
import type { WatchOptions } from "../../../src/cli/watch.ts";

export interface RecordedRequest {
  readonly method: string;
  /** Path and query, e.g. /api/v1/deployments?watch=true. */
  readonly target: string;
  readonly headers: Headers;
  readonly body: string;
}

export interface FakeApi {
  readonly url: string;
  readonly pki: TestPki;
  readonly requests: RecordedRequest[];
  /** REPLICA_API_* for alice's certificate against this server. */
  readonly env: CliEnv;
  close(): Promise<void>;
}

export type FakeHandler = (request: RecordedRequest) => Response | Promise<Response>;

/** `hostname` is the loopback address to bind; the URL names it as localhost when it is 127.0.0.1. */
export async function startFakeApi(handler: FakeHandler, hostname = "127.0.0.1"): Promise<FakeApi> {
  const pki = await sharedTestPki();
  const requests: RecordedRequest[] = [];
  const server = await startMtlsServer({
    hostname,
    port: 0,
    cert: pki.server.cert,
    key: pki.server.key,
    ca: pki.ca.cert,
    log: createLogger({ sink: () => {} }),
    handler: async (request) => {
      const url = new URL(request.url);
      const recorded = { method: request.method, target: url.pathname + url.search, headers: request.headers, body: await request.text() };
      requests.push(recorded);
      return await handler(recorded);
    },
  });
  const url = `https://${hostname === "127.0.0.1" ? "localhost" : hostname}:${server.port}`;
  return {
    url,
    pki,
    requests,
    env: {
      REPLICA_API_URL: url,
      REPLICA_API_CERT: pki.alice.certPath,
      REPLICA_API_KEY: pki.alice.keyPath,
      REPLICA_API_CACERT: pki.ca.certPath,
    },
    close: () => server.close(200),
  };
}

/** Runs `body` against a fake API answering with `handler`, and stops the server afterwards whatever happens. */
export async function withFakeApi(handler: FakeHandler, body: (api: FakeApi) => Promise<void>): Promise<void> {
  const fake = await startFakeApi(handler);
  try {
    await body(fake);
  } finally {
    await fake.close();
  }
}

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

export const problem = (status: number, title: string, detail: string, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify({ type: "about:blank", title, status, detail }), {
    status,
    headers: { "content-type": "application/problem+json", ...headers },
  });

/** An event stream the test writes to and closes; `response` is what the handler returns. */
export function eventStream(): { response: Response; send(text: string): void; close(): void; closed: Promise<void> } {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const closed = Promise.withResolvers<void>();
  const encoder = new TextEncoder();
  let open = true;
  const body = new ReadableStream<Uint8Array>({
    start: (c) => void (controller = c),
    cancel: () => {
      open = false;
      closed.resolve();
    },
  });
  return {
    response: new Response(body, { headers: { "content-type": "text/event-stream", "cache-control": "no-store" } }),
    send: (text) => open && controller.enqueue(encoder.encode(text)),
    close: () => {
      if (open) controller.close();
      open = false;
      closed.resolve();
    },
    closed: closed.promise,
  };
}

/**
 * A clock whose sleeps return at once and move time forward: waits and backoff cost no real time. With
 * `stepMs`, every reading also moves it on, so anything timed between two readings (a stream's life) lasts that long.
 */
export class VirtualClock implements Clock {
  readonly sleeps: number[] = [];
  #now: number;
  /** `startMs`: the time it starts at (epoch ms); what the client certificate's expiry is measured against. */
  constructor(readonly stepMs = 0, startMs = 1_000_000) {
    this.#now = startMs;
  }
  now(): number {
    const now = this.#now;
    this.#now += this.stepMs;
    return now;
  }
  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.#now += ms;
    return Promise.resolve();
  }
}

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in-process with the given REPLICA_API_* environment. */
export async function cli(
  argv: string[],
  env: CliEnv,
  options: { clock?: Clock; watch?: WatchOptions; connect?: Parameters<typeof runCli>[1]["connect"] } = {},
): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    io: { out: (line) => out.push(line), err: (line) => err.push(line) },
    env,
    cwd: "/nonexistent",
    defaultCertDir: "/nonexistent/certs",
    version: "9.9.9",
    clock: options.clock ?? new VirtualClock(),
    connect: options.connect,
    watch: options.watch,
  });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}
