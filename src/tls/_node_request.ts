/**
 * The `Request` handlers receive for a request without a body: a small object
 * over node's already-parsed request that builds a real `Request` only when a
 * handler uses more than `method`, `url` and `headers.get`/`has`.
 *
 * Why: `new Request(url)` plus appending every header costs ~3–5 µs per
 * request in Deno 2.9 (URL parsing, an AbortSignal, the header list), a tenth
 * of a bare node:https responder's whole budget, and a cached read needs none
 * of it (CPU profiles in BENCHMARKS.md). Everything else a `Request` offers
 * still works: it is delegated to the real one, built on first use with the
 * same headers, so handlers stay fetch-style `(Request, context) => Response`.
 */

/**
 * Whether `target` (origin-form, starting with "/") serialises to itself under
 * the WHATWG URL parser, so `base + target` is exactly what `new Request(base +
 * target).url` would be. Conservative: only characters the parser never
 * encodes, no percent-escapes (`%2e` can be a dot segment), no "." or ".."
 * segments (the parser removes them), no fragment. Anything else takes the
 * slow path, which parses.
 */
export function isCanonicalTarget(target: string): boolean {
  return CANONICAL_TARGET.test(target) && !DOT_SEGMENT.test(target);
}

// RFC 3986 unreserved characters plus the sub-delimiters and separators the URL parser keeps as they are in
// path and query (for a special scheme: not ', which it escapes in queries; not \, which becomes /).
const CANONICAL_TARGET = /^\/[A-Za-z0-9\-._~!$&()*+,;=:@/?]*$/;
// A "." or ".." path segment, before any query.
const DOT_SEGMENT = /^[^?]*\/\.\.?(?:[/?]|$)/;

/** `Headers.get` over node's raw header list: repeated fields joined with ", ", names compared case-insensitively. */
function getRaw(raw: readonly string[], name: string): string | null {
  const wanted = name.toLowerCase();
  let value: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const field = raw[i];
    if (field.length === wanted.length && field.toLowerCase() === wanted) {
      value = value === null ? raw[i + 1] : `${value}, ${raw[i + 1]}`;
    }
  }
  return value;
}

/**
 * `Headers` over node's `rawHeaders`. Reads answer from the raw list; the
 * first call of anything else builds a real `Headers` that answers from then
 * on (so writes and iteration behave exactly as Fetch says).
 */
class RawHeaders implements Headers {
  readonly #raw: readonly string[];
  #real?: Headers;

  constructor(raw: readonly string[]) {
    this.#raw = raw;
  }

  /** The real Headers, built once; node has validated names and values already. */
  real(): Headers {
    if (this.#real) return this.#real;
    const headers = new Headers();
    const raw = this.#raw;
    for (let i = 0; i < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
    return this.#real = headers;
  }

  get(name: string): string | null {
    // Fetch trims leading and trailing whitespace from values; node already did.
    return this.#real ? this.#real.get(name) : getRaw(this.#raw, name);
  }
  has(name: string): boolean {
    return this.get(name) !== null;
  }
  getSetCookie(): string[] {
    return this.real().getSetCookie();
  }
  append(name: string, value: string): void {
    this.real().append(name, value);
  }
  delete(name: string): void {
    this.real().delete(name);
  }
  set(name: string, value: string): void {
    this.real().set(name, value);
  }
  forEach(callbackfn: (value: string, key: string, parent: this) => void, thisArg?: unknown): void {
    this.real().forEach((value, key) => callbackfn.call(thisArg, value, key, this));
  }
  entries(): ReturnType<Headers["entries"]> {
    return this.real().entries();
  }
  keys(): ReturnType<Headers["keys"]> {
    return this.real().keys();
  }
  values(): ReturnType<Headers["values"]> {
    return this.real().values();
  }
  [Symbol.iterator](): ReturnType<Headers["entries"]> {
    return this.real()[Symbol.iterator]();
  }
}

/** A body-less request (see the module comment). `url` must already be canonical ({@link isCanonicalTarget}). */
export class BodilessRequest implements Request {
  readonly method: string;
  readonly url: string;
  readonly headers: RawHeaders;
  #real?: Request;

  constructor(method: string, url: string, rawHeaders: readonly string[]) {
    this.method = method;
    this.url = url;
    this.headers = new RawHeaders(rawHeaders);
  }

  /** The real Request, built on first use of anything beyond method, url and header reads. */
  #request(): Request {
    return this.#real ??= new Request(this.url, { method: this.method, headers: this.headers.real() });
  }

  get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    return null;
  }
  get bodyUsed(): boolean {
    return false;
  }
  get cache(): RequestCache {
    return this.#request().cache;
  }
  get credentials(): RequestCredentials {
    return this.#request().credentials;
  }
  get destination(): RequestDestination {
    return this.#request().destination;
  }
  get integrity(): string {
    return this.#request().integrity;
  }
  get isHistoryNavigation(): boolean {
    return this.#request().isHistoryNavigation;
  }
  get isReloadNavigation(): boolean {
    return this.#request().isReloadNavigation;
  }
  get keepalive(): boolean {
    return this.#request().keepalive;
  }
  get mode(): RequestMode {
    return this.#request().mode;
  }
  get redirect(): RequestRedirect {
    return this.#request().redirect;
  }
  get referrer(): string {
    return this.#request().referrer;
  }
  get referrerPolicy(): ReferrerPolicy {
    return this.#request().referrerPolicy;
  }
  get signal(): AbortSignal {
    return this.#request().signal;
  }
  arrayBuffer(): Promise<ArrayBuffer> {
    return this.#request().arrayBuffer();
  }
  blob(): Promise<Blob> {
    return this.#request().blob();
  }
  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    return this.#request().bytes();
  }
  formData(): Promise<FormData> {
    return this.#request().formData();
  }
  json(): Promise<unknown> {
    return this.#request().json();
  }
  text(): Promise<string> {
    return this.#request().text();
  }
  textStream(): ReadableStream<string> {
    return this.#request().textStream();
  }
  clone(): Request {
    return this.#request().clone();
  }
}
