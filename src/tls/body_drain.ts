/**
 * What happens to the rest of a request body once the response has been sent
 * without it (a 413 for a body over the limit, a 429, a 404): it is read and
 * dropped, within a bound, and only then may the connection close.
 *
 * Why not close at once: closing a TCP socket with unread data in its
 * receive buffer sends a RST, and a client that has not yet read our response
 * (curl still uploading) loses it and reports "connection reset" instead of
 * the 413. node:http's server does exactly that after a response that ends the
 * connection (the client sent `Connection: close`, or we are shutting down):
 * `resOnFinish` calls `socket.destroySoon()`, which destroys the socket as soon
 * as the response is flushed. So while a body is being drained, that socket's
 * `destroySoon` sends our FIN instead and waits for the client's, as a
 * lingering close does (Apache, nginx; Go's net/http waits too).
 *
 * Why a bound: a client may keep sending forever. Once `maxBytes` more bytes
 * have been dropped, our FIN goes out (if it has not) and the connection is
 * destroyed AFTER_LIMIT_GRACE_MS later; `timeoutMs` after draining began it is
 * destroyed whatever state it is in. A keep-alive connection whose body ends
 * within the bound stays usable. (Not reading any more would be cheaper, but
 * Deno's node:http server keeps reading a paused request and buffers what it
 * reads: measured, 260 MiB in 800 ms.)
 */
import type { IncomingMessage } from "node:http";
import type { Socket } from "node:net";

/** How much of an unread request body is read and dropped, and for how long, before the connection is cut. */
export interface BodyDrainLimits {
  /** From the response to the cut-off: time for the client to finish sending, read the response and close. */
  readonly timeoutMs: number;
  /** Body bytes read and dropped before the connection is closed (AFTER_LIMIT_GRACE_MS later). */
  readonly maxBytes: number;
}

/**
 * 5 s is ample for a client to read a response that is already in its socket buffer. 4 MiB (64 times the
 * largest body the API accepts) lets a client that only reads once it has sent everything finish a body of
 * a few MiB and still see the 413, while bounding the bandwidth and TLS decryption one connection can cost.
 */
export const DEFAULT_BODY_DRAIN: BodyDrainLimits = Object.freeze({ timeoutMs: 5_000, maxBytes: 4 * 1024 * 1024 });

/** After maxBytes: time for our FIN and the response before it to reach a client that is reading. */
const AFTER_LIMIT_GRACE_MS = 250;

const noop = () => {};
const draining = Symbol("replica-api.draining");

type DrainableRequest = IncomingMessage & { [draining]?: true };
/** net.Socket's undocumented destroySoon(), which node:http's server calls after a connection's last response. */
type ClosableSocket = Omit<Socket, "destroySoon"> & { destroySoon?: () => void };

/** Read and drop whatever is left of a request body, within `limits`; see the module comment. Idempotent. */
export function drainBody(req: IncomingMessage, limits: BodyDrainLimits): void {
  const request = req as DrainableRequest;
  if (request.complete || request[draining]) return;
  request[draining] = true;
  const socket = req.socket as ClosableSocket;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let ourFinSent = false;
  let received = 0;

  const cutOff = () => socket.destroy();
  const onData = (chunk: Uint8Array) => {
    received += chunk.byteLength;
    if (received <= limits.maxBytes) return;
    req.off("data", onData);
    // Not destroyed at once: that would reset the connection under a client that may not have read the response yet.
    ourFinSent = true;
    if (socket.writable) socket.end();
    clearTimeout(timer);
    timer = setTimeout(cutOff, Math.min(AFTER_LIMIT_GRACE_MS, limits.timeoutMs));
  };
  req.on("data", onData);
  req.on("error", noop); // a client gone mid-body is no error of ours
  const onClose = () => clearTimeout(timer);
  req.once("end", () => {
    if (ourFinSent) return; // wait for the client's FIN (or the timer)
    clearTimeout(timer);
    timer = undefined;
    // Drained within the bound: the connection is as good as new, and node may close it its own way. (A keep-alive
    // connection may drain many bodies: nothing of this one may stay attached to it.)
    delete socket.destroySoon;
    socket.off("close", onClose);
  });
  socket.once("close", onClose);
  // An own property shadows net.Socket's for this socket only; deleted again once the body has ended.
  socket.destroySoon = () => {
    ourFinSent = true;
    if (socket.writable) socket.end(); // the response, TLS close_notify, FIN; reading goes on
    timer ??= setTimeout(cutOff, limits.timeoutMs);
  };
  timer = setTimeout(cutOff, limits.timeoutMs);
  req.resume();
}
