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
  /** Receives one complete line (without newline). Defaults to stdout. */
  sink?: (line: string) => void;
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
function stdoutSink(line: string): void {
  // Synchronous write keeps lines whole and ordered, even when the process exits right after.
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

export function createLogger(options: LoggerOptions = {}, bound: LogFields = {}): Logger {
  const min = LEVEL_ORDER[options.level ?? "info"];
  const sink = options.sink ?? stdoutSink;
  const now = options.now ?? (() => new Date());
  const write = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (LEVEL_ORDER[level] < min) return;
    const record: Record<string, unknown> = { time: now().toISOString(), level, msg, ...bound };
    if (fields) { for (const [k, v] of Object.entries(fields)) record[k] = serialise(v); }
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      // A field that cannot be serialised (cycle, BigInt) must not take the request down with it.
      line = JSON.stringify({ time: record.time, level, msg, ...bound, logError: "unserialisable fields" });
    }
    sink(line);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
    child: (fields) => createLogger(options, { ...bound, ...fields }),
  };
}
