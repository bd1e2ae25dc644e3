/**
 * Converts between node:http's IncomingMessage/ServerResponse and the
 * fetch-style Request/Response our handlers use.
 */
import { type HttpError, isStreamedResponse, problemResponse } from "../http/mod.ts";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Buffer } from "node:buffer";
import { PreparedResponse } from "../http/mod.ts";
import { BodilessRequest, isCanonicalTarget } from "./_node_request.ts";
import { type BodyDrainLimits, DEFAULT_BODY_DRAIN, drainBody } from "./_body_drain.ts";

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
   * _body_drain.ts). Deno's node:http does not dump unread bodies itself, so
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

/**
 * Send the problem+json answer for `error`, rendered by the HTTP layer's one renderer; used only for the errors
 * the transport answers itself (a request it cannot adapt or route, a handler that failed). `instance` is the
 * request's path when it is known.
 */
export function writeProblem(req: IncomingMessage, res: ServerResponse, error: HttpError, close: boolean, instance?: string): void {
  if (res.headersSent) {
    // Too late for a clean error response: cut the connection so the client sees a failure.
    res.destroy();
    return;
  }
  // problemResponse builds a PreparedResponse, which writeResponse writes synchronously.
  void writeResponse(req, res, problemResponse(error, instance), close);
}

function waitForDrain(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/**
 * Send a `Response`. Resolves when the body has been handed to node or the
 * client went away; rejects only if the response body itself fails (the
 * connection is then destroyed, since the status line may already be out).
 * A {@link PreparedResponse} is written synchronously (no promise).
 */
export function writeResponse(req: IncomingMessage, res: ServerResponse, response: Response, close: boolean): Promise<void> | void {
  if (response instanceof PreparedResponse) {
    const fields = response.preparedFields;
    if (fields !== undefined) {
      return writePrepared(req, res, response.status, fields, response.preparedBytes ?? response.preparedText, close);
    }
  }
  return writeFetchResponse(req, res, response, close);
}

/** Statuses whose responses never have content (RFC 9110 §6.4.1), so they get no Content-Length. */
function bodylessStatus(status: number): boolean {
  return status < 200 || status === 204 || status === 304;
}

/** One writeHead with a flat field list and one end(): the cheapest way through node:http (see PreparedResponse). */
function writePrepared(
  req: IncomingMessage,
  res: ServerResponse,
  status: number,
  fields: readonly string[],
  body: string | Uint8Array | null,
  close: boolean,
): void {
  if (res.destroyed) return;
  res.statusCode = status;
  // setHeader per field measured cheaper in Deno 2.9 than writeHead(status, flatArray).
  for (let i = 0; i < fields.length; i += 2) res.setHeader(fields[i], fields[i + 1]);
  // HEAD answers carry the length the GET would have (RFC 9110 §9.3.2); for GET node adds it itself on end(chunk).
  if (req.method === "HEAD" && body !== null && !bodylessStatus(status)) {
    res.setHeader("content-length", typeof body === "string" ? Buffer.byteLength(body, "utf8") : body.byteLength);
  }
  if (close) res.setHeader("connection", "close");
  // Bytes (a cached list) go out as they are; node only reads them, and never after the write.
  if (body === null || req.method === "HEAD") res.end();
  else res.end(body);
}

async function writeFetchResponse(
  req: IncomingMessage,
  res: ServerResponse,
  response: Response,
  close: boolean,
): Promise<void> {
  res.statusCode = response.status;
  // forEach, not for-of: ~5x cheaper in Deno 2.9 (no iterator objects). Both
  // yield repeated fields joined with ", ", except set-cookie (handled below).
  response.headers.forEach((value, name) => {
    if (name !== "set-cookie") res.setHeader(name, value);
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader("set-cookie", cookies);
  if (close) res.setHeader("connection", "close");

  if (req.method === "HEAD") {
    await response.body?.cancel().catch(noop);
    res.end();
    return;
  }
  // Checked before touching response.body: that getter alone builds a stream.
  if (!isStreamedResponse(response)) {
    let bytes: Uint8Array;
    try {
      bytes = await response.bytes(); // empty for a null body
    } catch (err) {
      res.destroy();
      throw err;
    }
    if (!res.destroyed) res.end(bytes); // node adds Content-Length for a single end(chunk)
    return;
  }
  if (response.body === null) return void res.end();
  await streamBody(res, response.body);
}

async function streamBody(res: ServerResponse, body: ReadableStream<Uint8Array>): Promise<void> {
  const reader = body.getReader();
  let closedEarly = false;
  // Client gone (before or during streaming): the producer must be told to stop.
  const gone = () => closedEarly || res.destroyed;
  const onClose = () => {
    closedEarly = !res.writableFinished;
    if (closedEarly) reader.cancel().catch(noop);
  };
  res.once("close", onClose);
  try {
    for (let next = await reader.read(); !gone(); next = await reader.read()) {
      if (next.done) return void res.end();
      if (!res.write(next.value)) await waitForDrain(res);
    }
    await reader.cancel().catch(noop);
  } catch (err) {
    const clientLeft = gone();
    res.destroy();
    if (!clientLeft) throw err;
  } finally {
    res.off("close", onClose);
    reader.releaseLock();
  }
}
