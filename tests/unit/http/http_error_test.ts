import assert from "node:assert/strict";
import { HttpError, reasonPhrase, STATUS_TEXT } from "../../../src/http/http_error.ts";

Deno.test("every status code of the IANA registry has its RFC 9110 reason phrase", () => {
  // The registry's assigned codes, 306 and 418 ("(Unused)") excepted.
  const registered = [
    ...[100, 101, 102, 103],
    ...[200, 201, 202, 203, 204, 205, 206, 207, 208, 226],
    ...[300, 301, 302, 303, 304, 305, 307, 308],
    ...[400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417],
    ...[421, 422, 423, 424, 425, 426, 428, 429, 431, 451],
    ...[500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511],
  ];
  assert.deepEqual(Object.keys(STATUS_TEXT).map(Number), registered);
  assert.equal(STATUS_TEXT[413], "Content Too Large");
  assert.equal(STATUS_TEXT[422], "Unprocessable Content");
  assert.ok(Object.isFrozen(STATUS_TEXT));
});

Deno.test("a status the registry does not list is titled by its class", () => {
  assert.equal(reasonPhrase(499), "Client Error");
  assert.equal(reasonPhrase(599), "Server Error");
  assert.equal(reasonPhrase(299), "Successful");
  assert.equal(reasonPhrase(999), "Unknown Status");
});

Deno.test("an HttpError is titled by its status unless given a title", () => {
  assert.equal(new HttpError(401, "who are you").title, "Unauthorized");
  assert.equal(new HttpError(501, "no").title, "Not Implemented");
  assert.equal(new HttpError(409, "x", { title: "Busy" }).title, "Busy");
});
