/**
 * A Server-Sent Events parser following the WHATWG HTML "event stream
 * interpretation" rules: lines end in CRLF, LF or CR (a CR at the end of one
 * chunk and the LF starting the next are one line end), a leading BOM is
 * dropped, `data` lines accumulate, `id` survives across events, `retry`
 * takes digits only, comments (`:`) are heartbeats, and an event is
 * dispatched on a blank line only: a half-received event at the end of the
 * stream is discarded.
 */

export interface SseEvent {
  /** The `event` field, "message" when absent. */
  readonly type: string;
  /** The `data` lines joined with "\n". */
  readonly data: string;
  /** The last event ID in effect when this event was dispatched (what Last-Event-ID must carry). */
  readonly lastEventId: string;
}

/** Lines longer than this end the stream: a server that never ends a line must not grow our memory without bound. */
export const MAX_LINE_LENGTH = 1 << 20;

export class SseParser {
  #buffer = "";
  #sawCr = false;
  #started = false;
  #data: string[] = [];
  #type = "";
  #lastEventId = "";
  #retryMs: number | undefined;
  #comments = 0;

  /** The ID to resume from (sent as Last-Event-ID); "" when the server has set none. */
  get lastEventId(): string {
    return this.#lastEventId;
  }

  /** The reconnection time the server asked for with `retry:`, if any. */
  get retryMs(): number | undefined {
    return this.#retryMs;
  }

  /** Comment lines seen so far (the server's heartbeats). */
  get comments(): number {
    return this.#comments;
  }

  /** Feeds decoded text; returns the events completed by it. Throws when a line exceeds MAX_LINE_LENGTH. */
  push(text: string): SseEvent[] {
    if (!this.#started && text.length > 0) {
      this.#started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    const events: SseEvent[] = [];
    let start = 0;
    if (this.#sawCr && text.startsWith("\n")) start = 1; // the LF of a CRLF split across chunks
    this.#sawCr = false;
    for (let i = start; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 0x0a && c !== 0x0d) continue;
      const line = this.#buffer + text.slice(start, i);
      this.#buffer = "";
      const event = this.#line(line);
      if (event) events.push(event);
      if (c === 0x0d) {
        if (i + 1 === text.length) this.#sawCr = true;
        else if (text.charCodeAt(i + 1) === 0x0a) i++;
      }
      start = i + 1;
    }
    this.#buffer += text.slice(start);
    if (this.#buffer.length > MAX_LINE_LENGTH) {
      throw new Error(`the event stream sent a line longer than ${MAX_LINE_LENGTH} characters`);
    }
    return events;
  }

  #line(line: string): SseEvent | undefined {
    if (line === "") return this.#dispatch();
    if (line.startsWith(":")) {
      this.#comments++;
      return undefined;
    }
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.#type = value;
        break;
      case "data":
        this.#data.push(value);
        break;
      case "id":
        if (!value.includes("\0")) this.#lastEventId = value;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.#retryMs = Number(value);
        break;
        // Unknown fields are ignored, as the standard requires.
    }
    return undefined;
  }

  #dispatch(): SseEvent | undefined {
    const data = this.#data;
    const type = this.#type;
    this.#data = [];
    this.#type = "";
    if (data.length === 0) return undefined;
    return { type: type || "message", data: data.join("\n"), lastEventId: this.#lastEventId };
  }
}
