/**
 * Structured JSON-lines logger. One object per line on the given sink, with
 * `time`, `level`, `msg` and any fields. Dependencies (sink, clock) are
 * injected so tests can capture lines.
 */

export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Receives one complete line (without newline). Defaults to stdout, buffered (see bufferedStdout). */
  sink?: (line: string) => void;
  /** Makes the sink write what it holds; called after every warn and error line and every audit record. */
  flush?: () => void;
  now?: () => Date;
}

export function isLogLevel(value: string): value is LogLevel {
  return Object.hasOwn(LEVEL_ORDER, value);
}

/** Errors are not JSON-serialisable by default; keep name, message and cause chain. */
function serialise(value: unknown, depth = 0): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    if (value.cause !== undefined && depth < 3) out.cause = serialise(value.cause, depth + 1);
    return out;
  }
  return value;
}

const encoder = new TextEncoder();

/** How long an info/debug line may wait in the buffer, and how much may wait. */
const FLUSH_AFTER_MS = 20;
const FLUSH_AT_CHARS = 64 * 1024;

/**
 * Stdout, written in batches: lines are collected and written with one
 * synchronous write at most every 20 ms or 64 KiB. One `write` syscall per
 * access-log line was most of the access log's 10–16 µs per request
 * (BENCHMARKS.md). Writes stay synchronous, so lines are whole and ordered;
 * warn and error lines and audit records (`audit: true`) are flushed at once
 * by the logger, and whatever is
 * buffered is written when the process exits (`unload`) or dies of an
 * uncaught error (`error`). A hard kill (SIGKILL) can lose up to 20 ms of
 * info lines.
 */
export function bufferedStdout(write: (bytes: Uint8Array) => number = (b) => Deno.stdout.writeSync(b)): {
  sink(line: string): void;
  flush(): void;
} {
  let pending = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (pending === "") return;
    const bytes = encoder.encode(pending);
    pending = "";
    // writeSync may write less than asked (a pipe under pressure): finish the batch so no line is cut.
    for (let offset = 0; offset < bytes.byteLength;) offset += write(bytes.subarray(offset));
  };
  globalThis.addEventListener("unload", flush);
  globalThis.addEventListener("error", flush);
  return {
    sink(line) {
      pending += line + "\n";
      if (pending.length >= FLUSH_AT_CHARS) return flush();
      if (timer === undefined) {
        timer = setTimeout(flush, FLUSH_AFTER_MS);
        Deno.unrefTimer(timer); // pending log lines must not keep the process alive; unload flushes them
      }
    },
    flush,
  };
}

/**
 * The current time as ISO 8601, formatted once per millisecond: at thousands of access-log
 * lines per second most lines share a millisecond, and toISOString() was a third of a line's cost.
 */
function createIsoClock(): () => string {
  let lastMs = NaN;
  let lastIso = "";
  return () => {
    const ms = Date.now();
    if (ms !== lastMs) {
      lastMs = ms;
      lastIso = new Date(ms).toISOString();
    }
    return lastIso;
  };
}

export function createLogger(options: LoggerOptions = {}, bound: LogFields = {}): Logger {
  const min = LEVEL_ORDER[options.level ?? "info"];
  // Resolved once and handed to children, so every logger of a process shares one buffer and one order.
  const stdout = options.sink ? undefined : bufferedStdout();
  const sink = options.sink ?? stdout!.sink;
  const flush = options.flush ?? stdout?.flush;
  const time = options.now ? () => options.now!().toISOString() : createIsoClock();
  const write = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVEL_ORDER[level] < min) return;
    const record: Record<string, unknown> = { time: time(), level, msg, ...bound };
    if (fields) {
      for (const k in fields) {
        if (!Object.hasOwn(fields, k)) continue;
        const v = fields[k];
        record[k] = typeof v === "object" && v !== null ? serialise(v) : v;
      }
    }
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      // A field that cannot be serialised (cycle, BigInt) must not take the request down with it.
      line = JSON.stringify({ time: record.time, level, msg, ...bound, logError: "unserialisable fields" });
    }
    sink(line);
    // Problems and audit records are written at once: they matter most when the process is about to die.
    if (LEVEL_ORDER[level] >= LEVEL_ORDER.warn || fields?.audit === true) flush?.();
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger({ ...options, sink, flush }, { ...bound, ...fields }),
  };
}
