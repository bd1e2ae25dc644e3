/** Image patterns: `*` spans any run of characters, everything else is literal, and references are not normalised. */
import assert from "node:assert/strict";
import { imagePatternProblem, matchesImagePattern } from "../../../src/authz/image_pattern.ts";

Deno.test("an image pattern without * matches only the same reference", () => {
  assert.equal(matchesImagePattern("registry.internal/app:1.3", "registry.internal/app:1.3"), true);
  assert.equal(matchesImagePattern("registry.internal/app:1.3", "registry.internal/app:1.30"), false);
  assert.equal(matchesImagePattern("registry.internal/app:1.3", "registry.internal/App:1.3"), false, "case matters");
});

Deno.test("* matches any run of characters, slashes, colons and the empty run included", () => {
  assert.equal(matchesImagePattern("registry.internal/*", "registry.internal/team/app:1.3"), true, "across /");
  assert.equal(matchesImagePattern("registry.internal/*", "registry.internal/"), true, "the empty run");
  assert.equal(matchesImagePattern("*", "anything/at:all"), true);
  assert.equal(matchesImagePattern("registry.internal/app:*", "registry.internal/app:1.3"), true);
  assert.equal(matchesImagePattern("registry.internal/app:*", "registry.internal/app@sha256:" + "a".repeat(64)), false);
  assert.equal(matchesImagePattern("*/app:*", "registry.internal/team/app:1.3"), true);
  assert.equal(matchesImagePattern("*/app:*", "registry.internal/team/web:1.3"), false);
  assert.equal(matchesImagePattern("registry.internal/*/app@sha256:*", "registry.internal/team/app@sha256:abc"), true);
});

Deno.test("the pieces between * must appear in order and must not overlap", () => {
  assert.equal(matchesImagePattern("a*a", "a"), false, "the first and the last piece cannot share the one a");
  assert.equal(matchesImagePattern("a*a", "aa"), true);
  assert.equal(matchesImagePattern("a*b*c", "acb"), false, "order");
  assert.equal(matchesImagePattern("a*b*c", "abbc"), true);
  assert.equal(matchesImagePattern("ab*bc", "abc"), false, "the b cannot be both");
  assert.equal(matchesImagePattern("*x*x*", "xx"), true);
  assert.equal(matchesImagePattern("*x*x*", "x"), false);
  assert.equal(matchesImagePattern("a**b", "ab"), true, "** is *");
});

Deno.test("references are compared as written: a short name does not match its docker.io spelling (fails closed)", () => {
  assert.equal(matchesImagePattern("docker.io/library/*", "nginx:1.2"), false);
  assert.equal(matchesImagePattern("docker.io/library/*", "docker.io/library/nginx:1.2"), true);
  assert.equal(matchesImagePattern("nginx:*", "docker.io/library/nginx:1.2"), false);
});

Deno.test("no character but * is a wildcard", () => {
  assert.equal(matchesImagePattern("app.1", "appX1"), false, ". is literal");
  assert.equal(matchesImagePattern("app+", "app"), false, "+ is literal");
});

Deno.test("an image pattern is refused when it could never be meant: empty, spaces, controls, other wildcards, too long", () => {
  assert.equal(imagePatternProblem("registry.internal/*"), undefined);
  assert.equal(imagePatternProblem("registry.internal:5000/team/app@sha256:*"), undefined);
  assert.equal(imagePatternProblem("*"), undefined);
  assert.match(imagePatternProblem("") ?? "", /empty/);
  assert.match(imagePatternProblem("registry.internal/ *") ?? "", /whitespace/);
  assert.match(imagePatternProblem("app\t") ?? "", /control character/);
  assert.match(imagePatternProblem("app\u00a0") ?? "", /whitespace/);
  assert.match(imagePatternProblem("registry.internal/app:1.?") ?? "", /"\?": only "\*" is a wildcard/);
  assert.match(imagePatternProblem("registry.internal/[ab]pp") ?? "", /"\["/);
  assert.equal(imagePatternProblem("r/" + "a".repeat(510)), undefined, "512 characters");
  assert.match(imagePatternProblem("r/" + "a".repeat(511)) ?? "", /longer than 512/);
});

Deno.test("the matcher agrees with the obvious regular expression on many small patterns and references", () => {
  // A fixed-seed generator: every run checks the same cases, and a failure names one to replay.
  let seed = 19;
  const next = (n: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
  const pick = (alphabet: string, max: number) => Array.from({ length: next(max + 1) }, () => alphabet[next(alphabet.length)]).join("");
  for (let i = 0; i < 5000; i++) {
    const pattern = pick("ab/*", 6);
    const image = pick("ab/", 7);
    const oracle = new RegExp("^" + pattern.split("*").map((p) => p.replaceAll("/", "\\/")).join(".*") + "$", "s").test(image);
    assert.equal(matchesImagePattern(pattern, image), oracle, `${JSON.stringify(pattern)} against ${JSON.stringify(image)}`);
  }
});
