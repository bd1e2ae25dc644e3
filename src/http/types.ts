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
  /*
   * The certificate's own facts, for whoami and logs. The mTLS listener always sets them (notBefore/notAfter only
   * if the runtime's validity text parses); they are optional so identities built by hand (tests, fakes) need not
   * invent a certificate.
   */
  /** Serial number, uppercase hex without leading zeros, e.g. "1A2B" (the spelling revocation lists are matched in). */
  readonly serialNumber?: string;
  /**
   * The issuer's distinguished name in RFC 4514 form, read from the certificate's DER: most specific first,
   * special characters escaped, e.g. "CN=replica-api dev CA" or "CN=Team CA,O=Example". For display and logs;
   * compare issuers by DER, never by this text.
   */
  readonly issuer?: string;
  /** Start of validity, an ISO 8601 UTC string ("2026-12-07T09:32:53.000Z"); second precision, as in X.509. */
  readonly notBefore?: string;
  /** End of validity, an ISO 8601 UTC string like notBefore. */
  readonly notAfter?: string;
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
