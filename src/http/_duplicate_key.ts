/**
 * Finds a repeated member name in a JSON object, at any depth. RFC 8259 §4
 * leaves duplicate names undefined: `JSON.parse` keeps the last, other parsers
 * keep the first or refuse. A request body that means different things to
 * different parsers (a proxy, an audit pipeline, this service) is refused.
 *
 * Only called on text that `JSON.parse` has already accepted, so it needs no
 * error handling of its own: it walks the tokens that matter (brackets,
 * commas, strings) and skips everything else. Iterative with an explicit
 * stack, so the deepest nesting `JSON.parse` accepts cannot overflow it.
 */

/** The first repeated name, and where: an RFC 6901 pointer to the second occurrence. */
export interface DuplicateKey {
  readonly key: string;
  readonly pointer: string;
}

interface Frame {
  /** Names seen so far; null for an array. */
  readonly keys: Set<string> | null;
  /** Object: the current member's name. Array: the current element's index. */
  at: string | number;
  /** Object only: the next string is a member name (after "{" or ","). */
  expectKey: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** The first duplicate member name in `text` (valid JSON), or undefined when every object's names are unique. */
export function findDuplicateKey(text: string): DuplicateKey | undefined {
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      const top = stack[stack.length - 1];
      if (top?.keys && top.expectKey) {
        const key = decodeString(text, i, end);
        if (top.keys.has(key)) {
          top.at = key;
          return { key, pointer: pointerOf(stack) };
        }
        top.keys.add(key);
        top.at = key;
        top.expectKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      stack.push({ keys: new Set(), at: "", expectKey: true });
    } else if (c === 0x5b /* [ */) {
      stack.push({ keys: null, at: 0, expectKey: false });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack[stack.length - 1];
      if (top.keys) top.expectKey = true;
      else top.at = (top.at as number) + 1;
    }
  }
  return undefined;
}

/** Index of the closing quote of the string opening at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i;
    // An escape is two characters at least ("\u" is followed by hex digits, never a quote); skipping the one after the backslash suffices.
    i += c === BACKSLASH ? 2 : 1;
  }
}

/**
 * The name as `JSON.parse` sees it: `"re\u0070licas"` and `"replicas"` are the same name. Escaped names are decoded by
 * `JSON.parse` itself, so both sides agree by construction; names without a backslash are their own text.
 */
function decodeString(text: string, start: number, end: number): string {
  const raw = text.slice(start + 1, end);
  return raw.includes("\\") ? JSON.parse(text.slice(start, end + 1)) : raw;
}

function pointerOf(stack: readonly Frame[]): string {
  let pointer = "";
  for (const frame of stack) pointer += "/" + String(frame.at).replaceAll("~", "~0").replaceAll("/", "~1");
  return pointer;
}
