/**
 * Turns the body of a Kubernetes watch response (one JSON object per line:
 * `{"type":"ADDED","object":{...}}`) into watch events.
 *
 * Chunks arrive as the network delivers them: a line may span many chunks, a
 * chunk may hold many lines, and a multi-byte character may be split between
 * two chunks. A line that is not a watch event means the stream is corrupt or
 * is not a watch at all; continuing would skip a change silently, so it is an
 * error and the caller reconnects (client-node's Watch ignores such lines).
 */

/** One decoded watch event. `raw` is the whole parsed line, which client-node's Watch hands to callbacks too. */
export interface WatchEvent {
  readonly type: string;
  // deno-lint-ignore no-explicit-any
  readonly object: any;
  readonly raw: unknown;
}

/** A line of the watch stream was not a watch event; the message quotes its start, never the whole line. */
export class MalformedWatchEventError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MalformedWatchEventError";
  }
}

/**
 * Yields the events in a watch body as their lines complete. A last line without a newline is parsed when the
 * body ends (a truncated one is an error). Errors of the body itself (connection reset) propagate unchanged.
 */
export async function* watchEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<WatchEvent> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  // Text after the last newline seen. Only new chunks are searched for newlines, so a long line split into many
  // chunks costs linear time.
  let pending = "";
  for await (const chunk of body) {
    const text = decode(decoder, chunk);
    let nl = text.indexOf("\n");
    if (nl === -1) {
      pending += text;
      continue;
    }
    const first = parseLine(pending + text.slice(0, nl));
    if (first) yield first;
    let start = nl + 1;
    while ((nl = text.indexOf("\n", start)) !== -1) {
      const event = parseLine(text.slice(start, nl));
      if (event) yield event;
      start = nl + 1;
    }
    pending = text.slice(start);
  }
  const last = parseLine(pending + decode(decoder));
  if (last) yield last;
}

/** Decodes the next chunk (or, without one, whatever is left); invalid UTF-8 would otherwise become U+FFFD silently. */
function decode(decoder: TextDecoder, chunk?: Uint8Array): string {
  try {
    return chunk ? decoder.decode(chunk, { stream: true }) : decoder.decode();
  } catch (error) {
    throw new MalformedWatchEventError("watch stream is not valid UTF-8", { cause: error });
  }
}

/** Parses one line; blank lines carry nothing and yield undefined. */
function parseLine(line: string): WatchEvent | undefined {
  if (line.trim() === "") return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw new MalformedWatchEventError(`watch stream line is not JSON: ${quote(line)}`, { cause: error });
  }
  const event = value as { type?: unknown; object?: unknown };
  if (!event || typeof event !== "object" || typeof event.type !== "string" || !event.object || typeof event.object !== "object") {
    throw new MalformedWatchEventError(`watch stream line is not a watch event: ${quote(line)}`);
  }
  return { type: event.type, object: event.object, raw: value };
}

/** Enough of a bad line to recognise it in a log, without dumping an object (or anything secret) in full. */
function quote(line: string): string {
  return JSON.stringify(line.length > 80 ? `${line.slice(0, 80)}…` : line);
}
