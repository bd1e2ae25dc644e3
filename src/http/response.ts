/** Response builders shared by handlers, so content types and encodings are set one way. */

const JSON_TYPE = "application/json";

export function jsonResponse(body: unknown, init: { status?: number; headers?: Record<string, string> } = {}): Response {
  const headers = new Headers(init.headers);
  headers.set("content-type", JSON_TYPE);
  return new Response(JSON.stringify(body), { status: init.status ?? 200, headers });
}
