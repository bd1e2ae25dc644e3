/**
 * `watch [-n NS]`: follows the API's Server-Sent Events stream of Deployment
 * changes. A dropped or silent connection is reopened with Last-Event-ID so
 * nothing is missed; an expired resume point (410) starts over from a fresh
 * snapshot; a final `event: ERROR` either asks the client to come back (503,
 * 429: reconnect and resume) or ends the watch with the server's reason.
 */
import type { ApiClient } from "./api_client.ts";
import type { Deployment } from "./api_types.ts";
import type { Command } from "./args.ts";
import { ApiError, CliFailure, ConnectionError, oneLine, type Problem } from "./errors.ts";
import { watchJsonLine, WatchTable } from "./format.ts";
import type { CliIo, Clock } from "./output.ts";
import { SseParser } from "./sse.ts";

type WatchCommand = Extract<Command, { kind: "watch" }>;

export interface WatchOptions {
  /** No byte (event or heartbeat) for this long = a dead connection; reopened. */
  readonly idleTimeoutMs?: number;
  /** Consecutive failed attempts to reopen before giving up. */
  readonly maxRetries?: number;
  /** Ends the watch quietly (Ctrl-C). */
  readonly signal?: AbortSignal;
}

const DEFAULT_IDLE_TIMEOUT_MS = 90_000;
const DEFAULT_MAX_RETRIES = 10;
const DEFAULT_RETRY_MS = 1_000;
const MAX_RETRY_MS = 30_000;
const EVENT_TYPES = new Set(["ADDED", "MODIFIED", "DELETED"]);

/** How one connection ended. */
type StreamEnd =
  | { kind: "closed" }
  | { kind: "idle" }
  | { kind: "dropped"; error: unknown }
  | { kind: "stopped" }
  | { kind: "gone" }
  /** A final ERROR event the server means as "come back" (503 shutting down, 429/503 slow consumer or limits). */
  | { kind: "ended"; detail: string };

/** A stream that lasted at least this long and then ended cleanly is reopened at once. */
const HEALTHY_STREAM_MS = 5_000;

export async function watchCommand(
  cmd: WatchCommand,
  client: ApiClient,
  io: CliIo,
  clock: Clock,
  options: WatchOptions = {},
): Promise<void> {
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
  const table = new WatchTable();
  let lastEventId: string | undefined;
  let retryMs = DEFAULT_RETRY_MS;
  let failures = 0;
  let connectedOnce = false;

  const print = (type: string, deployment: Deployment) => {
    if (cmd.output === "json") io.out(watchJsonLine(type, deployment));
    else for (const line of table.lines(type, deployment)) io.out(line);
  };

  while (!options.signal?.aborted) {
    const connection = new AbortController();
    const stop = () => connection.abort();
    options.signal?.addEventListener("abort", stop, { once: true });
    try {
      let response: Response;
      // A server that takes the connection but never answers must not hang the watch before it even starts.
      const headersTimer = setTimeout(() => connection.abort(new DOMException("no response headers", "TimeoutError")), idleTimeoutMs);
      try {
        response = await client.watch(cmd.namespace, lastEventId, connection.signal);
      } catch (error) {
        if (options.signal?.aborted) return;
        if (error instanceof ApiError && error.status === 410 && lastEventId !== undefined) {
          io.err(`watch: resume point ${lastEventId ?? ""} has expired (410); starting over from the current state`);
          lastEventId = undefined;
          continue;
        }
        // The first connection's failure is the answer (wrong URL, certificate, permission); later ones may pass.
        if (!connectedOnce || !retryable(error) || ++failures > maxRetries) throw error;
        const delay = backoff(retryMs, failures, error);
        io.err(`watch: ${oneLine((error as Error).message)}; reconnecting in ${Math.round(delay / 100) / 10} s`);
        await clock.sleep(delay, options.signal);
        continue;
      } finally {
        clearTimeout(headersTimer);
      }
      connectedOnce = true;
      const openedAt = clock.now();
      const parser = new SseParser();
      const end = await consume(response, parser, connection, idleTimeoutMs, options.signal, (event) => {
        if (event.type === "ERROR") return finalEvent(event.data);
        if (!EVENT_TYPES.has(event.type)) return; // forward-compatible: unknown events are not ours to print
        let deployment: Deployment;
        try {
          deployment = JSON.parse(event.data);
        } catch {
          io.err(`watch: skipped a ${oneLine(event.type)} event whose data is not JSON`);
          return;
        }
        lastEventId = event.lastEventId || lastEventId;
        print(event.type, deployment);
      });
      retryMs = parser.retryMs ?? retryMs;
      if (end.kind === "stopped") return;
      if (end.kind === "gone") {
        io.err(`watch: resume point ${lastEventId ?? ""} has expired (410); starting over from the current state`);
        lastEventId = undefined;
        continue;
      }
      lastEventId = parser.lastEventId || lastEventId;
      // A stream that stayed up a while proves the server well: its clean end (the server's periodic close, or a
      // replica shutting down) is reopened at once. A stream that keeps ending early counts as a failure and backs off.
      const healthy = clock.now() - openedAt >= HEALTHY_STREAM_MS;
      if (healthy) failures = 0;
      let delay = 0;
      if (!(healthy && (end.kind === "closed" || end.kind === "ended"))) {
        if (++failures > maxRetries) throw new CliFailure(`the event stream kept ending; gave up after ${maxRetries} attempts`);
        delay = backoff(retryMs, failures);
      }
      const why = end.kind === "idle"
        ? `no event or heartbeat for ${idleTimeoutMs / 1000} s`
        : end.kind === "dropped"
        ? `the connection dropped (${oneLine((end.error as Error)?.message ?? String(end.error))})`
        : end.kind === "ended"
        ? `the server ended the stream: ${end.detail}`
        : "the server ended the stream";
      io.err(`watch: ${why}; resuming${lastEventId ? ` after ${lastEventId}` : ""}${delay ? ` in ${delay / 1000} s` : ""}`);
      if (delay) await clock.sleep(delay, options.signal);
    } finally {
      options.signal?.removeEventListener("abort", stop);
    }
  }
}

/** Reads one stream to its end; `onEvent` may throw to end the watch (ERROR events). */
async function consume(
  response: Response,
  parser: SseParser,
  connection: AbortController,
  idleTimeoutMs: number,
  stopSignal: AbortSignal | undefined,
  onEvent: (event: { type: string; data: string; lastEventId: string }) => StreamEnd | void,
): Promise<StreamEnd> {
  let idle = false;
  let timer = setTimeout(onIdle, idleTimeoutMs);
  function onIdle() {
    idle = true;
    connection.abort();
  }
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { kind: "closed" };
      clearTimeout(timer);
      timer = setTimeout(onIdle, idleTimeoutMs);
      for (const event of parser.push(value)) {
        const end = onEvent(event);
        if (end) return end;
      }
    }
  } catch (error) {
    if (stopSignal?.aborted) return { kind: "stopped" };
    if (idle) return { kind: "idle" };
    if (error instanceof ApiError || error instanceof CliFailure) throw error;
    return { kind: "dropped", error };
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
}

/**
 * The server's final `event: ERROR` (problem+json data). 410: the resume point expired, start over. 503 and 429:
 * the server is shutting down or this client fell behind or over a limit, and the detail says to reconnect: resume
 * with Last-Event-ID, on another replica if need be. Anything else ends the watch with the server's detail (exit 1).
 */
function finalEvent(data: string): StreamEnd {
  let problem: Problem = {};
  try {
    const parsed = JSON.parse(data);
    if (parsed !== null && typeof parsed === "object") problem = parsed;
  } catch { /* described below */ }
  const detail = typeof problem.detail === "string" ? problem.detail : typeof problem.title === "string" ? problem.title : "";
  if (!detail) throw new CliFailure(`the server ended the watch with an error: ${oneLine(data)}`);
  if (problem.status === 410) return { kind: "gone" };
  const status = typeof problem.status === "number" ? problem.status : undefined;
  if (status === 503 || status === 429) return { kind: "ended", detail: oneLine(detail) };
  const title = typeof problem.title === "string" ? ` ${oneLine(problem.title)}` : "";
  throw new CliFailure(`the server ended the watch: ${oneLine(detail)}${status ? ` (${status}${title})` : ""}`);
}

function retryable(error: unknown): boolean {
  if (error instanceof ConnectionError) return error.retryable;
  return error instanceof ApiError && (error.status === 429 || error.status >= 500);
}

/** The server's retry time, doubled per consecutive failure up to 30 s; a Retry-After header wins when longer. */
function backoff(retryMs: number, failures: number, error?: unknown): number {
  const doubled = Math.min(MAX_RETRY_MS, retryMs * 2 ** Math.max(0, failures - 1));
  const retryAfter = error instanceof ApiError && error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : 0;
  return Math.max(doubled, retryAfter);
}
