/**
 * An error answer of the API as one ApiError: the problem+json body when
 * there is one, a readable description of whatever else came back (a
 * proxy's HTML page), read only up to a bound.
 */
import { ApiError } from "./errors.ts";

/** Error bodies are read up to this size: a proxy's endless error page must not fill memory. */
const MAX_ERROR_BODY = 64 * 1024;

/** An error response as ApiError; a body that is not problem+json still yields a readable message. */
export async function apiError(response: Response): Promise<ApiError> {
  const text = await readLimited(response, MAX_ERROR_BODY);
  const retryAfter = response.headers.get("retry-after");
  const retryAfterSeconds = retryAfter !== null && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
  let parsed: Record<string, unknown> = {};
  try {
    const value = JSON.parse(text);
    if (value !== null && typeof value === "object" && !Array.isArray(value)) parsed = value;
  } catch { /* not JSON: described below */ }
  // Only string fields are trusted: the message is built from them.
  const title = typeof parsed.title === "string" ? parsed.title : undefined;
  const detail = typeof parsed.detail === "string" ? parsed.detail : undefined;
  if (title === undefined && detail === undefined) {
    const type = response.headers.get("content-type") ?? "no content type";
    return new ApiError(response.status, {
      title: response.statusText || undefined,
      status: response.status,
      detail: `the server answered ${response.status} with ${type}, not a problem+json document (is --url pointing at replica-api?)`,
    }, retryAfterSeconds);
  }
  return new ApiError(response.status, { title, detail, status: response.status }, retryAfterSeconds);
}

/** The body as text, at most `limit` bytes of it; the rest is cancelled. A failing body reads as "". */
async function readLimited(response: Response, limit: number): Promise<string> {
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    return "";
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes.subarray(0, limit));
}
