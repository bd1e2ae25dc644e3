/** Response builders shared by handlers, so content types and encodings are set one way. */

const JSON_TYPE = "application/json";

/**
 * Content types whose bodies may be long-lived or large (server-sent events, NDJSON/JSON Lines, raw bytes): a
 * listener sends them chunk by chunk. Everything else is read whole, with one bytes() call: in Deno 2.9 reading
 * a Response body through its stream costs ~10 µs more per response (measured), a third of a bare node:https
 * responder's whole budget.
 */
const STREAMED_TYPES = /^\s*(text\/event-stream|application\/(x-)?ndjson|application\/jsonl|application\/octet-stream)\s*(;|$)/i;

/**
 * Whether a listener must stream `response`'s body rather than read it whole: the HTTP layer's contract with the
 * transports. True for the content types above, and for a response with no content type (usually a handler-built
 * stream or raw bytes: streaming is the safe side). So an endless body must carry one of those types. Reads only
 * the content type: call it before touching `body`, whose getter alone builds a stream.
 */
export function isStreamedResponse(response: Response): boolean {
  const type = response.headers.get("content-type");
  return type === null || STREAMED_TYPES.test(type);
}

/** Extra header fields for a response, by name. */
export type ResponseHeaders = Readonly<Record<string, string>>;

/** Statuses whose responses can have no body (Fetch's "null body status"). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

/**
 * A `Response` that also keeps its header fields and text body as plain
 * values, so the mTLS listener can write it with one pass of `setHeader` +
 * `end`.
 *
 * Why: in Deno 2.9 building `Headers` + a `Response` with a body per request,
 * and reading them back with `headers.forEach` and `await response.bytes()`,
 * costs about 8 µs of the ~40 µs a bare node:https responder spends per
 * request (CPU profiles, BENCHMARKS.md). Giving the text to `super` alone
 * encodes it into a new ArrayBuffer per response that nobody reads (the
 * listener writes the text): garbage on every cached read, and garbage is what
 * made reads slower the more connections were open (BENCHMARKS.md, "Issue 12,
 * second round"). So the native part of this Response is made without
 * a body, and is a real `Response` for every reader of its getters and methods
 * (tests, `clone()`, `text()`, `body`): those use a second, native Response
 * built from the text on first use. The `Headers` object is filled from the
 * fields the first time anyone asks for it; from then on it is the truth, and
 * {@link preparedFields} returns undefined so writers use it instead.
 *
 * A consumer that reads a Response's internal state instead of its getters
 * (`Deno.serve`) must be given {@link nativeResponse} of it.
 */
export class PreparedResponse extends Response {
  readonly #fields: string[];
  readonly #text: string | null;
  readonly #bytes: Uint8Array | undefined;
  #headersMaterialised = false;
  /** Holds the body once a reader asks for it (see the class comment). */
  #bodyHolder: Response | undefined;

  /**
   * `fields` is a flat `[name, value, …]` list with lower-case names; it is taken over, not copied. `bytes`, when
   * given, is `text` already encoded as UTF-8, kept by the caller for repeated answers (a large list): the
   * listener then writes it as it is instead of encoding the text per response. Neither is ever modified.
   */
  constructor(text: string | null, status: number, fields: string[], bytes?: Uint8Array) {
    // 200 needs no init dictionary (its conversion allocates); a body on a null body status is refused as
    // the Response constructor would refuse it.
    super(null, status === 200 ? undefined : { status });
    if (text !== null && NULL_BODY_STATUSES.has(status)) throw new TypeError(`a ${status} response cannot have a body`);
    this.#text = text;
    this.#bytes = text === null ? undefined : bytes;
    this.#fields = fields;
  }

  /** The header fields as a flat list, or undefined once `headers` was used (then read `headers`). */
  get preparedFields(): readonly string[] | undefined {
    return this.#headersMaterialised ? undefined : this.#fields;
  }

  /** The body as given to the constructor (the body stream itself is left untouched). */
  get preparedText(): string | null {
    return this.#text;
  }

  /** The body's UTF-8 bytes when the caller had them (see the constructor), else undefined: encode preparedText. */
  get preparedBytes(): Uint8Array | undefined {
    return this.#bytes;
  }

  override get headers(): Headers {
    const headers = super.headers;
    if (!this.#headersMaterialised) {
      this.#headersMaterialised = true;
      const fields = this.#fields;
      for (let i = 0; i < fields.length; i += 2) headers.append(fields[i], fields[i + 1]);
    }
    return headers;
  }

  /** The native Response that carries the body, with this response's content type (blob() and formData() read it). */
  #holder(): Response {
    if (this.#bodyHolder === undefined) {
      // Read without materialising `headers`: reading the body must not change how the response is written.
      const type = this.#headersMaterialised ? super.headers.get("content-type") : fieldValue(this.#fields, "content-type");
      this.#bodyHolder = new Response(this.#text, type === null ? undefined : { headers: { "content-type": type } });
    }
    return this.#bodyHolder;
  }

  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    return this.#text === null && this.#bodyHolder === undefined ? null : this.#holder().body;
  }

  override get bodyUsed(): boolean {
    return this.#bodyHolder?.bodyUsed ?? false;
  }

  override text(): Promise<string> {
    return this.#holder().text();
  }

  override json(): Promise<unknown> {
    return this.#holder().json();
  }

  override bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return this.#holder().bytes();
  }

  override arrayBuffer(): Promise<ArrayBuffer> {
    return this.#holder().arrayBuffer();
  }

  override blob(): Promise<Blob> {
    return this.#holder().blob();
  }

  override formData(): Promise<FormData> {
    return this.#holder().formData();
  }

  override clone(): Response {
    if (this.bodyUsed) throw new TypeError("Response.clone: the body has already been consumed");
    if (this.#bodyHolder === undefined) {
      const fields = this.#headersMaterialised ? fieldsOfHeaders(super.headers) : [...this.#fields];
      return new PreparedResponse(this.#text, this.status, fields, this.#bytes);
    }
    // The body may be a stream a reader holds: tee it, as the native clone does.
    return new Response(this.#bodyHolder.clone().body, { status: this.status, statusText: this.statusText, headers: this.headers });
  }

  /** The same response as a plain native Response, for consumers that read internal state (see nativeResponse). */
  toNative(): Response {
    const body = this.#bodyHolder === undefined ? this.#text : this.#bodyHolder.body;
    return new Response(body, { status: this.status, statusText: this.statusText, headers: this.headers });
  }

  /** Like `headers.set`, without materialising the `Headers` object. */
  setHeader(name: string, value: string): void {
    if (this.#headersMaterialised) return void super.headers.set(name, value);
    const lower = name.toLowerCase();
    const fields = this.#fields;
    // Header values go on the wire verbatim; refuse what Headers would refuse rather than write a broken response.
    if (!VALID_FIELD_VALUE.test(value)) throw new TypeError(`invalid value for header ${lower}`);
    for (let i = 0; i < fields.length; i += 2) {
      if (fields[i] === lower) {
        fields[i + 1] = value;
        // A later duplicate would survive a set() on Headers: drop them as Headers does.
        for (let j = fields.length - 2; j > i; j -= 2) if (fields[j] === lower) fields.splice(j, 2);
        return;
      }
    }
    fields.push(lower, value);
  }
}

/** The value of the first field named `name` (lower case) in a flat field list, or null. */
function fieldValue(fields: readonly string[], name: string): string | null {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return null;
}

/** A Headers object as a flat `[name, value, …]` list (set-cookie fields stay separate). */
function fieldsOfHeaders(headers: Headers): string[] {
  const fields: string[] = [];
  headers.forEach((value, name) => {
    if (name !== "set-cookie") fields.push(name, value);
  });
  for (const cookie of headers.getSetCookie()) fields.push("set-cookie", cookie);
  return fields;
}

/** Field values without CR, LF or NUL (RFC 9110 §5.5), as the Fetch Headers class enforces. */
const VALID_FIELD_VALUE = /^[^\r\n\0]*$/;

/**
 * A response safe to hand to a consumer that reads a Response's internal state
 * rather than its getters, such as `Deno.serve`: a {@link PreparedResponse}
 * keeps its fields and its body outside the native state, so such a consumer
 * would send neither. Any other response is returned as it is.
 */
export function nativeResponse(response: Response): Response {
  return response instanceof PreparedResponse ? response.toNative() : response;
}

/** Set a header on any Response; cheap for a {@link PreparedResponse}. */
export function setResponseHeader(response: Response, name: string, value: string): void {
  if (response instanceof PreparedResponse) response.setHeader(name, value);
  else response.headers.set(name, value);
}

/** Fields of a header record with lower-case names, after the given leading fields. */
function fieldsOf(leading: string[], headers: ResponseHeaders | undefined): string[] {
  if (headers) {
    for (const name in headers) {
      const value = headers[name];
      if (!VALID_FIELD_VALUE.test(value)) throw new TypeError(`invalid value for header ${name}`);
      leading.push(name.toLowerCase(), value);
    }
  }
  return leading;
}

/** A JSON body with the given status (default 200) and extra headers. */
export function jsonResponse(body: unknown, init: { status?: number; headers?: ResponseHeaders } = {}): Response {
  return new PreparedResponse(JSON.stringify(body), init.status ?? 200, fieldsOf(["content-type", JSON_TYPE], init.headers));
}

/**
 * A response whose body is already serialised text of the given content type; `bytes` is that text as UTF-8 when
 * the caller keeps it for repeated answers (see PreparedResponse).
 */
export function textResponse(
  text: string,
  contentType: string,
  init: { status?: number; headers?: ResponseHeaders; bytes?: Uint8Array } = {},
): Response {
  return new PreparedResponse(text, init.status ?? 200, fieldsOf(["content-type", contentType], init.headers), init.bytes);
}

/** A body-less response, e.g. 304 Not Modified. */
export function emptyResponse(status: number, headers?: ResponseHeaders): Response {
  return new PreparedResponse(null, status, fieldsOf([], headers));
}
