/**
 * The CLI's failures and how each one ends the process: the exit code and the
 * one line printed for it. Decided here only, so every command fails the same
 * way and no stack trace ever reaches the user.
 */

/** Problem details as the API sends them (RFC 9457); every field is optional on the wire. */
export interface Problem {
  readonly type?: string;
  readonly title?: string;
  readonly status?: number;
  readonly detail?: string;
  readonly instance?: string;
}

/** The command line itself is wrong (exit 2). */
export class UsageError extends Error {
  override name = "UsageError";
}

/** The API answered with an error status; `problem` is its problem+json body (or what could be made of it). */
export class ApiError extends Error {
  override name = "ApiError";
  constructor(
    readonly status: number,
    readonly problem: Problem,
    readonly retryAfterSeconds?: number,
  ) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
  }
}

/** The API could not be reached or the TLS handshake failed; `message` is already a clear sentence. */
export class ConnectionError extends Error {
  override name = "ConnectionError";
  constructor(
    message: string,
    /** Worth trying again (refused, reset, timed out), unlike a certificate problem. */
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Any other failure with a message meant for the user (unreadable certificate, timed-out rollout, bad answer). */
export class CliFailure extends Error {
  override name = "CliFailure";
}

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_CONFLICT = 3;

/** 0 ok, 1 error, 2 usage, 3 a precondition (412) or conflict (409) the caller may want to react to. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UsageError) return EXIT_USAGE;
  if (error instanceof ApiError && (error.status === 412 || error.status === 409)) return EXIT_CONFLICT;
  return EXIT_ERROR;
}

/** The single line printed for a failure (without the "error: " prefix the caller adds). */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) return apiErrorMessage(error);
  if (error instanceof UsageError || error instanceof ConnectionError || error instanceof CliFailure) return error.message;
  // Unexpected: say what it was, never how we got there.
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return `unexpected failure: ${oneLine(message)}`;
}

/** "<detail> (409 Conflict)", plus when to retry, from the API's problem+json. */
function apiErrorMessage(error: ApiError): string {
  const { problem, status } = error;
  const title = problem.title ?? "";
  const detail = problem.detail ?? (title || "no detail given");
  let message = `${oneLine(detail)} (${status}${title ? ` ${oneLine(title)}` : ""})`;
  if (error.retryAfterSeconds !== undefined) message += `; retry after ${error.retryAfterSeconds} s`;
  return message;
}

/** Server-supplied text printed on one terminal line: no control characters that could rewrite the screen. */
export function oneLine(text: string): string {
  // deno-lint-ignore no-control-regex -- stripping control characters is the point
  return text.replaceAll(/[\x00-\x1f\x7f-\x9f]+/g, " ").trim();
}
