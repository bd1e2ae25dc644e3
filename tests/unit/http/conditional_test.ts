import assert from "node:assert/strict";
import { noneMatch, parseEntityTags } from "../../../src/http/conditional.ts";

Deno.test("parseEntityTags reads *, quoted, weak and bare tags, and a comma inside quotes", () => {
  assert.equal(parseEntityTags(null), undefined);
  assert.equal(parseEntityTags(" * "), "*");
  assert.deepEqual(parseEntityTags(`"1", W/"2" ,3`), ["1", "W/2", "3"]);
  assert.deepEqual(parseEntityTags(`"a,b"`), ["a,b"]);
});

Deno.test("parseEntityTags refuses an empty list, a trailing comma and unquoted garbage", () => {
  for (const header of ["", " ", `"1",`, `"1" "2"`, `W/3`, `"unterminated`, `a b`]) {
    assert.equal(parseEntityTags(header), null, header);
  }
});

Deno.test("noneMatch compares weakly, matches * always and ignores a malformed header", () => {
  const request = (value: string) => new Request("https://localhost/", { headers: { "if-none-match": value } });
  assert.equal(noneMatch(request(`W/"7"`), "7"), true);
  assert.equal(noneMatch(request(`"6", "7"`), "7"), true);
  assert.equal(noneMatch(request("*"), "7"), true);
  assert.equal(noneMatch(request(`"6"`), "7"), false);
  assert.equal(noneMatch(request(`"7",`), "7"), false);
  assert.equal(noneMatch(new Request("https://localhost/"), "7"), false);
});
