/**
 * Turns node:http's IncomingMessage into the fetch-style Request our handlers
 * use (responses go the other way in _node_response.ts).
 */
import type { IncomingMessage } from "node:http";
import { BodilessRequest, isCanonicalTarget } from "./_node_request.ts";
import { type BodyDrainLimits, DEFAULT_BODY_DRAIN, drainBody } from "./body_drain.ts";

// Handlers must not see attacker-chosen authorities, so URLs are built on a
// fixed origin instead of the Host header.
const URL_BASE = "https://localhost";

/** A request whose body the handler may stream, plus the hook to give it up. */
export interface AdaptedRequest {
  readonly request: Request;
  /** The framing announced a body (it may not have been read, or fully received). */
  readonly hasBody: boolean;
  /**
   * Call once the response has been sent: stops feeding the handler and
   * discards whatever body is still arriving, within a bound (see
   * body_drain.ts). Deno's node:http does not dump unread bodies itself, so
   * without this the next request on a keep-alive connection would never be
   * parsed. Discarding (rather than closing) lets a client that is still
   * uploading read the response: closing under it makes it fail with
   * EPIPE/ECONNRESET instead.
   */
  abandonBody(): void;
}

/** Why a request could not be turned into a `Request` (answered with 400). */
export class BadRequest extends Error {}

/** A method the Fetch API cannot represent (RFC 9110 methods Request refuses); answered 405, never routed. */
export class UnroutableMethod extends Error {}

const FETCH_FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

function requestUrl(target: string): string {
  if (target.startsWith("/")) return URL_BASE + target;
  // Absolute-form targets (RFC 9112 §3.2.2) are legal; keep only path and query.
  if (/^https?:\/\//i.test(target)) {
    const url = URL.parse(target);
    if (url) return URL_BASE + url.pathname + url.search;
  }
  throw new BadRequest(`Unsupported request target: ${JSON.stringify(target.slice(0, 100))}`);
}

/**
 * Whether the message framing announces a body (RFC 9112 §6.3). Reads rawHeaders: `req.headers`
 * is built on first access, a cost a GET should not pay to learn it has no body.
 */
function announcesBody(req: IncomingMessage): boolean {
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i];
    if (name.length === 17 && name.toLowerCase() === "transfer-encoding") return true;
    if (name.length === 14 && name.toLowerCase() === "content-length" && raw[i + 1] !== "0") return true;
  }
  return false;
}

const noop = () => {};

/**
 * A web stream over the node request body that only starts pulling data once
 * the handler reads, and honours backpressure by pausing the node stream.
 */
function bodyStream(req: IncomingMessage, drain: BodyDrainLimits): { stream: ReadableStream<Uint8Array>; abandon(): void } {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let state: "idle" | "flowing" | "done" = "idle";
  const finish = (error?: Error) => {
    if (state === "done") return;
    state = "done";
    try {
      if (error) controller.error(error);
      else controller.close();
    } catch { /* stream already cancelled by the reader */ }
  };
  const onData = (chunk: Uint8Array) => {
    if (state === "done") return; // discarding
    // Copy: node may reuse the buffer behind a chunk once the event returns.
    controller.enqueue(new Uint8Array(chunk));
    if ((controller.desiredSize ?? 0) <= 0) req.pause();
  };
  const onEnd = () => finish();
  // 'close' is the last event: without an 'end' before it, no more data will come.
  const onClose = () => finish(new Error("client closed the connection before the request body was complete"));
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    pull() {
      if (state === "idle") {
        state = "flowing";
        req.on("data", onData);
        req.once("end", onEnd);
        req.once("close", onClose);
        req.on("error", noop); // surfaced through onClose; must not become an uncaught error
      }
      req.resume();
    },
    cancel() {
      state = "done";
      req.resume();
    },
  }, { highWaterMark: 0 }); // 0: no pull, and no data read, until the handler asks for it.
  const abandon = () => {
    if (req.complete) return;
    finish(new Error("response already sent; request body discarded"));
    drainBody(req, drain);
  };
  return { stream, abandon };
}

/** For a request whose body the handler never sees (GET, HEAD): drop one if the client sent it anyway. */
function ignoredBody(req: IncomingMessage, drain: BodyDrainLimits): () => void {
  return announcesBody(req) ? () => drainBody(req, drain) : noop;
}

/** Build a `Request` from a node request. Throws {@link BadRequest}. `drain` bounds what is left of an unread body. */
export function toRequest(req: IncomingMessage, drain: BodyDrainLimits = DEFAULT_BODY_DRAIN): AdaptedRequest {
  const method = req.method ?? "GET";
  // The hot path: a cached read. GET and HEAD bodies have no meaning and are discarded (see abandonBody).
  if ((method === "GET" || method === "HEAD") && req.url !== undefined && isCanonicalTarget(req.url)) {
    return {
      request: new BodilessRequest(method, URL_BASE + req.url, req.rawHeaders),
      hasBody: false,
      abandonBody: ignoredBody(req, drain),
    };
  }
  if (FETCH_FORBIDDEN_METHODS.has(method.toUpperCase())) throw new UnroutableMethod(method);
  const url = requestUrl(req.url ?? "");
  const hasBody = method !== "GET" && method !== "HEAD" && announcesBody(req);
  const body = hasBody ? bodyStream(req, drain) : undefined;
  let request: Request;
  try {
    // A bare GET skips the init dictionary conversion: this is the hot path.
    request = body
      ? new Request(url, { method, body: body.stream, duplex: "half" } as RequestInit)
      : method === "GET"
      ? new Request(url)
      : new Request(url, { method });
  } catch (err) {
    // e.g. forbidden methods (TRACE) or a target the URL parser rejects.
    body?.abandon();
    throw new BadRequest("Malformed request", { cause: err });
  }
  const raw = req.rawHeaders;
  try {
    // Appending to the request's own Headers is measurably cheaper in Deno 2.9
    // than passing a Headers object in the init (which copies it), and
    // rawHeaders keeps repeated fields, which Headers joins with ", ".
    for (let i = 0; i < raw.length; i += 2) request.headers.append(raw[i], raw[i + 1]);
  } catch (err) {
    body?.abandon();
    throw new BadRequest("Malformed request header", { cause: err });
  }
  return { request, hasBody, abandonBody: body?.abandon ?? ignoredBody(req, drain) };
}
