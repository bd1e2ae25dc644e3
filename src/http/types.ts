/**
 * Shared request-handling types. Handlers are fetch-style: they receive a
 * standard `Request` plus a context carrying what the transport verified.
 */

/** The identity proven by the client's TLS certificate (mTLS listener only). */
export interface ClientIdentity {
  /** Subject common name, e.g. "alice". Empty string when the subject has none. */
  readonly cn: string;
  /** Subject organisations (groups), possibly empty. */
  readonly organizations: readonly string[];
  /** SHA-256 fingerprint of the leaf certificate, colon-separated hex. */
  readonly fingerprint256: string;
  /** Serial number, uppercase hex without leading zeros (as node:tls reports it). */
  readonly serialNumber?: string;
  /** The issuer's distinguished name, e.g. "CN=replica-api dev CA". */
  readonly issuer?: string;
  /** Validity of the certificate (anything `new Date()` reads: an ISO string or epoch milliseconds). */
  readonly notBefore?: string | number;
  readonly notAfter?: string | number;
}

/**
 * Per-request context passed next to the Request. router.handle copies these fields by name (not with a spread,
 * for speed): a new field must be added there too.
 */
export interface RequestContext {
  /** Verified client identity; undefined on the plain probe listener. */
  readonly client?: ClientIdentity;
  /** Remote address as seen by the listener. */
  readonly remoteAddr: string;
  /** Path parameters filled in by the router. */
  readonly params: Readonly<Record<string, string>>;
  /**
   * A signal aborted when the client's connection closes, made on first call (mTLS listener only).
   * Handlers that wait (rollout waits, consistent reads) stop as soon as nobody is there to answer.
   */
  readonly closed?: () => AbortSignal;
}

/** A fetch-style handler. */
export type Handler = (
  request: Request,
  context: RequestContext,
) => Response | Promise<Response>;
