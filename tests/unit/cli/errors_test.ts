/** Exit codes and the one line printed per failure. */
import assert from "node:assert/strict";
import { ApiError, CliFailure, ConnectionError, errorMessage, exitCodeFor, UsageError } from "../../../src/cli/errors.ts";

Deno.test("exitCodeFor: 2 for usage, 3 for 412 and 409, 1 for everything else", () => {
  assert.equal(exitCodeFor(new UsageError("x")), 2);
  assert.equal(exitCodeFor(new ApiError(412, { title: "Precondition Failed", detail: "x" })), 3);
  assert.equal(exitCodeFor(new ApiError(409, { title: "Conflict", detail: "x" })), 3);
  for (const status of [400, 403, 404, 422, 429, 500, 502, 503, 504]) {
    assert.equal(exitCodeFor(new ApiError(status, { detail: "x" })), 1, String(status));
  }
  assert.equal(exitCodeFor(new ConnectionError("refused", true)), 1);
  assert.equal(exitCodeFor(new CliFailure("timed out")), 1);
  assert.equal(exitCodeFor(new TypeError("bug")), 1);
  assert.equal(exitCodeFor("thrown string"), 1);
});

Deno.test("errorMessage renders a problem as its detail with status and title", () => {
  const problem = { type: "about:blank", title: "Precondition Failed", status: 412, detail: 'If-Match "1" does not match the current "2"' };
  assert.equal(errorMessage(new ApiError(412, problem)), 'If-Match "1" does not match the current "2" (412 Precondition Failed)');
});

Deno.test("errorMessage adds Retry-After, and copes with a problem without detail or title", () => {
  assert.equal(
    errorMessage(new ApiError(429, { title: "Too Many Requests", detail: "slow down" }, 3)),
    "slow down (429 Too Many Requests); retry after 3 s",
  );
  assert.equal(errorMessage(new ApiError(500, { title: "Internal Server Error" })), "Internal Server Error (500 Internal Server Error)");
  assert.equal(errorMessage(new ApiError(500, {})), "no detail given (500)");
});

Deno.test("errorMessage keeps a hostile detail on one line without terminal escapes", () => {
  const message = errorMessage(new ApiError(400, { title: "Bad\nRequest", detail: "line one\n\u001b[31mred\u0007" }));
  assert.equal(message, "line one [31mred (400 Bad Request)");
});

Deno.test("errorMessage shows an unexpected error's name and message, never its stack", () => {
  const error = new RangeError("boom");
  const message = errorMessage(error);
  assert.equal(message, "unexpected failure: RangeError: boom");
  assert.ok(!message.includes("at "), "no stack frames");
});
