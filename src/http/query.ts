/**
 * Query string validation: every rejection is an HttpError 400 whose detail names the parameter and says what is
 * accepted, so a typo like ?namepsace= or ?dryRun=1 is never silently ignored.
 */
import { HttpError } from "./http_error.ts";

/**
 * Rejects query parameters a route does not know, so a typo like ?namepsace= is not silently ignored, and any
 * parameter given more than once, as bodies refuse a repeated key: which of two values counts would otherwise be
 * an accident of each reader (the authorization guard and a handler could even read different ones).
 * Takes the URL (string or parsed) and returns its parameters; a URL without "?" is not parsed at all,
 * which keeps the common read path cheap.
 */
export function validateQuery(url: string | URL, allowed: readonly string[]): URLSearchParams {
  if (typeof url === "string" && !url.includes("?")) return new URLSearchParams();
  const params = (typeof url === "string" ? new URL(url) : url).searchParams;
  const seen = new Set<string>();
  for (const key of params.keys()) {
    if (!allowed.includes(key)) {
      const known = allowed.length ? `; supported: ${allowed.join(", ")}` : "; this endpoint takes none";
      throw new HttpError(400, `unknown query parameter "${truncate(key)}"${known}`);
    }
    if (seen.has(key)) throw repeated(key, params.getAll(key).length);
    seen.add(key);
  }
  return params;
}

function repeated(name: string, times: number): HttpError {
  return new HttpError(400, `query parameter "${truncate(name)}" is given ${times} times; give it once`);
}

/**
 * A switch in the query string: absent means false; otherwise exactly "true" or "false", given once. Anything
 * else is 400, so `?force=yes` or `?dryRun=1` never silently means "no".
 */
export function validateBooleanQuery(params: URLSearchParams, name: string): boolean {
  const values = params.getAll(name);
  if (values.length === 0) return false;
  if (values.length > 1) throw repeated(name, values.length);
  if (values[0] === "true") return true;
  if (values[0] === "false") return false;
  throw new HttpError(400, `query parameter "${name}" must be "true" or "false", got "${truncate(values[0])}"`);
}

/**
 * A parameter that changes nothing in the combination given (e.g. a timeout without the wait it bounds): 400 naming
 * it, so a client that believes it has an effect learns otherwise instead of being silently ignored.
 */
export function ineffectiveParameter(name: string, why: string): HttpError {
  return new HttpError(400, `query parameter "${truncate(name)}" has no effect ${why}; drop it`);
}

/** A value quoted in an error detail, cut short so a hostile input cannot fill the log or the answer. */
export function truncate(value: string, max = 80): string {
  return value.length > max ? value.slice(0, max) + "…" : value;
}
