import assert from "node:assert/strict";
import { BodilessRequest, isCanonicalTarget } from "../../../src/tls/_node_request.ts";

const BASE = "https://localhost";

Deno.test("isCanonicalTarget accepts exactly targets the URL parser leaves unchanged (table)", () => {
  const canonical = [
    "/",
    "/api/v1/namespaces/prod/deployments/web.v2/replicas",
    "/api/v1/deployments?namespace=prod",
    "/a/b/?x=1&y=2",
    "/.well-known/x",
    "/a/..b/c.",
    "/a:b@c!$&()*+,;=~",
  ];
  const rewritten = [
    "/a/../b",
    "/a/./b",
    "/a/..",
    "/a/.",
    "/a/%2e%2e/b",
    "/a b",
    "/a\\b",
    "/é",
    "/a#frag",
    "/a?q='x'",
    '/a?q="x"',
    "/a/<b>",
  ];
  for (const target of canonical) {
    assert.equal(isCanonicalTarget(target), true, target);
    assert.equal(new Request(BASE + target).url, BASE + target, target);
  }
  for (const target of rewritten) assert.equal(isCanonicalTarget(target), false, target);
});

Deno.test("isCanonicalTarget never accepts a target the URL parser would rewrite (random targets)", () => {
  const alphabet = "abz09-._~!$&'()*+,;=:@/?%#\\ \"<>^`{|}é.";
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  let accepted = 0;
  for (let n = 0; n < 20_000; n++) {
    let target = "/";
    const length = Math.floor(random() * 12);
    for (let i = 0; i < length; i++) target += alphabet[Math.floor(random() * alphabet.length)];
    if (!isCanonicalTarget(target)) continue;
    accepted++;
    assert.equal(new Request(BASE + target).url, BASE + target, `accepted ${JSON.stringify(target)} but the URL parser rewrites it`);
  }
  assert.ok(accepted > 1000, `only ${accepted} random targets were canonical: the test would prove little`);
});

Deno.test("BodilessRequest headers read like Fetch Headers: case-insensitive, repeated fields joined", () => {
  const raw = ["Host", "h", "X-Request-Id", "abc", "If-None-Match", '"1"', "if-none-match", 'W/"2"', "Accept", "*/*"];
  const request = new BodilessRequest("GET", BASE + "/x", raw);
  const real = new Headers();
  for (let i = 0; i < raw.length; i += 2) real.append(raw[i], raw[i + 1]);
  for (const name of ["host", "x-request-id", "X-REQUEST-ID", "if-none-match", "accept", "missing"]) {
    assert.equal(request.headers.get(name), real.get(name), name);
    assert.equal(request.headers.has(name), real.has(name), name);
  }
  assert.deepEqual([...request.headers], [...real]);
});

Deno.test("BodilessRequest header writes and iteration behave like Headers from then on", () => {
  const request = new BodilessRequest("GET", BASE + "/x", ["a", "1"]);
  request.headers.set("b", "2");
  request.headers.delete("a");
  assert.equal(request.headers.get("a"), null);
  assert.equal(request.headers.get("b"), "2");
  const seen: string[] = [];
  request.headers.forEach((value, name, parent) => {
    seen.push(`${name}=${value}`);
    assert.equal(parent, request.headers);
  });
  assert.deepEqual(seen, ["b=2"]);
});

Deno.test("BodilessRequest delegates everything else to a real Request with the same method, URL and headers", async () => {
  const request = new BodilessRequest("HEAD", BASE + "/x?y=1", ["x-a", "1"]);
  assert.equal(request.body, null);
  assert.equal(request.bodyUsed, false);
  assert.equal(await request.text(), "");
  assert.equal(request.signal.aborted, false);
  assert.equal(request.redirect, "follow");
  const copy = request.clone();
  assert.ok(copy instanceof Request);
  assert.equal(copy.method, "HEAD");
  assert.equal(copy.url, BASE + "/x?y=1");
  assert.equal(copy.headers.get("x-a"), "1");
});
