/** Response builders shared by handlers, so content types and encodings are set one way. */

const JSON_TYPE = "application/json";

/** Extra header fields for a response, by name. */
export type ResponseHeaders = Readonly<Record<string, string>>;

/**
 * A `Response` that also keeps its header fields and text body as plain
 * values, so the mTLS listener can write it with one `writeHead` + `end`.
 *
 * Why: in Deno 2.9 building `Headers` + a `Response` per request, and reading
 * them back with `headers.forEach` and `await response.bytes()`, costs about
 * 8 µs of the ~40 µs a bare node:https responder spends per request (CPU
 * profiles, BENCHMARKS.md). This class is still a real `Response` for every
 * other reader (tests, `clone()`, `text()`): the body is handed to `super`,
 * and the `Headers` object is filled from the fields the first time anyone
 * asks for it. From then on that object is the truth, and
 * {@link preparedFields} returns undefined so writers use it instead.
 *
 * A consumer that reads a Response's internal state instead of its getters
 * (`Deno.serve`) must be given it through {@link withNativeHeaders}.
 */
export class PreparedResponse extends Response {
  readonly #fields: string[];
  readonly #text: string | null;
  #headersMaterialised = false;

  /** `fields` is a flat `[name, value, …]` list with lower-case names; it is taken over, not copied. */
  constructor(text: string | null, status: number, fields: string[]) {
    super(text, { status });
    this.#text = text;
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

  override get headers(): Headers {
    const headers = super.headers;
    if (!this.#headersMaterialised) {
      this.#headersMaterialised = true;
      // super() added text/plain for a string body; the fields are the whole truth, as on the wire.
      headers.delete("content-type");
      const fields = this.#fields;
      for (let i = 0; i < fields.length; i += 2) headers.append(fields[i], fields[i + 1]);
    }
    return headers;
  }

  override clone(): Response {
    void this.headers; // the native clone copies the internal header list, so fill it first
    return super.clone();
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

/** Field values without CR, LF or NUL (RFC 9110 §5.5), as the Fetch Headers class enforces. */
const VALID_FIELD_VALUE = /^[^\r\n\0]*$/;

/**
 * Makes a response safe to hand to a consumer that reads its internal state
 * rather than its getters, such as `Deno.serve`: a {@link PreparedResponse}
 * keeps its fields outside the native header list until someone asks for
 * `headers`, so without this such a consumer would send none of them.
 */
export function withNativeHeaders(response: Response): Response {
  if (response instanceof PreparedResponse) void response.headers;
  return response;
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

/** A response whose body is already serialised text of the given content type. */
export function textResponse(text: string, contentType: string, init: { status?: number; headers?: ResponseHeaders } = {}): Response {
  return new PreparedResponse(text, init.status ?? 200, fieldsOf(["content-type", contentType], init.headers));
}

/** A body-less response, e.g. 304 Not Modified. */
export function emptyResponse(status: number, headers?: ResponseHeaders): Response {
  return new PreparedResponse(null, status, fieldsOf([], headers));
}
