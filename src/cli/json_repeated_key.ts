/**
 * Finds a member name repeated within one JSON object. `JSON.parse` keeps the
 * last of them without a word, so a hand-edited config file with two "url"s in
 * one context would silently use the second; the CLI refuses the file instead,
 * as the service refuses such request bodies. (Its own small copy of the idea:
 * the CLI imports nothing from the service.)
 */

/** A repeated name and where its second occurrence starts (1-based line and column). */
export interface RepeatedKey {
  readonly key: string;
  readonly line: number;
  readonly column: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The first repeated member name in `text`, which `JSON.parse` has already accepted (so no error handling here:
 * only brackets, commas and strings matter, and everything else is skipped). Iterative, so no nesting overflows it.
 */
export function findRepeatedKey(text: string): RepeatedKey | undefined {
  // One frame per open object (its names so far, and whether the next string is a name) or array (null).
  const stack: ({ names: Set<string>; expectName: boolean } | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let end = i + 1;
      while (text.charCodeAt(end) !== QUOTE) end += text.charCodeAt(end) === BACKSLASH ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.expectName) {
        // JSON.parse decodes the name, so "re\u0070licas" and "replicas" count as the same, as they are.
        const key: string = JSON.parse(text.slice(i, end + 1));
        if (top.names.has(key)) return { key, ...position(text, i) };
        top.names.add(key);
        top.expectName = false;
      }
      i = end;
    } else if (c === 0x7b /* { */) stack.push({ names: new Set(), expectName: true });
    else if (c === 0x5b /* [ */) stack.push(null);
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop();
    else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top) top.expectName = true;
    }
  }
  return undefined;
}

function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf("\n") + 1;
  return { line: before.split("\n").length, column: offset - lineStart + 1 };
}
