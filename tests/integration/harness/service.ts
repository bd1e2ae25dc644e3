/**
 * Runs replica-api as a separate process, the way users run it: `deno run
 * src/main.ts`, or the compiled binary when REPLICA_API_BIN is set (CI runs
 * the suite against the exact binary the image ships). Ports are 0; the real
 * ones are read from the service's "listening" log line.
 */
import { createTestPki, type TestPki } from "../../support/pki.ts";

const REPO = new URL("../../../", import.meta.url).pathname;

export interface RunningService {
  readonly apiUrl: string;
  readonly probeUrl: string;
  readonly pid: number;
  readonly pki: TestPki;
  /** JSON log lines seen so far. */
  readonly logs: Record<string, unknown>[];
  /** Calls the mTLS API with the valid client certificate (CN=alice, O=sre, O=oncall). */
  api(path: string, init?: RequestInit): Promise<ApiResponse>;
  /** Calls the mTLS API with another client certificate (e.g. from pki.issueClient). */
  apiAs(identity: { cert: string; key: string }, path: string, init?: RequestInit): Promise<ApiResponse>;
  probe(path: string): Promise<ApiResponse>;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(signal?: Deno.Signal): Promise<number>;
  /** Resolves when the process exits on its own. */
  readonly exited: Promise<number>;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  // deno-lint-ignore no-explicit-any
  readonly body: any;
}

export interface StartOptions {
  kubeconfig: string;
  env?: Record<string, string>;
  /** Reused across services in one test file to save time; created (and cleaned up on stop) otherwise. */
  pki?: TestPki;
  /** Resolve only once /readyz answers 200 (default true). */
  waitReady?: boolean;
  /**
   * Run the process with this group id (the test runs as root, so it keeps reading every file): iptables can then
   * match exactly its packets with `-m owner --gid-owner` (network_partition_test.ts).
   */
  gid?: number;
}

export function serviceCommand(): { cmd: string; args: string[] } {
  const bin = Deno.env.get("REPLICA_API_BIN");
  if (bin) return { cmd: bin, args: [] };
  return { cmd: Deno.execPath(), args: ["run", "--allow-net", "--allow-read", "--allow-env", "--allow-sys", `${REPO}src/main.ts`] };
}

export async function startService(options: StartOptions): Promise<RunningService> {
  const ownPki = options.pki === undefined;
  const pki = options.pki ?? await createTestPki();
  const { cmd, args } = serviceCommand();
  const child = new Deno.Command(cmd, {
    args,
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      ...(Deno.env.get("DENO_DIR") ? { DENO_DIR: Deno.env.get("DENO_DIR")! } : {}),
      NO_COLOR: "1",
      KUBECONFIG: options.kubeconfig,
      TLS_CERT_FILE: pki.server.certPath,
      TLS_KEY_FILE: pki.server.keyPath,
      TLS_CLIENT_CA_FILE: pki.ca.certPath,
      LISTEN_ADDR: "127.0.0.1:0",
      PROBE_ADDR: "127.0.0.1:0",
      ...options.env,
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    ...(options.gid !== undefined ? { gid: options.gid } : {}),
  }).spawn();

  const logs: Record<string, unknown>[] = [];
  const listening = Promise.withResolvers<{ api: string; probe: string }>();
  const exited = child.status.then((s) => s.code);
  exited.then((code) => listening.reject(new Error(`replica-api exited with ${code} before listening; logs:\n${tail(logs)}`)));
  collectLines(child.stdout, (line) => {
    try {
      const record = JSON.parse(line);
      logs.push(record);
      if (record.msg === "listening") listening.resolve({ api: record.api, probe: record.probe });
    } catch {
      logs.push({ raw: line });
    }
  });
  collectLines(child.stderr, (line) => logs.push({ stderr: line }));

  const timeout = setTimeout(() => listening.reject(new Error(`replica-api did not listen within 30 s; logs:\n${tail(logs)}`)), 30_000);
  const addrs = await listening.promise.finally(() => clearTimeout(timeout));
  const apiUrl = `https://localhost:${addrs.api.split(":").pop()}`;
  const probeUrl = `http://127.0.0.1:${addrs.probe.split(":").pop()}`;
  const client = Deno.createHttpClient({ caCerts: [pki.ca.cert], cert: pki.alice.cert, key: pki.alice.key });

  let stopping: Promise<number> | undefined;
  const service: RunningService = {
    apiUrl,
    probeUrl,
    pid: child.pid,
    pki,
    logs,
    exited,
    api: (path, init) => call(fetch(`${apiUrl}${path}`, { ...init, client })),
    async apiAs(identity, path, init) {
      const other = Deno.createHttpClient({ caCerts: [pki.ca.cert], cert: identity.cert, key: identity.key });
      try {
        return await call(fetch(`${apiUrl}${path}`, { ...init, client: other }));
      } finally {
        other.close();
      }
    },
    probe: (path) => call(fetch(`${probeUrl}${path}`)),
    stop(signal = "SIGTERM") {
      stopping ??= (async () => {
        try {
          child.kill(signal);
        } catch { /* already gone */ }
        const code = await exited;
        // A non-zero exit is a failure the test will report; show why it happened.
        if (code !== 0) console.error(`replica-api exited with ${code}; last log lines:\n${tail(logs, 30)}`);
        client.close();
        if (ownPki) await pki.cleanup();
        return code;
      })();
      return stopping;
    },
  };
  if (options.waitReady ?? true) {
    await waitFor(async () => (await service.probe("/readyz")).status === 200, 30_000, "readiness").catch(async (error) => {
      await service.stop();
      throw new Error(`${error.message}; logs:\n${tail(logs)}`);
    });
  }
  return service;
}

async function call(pending: Promise<Response>): Promise<ApiResponse> {
  const response = await pending;
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch { /* not JSON */ }
  return { status: response.status, headers: response.headers, body };
}

async function collectLines(stream: ReadableStream<Uint8Array>, onLine: (line: string) => void): Promise<void> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf("\n")) !== -1) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (line) onLine(line);
    }
  }
}

function tail(logs: Record<string, unknown>[], n = 15): string {
  return logs.slice(-n).map((l) => JSON.stringify(l)).join("\n");
}

/** Polls `check` until it returns true; rejects after timeoutMs naming what was awaited. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, intervalMs = 50): Promise<number> {
  const start = performance.now();
  for (;;) {
    try {
      if (await check()) return performance.now() - start;
    } catch { /* not yet */ }
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
