/**
 * Reads a JSON request body strictly: JSON content type only, a hard size cap
 * enforced while streaming (a lying or absent Content-Length cannot get past
 * it), valid UTF-8, and one JSON value with nothing after it.
 */
import { HttpError } from "./http_error.ts";
import { findDuplicateKey } from "./_duplicate_key.ts";

export const MAX_BODY_BYTES = 64 * 1024;

function isJsonContentType(value: string | null): boolean {
  if (!value) return false;
  const type = value.split(";")[0].trim().toLowerCase();
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

export async function readJsonBody(request: Request, maxBytes = MAX_BODY_BYTES): Promise<unknown> {
  if (!isJsonContentType(request.headers.get("content-type"))) {
    await request.body?.cancel().catch(() => {});
    throw new HttpError(415, `the body must be sent with Content-Type: application/json`, {
      headers: { "accept-put": "application/json" },
    });
  }
  await refuseDeclaredOversize(request, maxBytes);
  return parseJsonBytes(await readCapped(request, maxBytes), `the body is empty; send {"replicas": N}`);
}

/** A Content-Length over the cap is refused before a byte is read (the stream is capped too, for lying ones). */
async function refuseDeclaredOversize(request: Request, maxBytes: number): Promise<void> {
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    await request.body?.cancel().catch(() => {});
    throw new HttpError(413, `the body is ${declared} bytes; the limit is ${maxBytes} bytes`);
  }
}

/** One JSON value in UTF-8, with no repeated key and nothing after it. */
function parseJsonBytes(bytes: Uint8Array, emptyDetail: string): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new HttpError(400, "the body is not valid UTF-8");
  }
  if (text.trim() === "") throw new HttpError(400, emptyDetail);
  let value: unknown;
  try {
    // JSON.parse rejects trailing data ("{} {}", "{}x") as well as malformed JSON.
    value = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, `the body is not valid JSON: ${(error as Error).message}`);
  }
  const duplicate = findDuplicateKey(text);
  if (duplicate) {
    throw new HttpError(
      400,
      `the body repeats the key ${quoteKey(duplicate.key)} (at ${quoteKey(duplicate.pointer)}); each key may appear once per object`,
    );
  }
  return value;
}

/**
 * A body the request may leave out (POST …/restart): none at all, or an empty one, is `undefined`; anything else
 * is read exactly as {@link readJsonBody} reads it, so a body with the wrong type or bad JSON is still refused,
 * never ignored. `example` shows in the detail what a body may be.
 */
export async function readOptionalJsonBody(request: Request, example: string, maxBytes = MAX_BODY_BYTES): Promise<unknown> {
  if (request.body === null || request.headers.get("content-length") === "0") return undefined;
  const type = request.headers.get("content-type");
  if (type !== null && !isJsonContentType(type)) return await readJsonBody(request, maxBytes); // the 415
  await refuseDeclaredOversize(request, maxBytes);
  const bytes = await readCapped(request, maxBytes);
  if (bytes.byteLength === 0) return undefined;
  if (type === null) {
    throw new HttpError(415, `a body must be sent with Content-Type: application/json, e.g. ${example}; or send none`, {
      headers: { "accept-post": "application/json" },
    });
  }
  return parseJsonBytes(bytes, `the body is blank; send ${example}, or no body at all`);
}

/** A client-chosen key in a detail: JSON-quoted, and cut short so the problem document stays small. */
function quoteKey(key: string): string {
  return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key);
}

async function readCapped(request: Request, maxBytes: number): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw new HttpError(413, `the body exceeds the limit of ${maxBytes} bytes`);
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
