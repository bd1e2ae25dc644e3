/**
 * Conditional requests (RFC 9110 section 13): parsing the entity-tag lists of If-Match and If-None-Match, and the
 * weak comparison a conditional GET makes. Stricter than std's `ifNoneMatch`, which splits on commas: a quoted tag
 * may contain one.
 */

/**
 * If-None-Match uses the weak comparison (RFC 9110 13.1.2): W/"x" matches "x", and "*" matches any current
 * representation. A malformed header is ignored, as the RFC allows for conditional GETs.
 */
export function noneMatch(request: Request, resourceVersion: string): boolean {
  const tags = parseEntityTags(request.headers.get("if-none-match"));
  if (tags === "*") return true;
  if (!tags) return false;
  return tags.some((tag) => (tag.startsWith("W/") ? tag.slice(2) : tag) === resourceVersion);
}

/**
 * Parses If-Match / If-None-Match: "*" or a comma-separated list of entity
 * tags. Quoted tags are standard; bare tokens are accepted for convenience on
 * the command line. Weak tags (W/"…") never match a strong comparison, so they
 * are kept with their prefix. Returns null when the header is malformed,
 * undefined when absent.
 */
export function parseEntityTags(header: string | null): readonly string[] | "*" | null | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (value === "*") return "*";
  const tags: string[] = [];
  // Scanned item by item, not split on ",": a quoted tag may itself contain a comma (RFC 9110 etagc).
  const item = /[ \t]*(?:(W\/)?"([\x21\x23-\x7e]*)"|([A-Za-z0-9._-]+))[ \t]*(,|$)/y;
  for (let at = 0; at < value.length;) {
    item.lastIndex = at;
    const match = item.exec(value);
    if (!match) return null;
    tags.push(match[3] ?? (match[1] ? `W/${match[2]}` : match[2]));
    at = item.lastIndex;
    if (match[4] === "," && at === value.length) return null; // a trailing comma
  }
  return tags.length ? tags : null;
}
