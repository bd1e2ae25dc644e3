/**
 * The one error type the HTTP layer understands. Anything thrown by a handler
 * is turned into an HttpError (see problem.ts) and rendered as RFC 9457
 * application/problem+json in exactly one place.
 */
export interface HttpErrorOptions {
  /** Extra response headers, e.g. Allow or Retry-After. */
  headers?: Record<string, string>;
  /** Logged, never sent to the client. */
  cause?: unknown;
  /** Overrides the standard reason phrase. */
  title?: string;
}

export class HttpError extends Error {
  readonly headers: Readonly<Record<string, string>>;
  readonly title: string;
  constructor(readonly status: number, readonly detail: string, options: HttpErrorOptions = {}) {
    super(detail, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "HttpError";
    this.headers = options.headers ?? {};
    this.title = options.title ?? reasonPhrase(status);
  }
}

/**
 * The reason phrase of every status code in the IANA HTTP Status Code Registry, as RFC 9110 §15 (and the RFCs
 * it cites for the others) spells it. Our own copy of std's `STATUS_TEXT`, which is on JSR, out of reach here;
 * a whole table rather than the few codes we answer today, so a new status never silently gets a generic title.
 * Left out: 306 and 418, which the registry marks "(Unused)".
 */
export const STATUS_TEXT: Readonly<Record<number, string>> = Object.freeze({
  100: "Continue",
  101: "Switching Protocols",
  102: "Processing",
  103: "Early Hints",
  200: "OK",
  201: "Created",
  202: "Accepted",
  203: "Non-Authoritative Information",
  204: "No Content",
  205: "Reset Content",
  206: "Partial Content",
  207: "Multi-Status",
  208: "Already Reported",
  226: "IM Used",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  305: "Use Proxy",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  421: "Misdirected Request",
  422: "Unprocessable Content",
  423: "Locked",
  424: "Failed Dependency",
  425: "Too Early",
  426: "Upgrade Required",
  428: "Precondition Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  451: "Unavailable For Legal Reasons",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
  506: "Variant Also Negotiates",
  507: "Insufficient Storage",
  508: "Loop Detected",
  510: "Not Extended",
  511: "Network Authentication Required",
});

/** The registry's class names (RFC 9110 §15), for a code the registry does not list. */
const CLASS_TEXT = ["", "Informational", "Successful", "Redirection", "Client Error", "Server Error"];

/** The reason phrase for `status`: its registered one, else its class's name ("Client Error" for 499). */
export function reasonPhrase(status: number): string {
  return STATUS_TEXT[status] ?? CLASS_TEXT[Math.floor(status / 100)] ?? "Unknown Status";
}
