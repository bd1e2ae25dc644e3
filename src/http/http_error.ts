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

const REASONS: Record<number, string> = {
  400: "Bad Request",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  409: "Conflict",
  410: "Gone",
  412: "Precondition Failed",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Content",
  428: "Precondition Required",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? (status >= 500 ? "Server Error" : "Client Error");
}
