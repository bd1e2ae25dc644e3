/**
 * Image patterns of a policy rule (`"images": ["registry.internal/*"]`): which image references a client holding
 * the `image` permission may set. `*` matches any run of characters, `/` and `:` included; every other character
 * matches itself. A pattern is compared with the reference exactly as the client wrote it, with no normalisation
 * (no `docker.io/library/` prefix added, no `:latest`): `nginx:1.2` does not match `docker.io/library/*`. That
 * fails closed: a reference written another way is refused, never let through by a rewrite the policy author did
 * not see.
 */

/** Longer than any valid reference (a 255-character name, a 128-character tag and a SHA-512 digest). */
export const MAX_IMAGE_PATTERN_LENGTH = 512;

/**
 * The characters of image references (distribution/reference: names, registry host and port, tags, digests with
 * their algorithm) plus `*`. Anything else (`?`, `[`, `{`, a space) could never match a valid reference, so a
 * pattern holding it is a mistake, most likely a wildcard of another syntax, and is refused rather than kept
 * as a pattern that silently allows nothing.
 */
const PATTERN_CHARACTERS = /^[A-Za-z0-9._\-/:@+*]+$/;

/** Why `pattern` is not a usable image pattern, in words; undefined when it is one. */
export function imagePatternProblem(pattern: string): string | undefined {
  if (pattern === "") return "is empty";
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(pattern)) return "contains a control character";
  if (/\s/.test(pattern)) return "contains whitespace";
  if (pattern.length > MAX_IMAGE_PATTERN_LENGTH) return `is longer than ${MAX_IMAGE_PATTERN_LENGTH} characters`;
  if (!PATTERN_CHARACTERS.test(pattern)) {
    const bad = [...pattern].find((c) => !PATTERN_CHARACTERS.test(c));
    return `contains ${JSON.stringify(bad)}: only "*" is a wildcard, and image references consist of letters, digits and . _ - / : @ +`;
  }
  return undefined;
}

/**
 * Whether `image` matches `pattern`. Linear in the lengths (no regular expression, so no backtracking): the
 * literal pieces between the `*`s must appear in order, the first at the start and the last at the end; taking
 * each middle piece at its earliest position never loses a match.
 */
export function matchesImagePattern(pattern: string, image: string): boolean {
  const pieces = pattern.split("*");
  if (pieces.length === 1) return pattern === image;
  const first = pieces[0];
  const last = pieces[pieces.length - 1];
  if (image.length < first.length + last.length || !image.startsWith(first) || !image.endsWith(last)) return false;
  let from = first.length;
  const end = image.length - last.length;
  for (const piece of pieces.slice(1, -1)) {
    if (piece === "") continue;
    const found = image.indexOf(piece, from);
    if (found === -1 || found + piece.length > end) return false;
    from = found + piece.length;
  }
  return true;
}
