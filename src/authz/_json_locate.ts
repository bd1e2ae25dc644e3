/**
 * Where things are in a JSON text, so a policy error can name a line and
 * column. `JSON.parse` builds the values (it is the reference parser); this
 * scanner only records positions: of every value and object key by JSON
 * pointer, of duplicate keys (which `JSON.parse` silently collapses), and of
 * the first syntax error when V8's message does not carry one.
 */

/** 1-based line and column (UTF-16 code units, as V8 counts them). */
export interface TextLocation {
  readonly line: number;
  readonly column: number;
}

/** Positions (string offsets) of one JSON value and, for object members, of its key. */
export interface ValueSpan {
  readonly valueOffset: number;
  readonly keyOffset?: number;
}

export interface JsonScan {
  /** By RFC 6901 JSON pointer ("" is the root, "/rules/0/subjects"). */
  readonly spans: ReadonlyMap<string, ValueSpan>;
  /** Object members whose key repeats an earlier key of the same object, in text order. */
  readonly duplicateKeys: readonly { readonly pointer: string; readonly keyOffset: number }[];
  /** The first syntax error, if the text is not valid JSON. */
  readonly syntaxError?: { readonly offset: number; readonly message: string };
}

/** Line and column of a string offset; offsets past the end point just after the last character. */
export function locationOf(text: string, offset: number): TextLocation {
  const at = Math.max(0, Math.min(offset, text.length));
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < at; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: at - lineStart + 1 };
}

/** RFC 6901: "~" and "/" in a key are escaped as "~0" and "~1". */
export function pointerChild(parent: string, key: string | number): string {
  return `${parent}/${String(key).replaceAll("~", "~0").replaceAll("/", "~1")}`;
}

/**
 * Where V8's JSON.parse error points. Deno 2.9 (V8 15) writes
 * "… at position N (line L column C)" for most errors, only "at position N" in
 * older versions, and neither for "Unexpected token 'x', "…" is not valid
 * JSON" or "Unexpected end of JSON input": those are located by scanning.
 */
export function syntaxErrorLocation(text: string, message: string): TextLocation {
  const lineColumn = /\(line (\d+) column (\d+)\)/.exec(message);
  if (lineColumn) return { line: Number(lineColumn[1]), column: Number(lineColumn[2]) };
  const position = /at position (\d+)/.exec(message);
  if (position) return locationOf(text, Number(position[1]));
  const scanned = scanJson(text).syntaxError;
  return locationOf(text, scanned ? scanned.offset : text.length);
}

/** Deeper nesting is refused rather than risking the call stack (a policy is a few levels deep). */
const MAX_DEPTH = 128;

class ScanError extends Error {
  constructor(readonly offset: number, message: string) {
    super(message);
  }
}

/** Scans `text` as JSON (RFC 8259), recording positions; never throws. */
export function scanJson(text: string): JsonScan {
  const spans = new Map<string, ValueSpan>();
  const duplicateKeys: { pointer: string; keyOffset: number }[] = [];
  let i = 0;

  const skipWhitespace = () => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const fail = (message: string, at = i): never => {
    throw new ScanError(at, message);
  };
  const expectLiteral = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail(`unexpected character ${JSON.stringify(text[i])}`);
  };

  const scanString = (): string => {
    const start = i;
    i++; // opening quote
    let value = "";
    let runStart = i;
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        value += text.slice(runStart, i);
        i++;
        return value;
      }
      if (c < 0x20) fail("control character in string");
      if (c === 0x5c) {
        value += text.slice(runStart, i);
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) fail("bad \\u escape");
          value += String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else {
          const simple: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t" };
          if (e === undefined || !(e in simple)) fail("bad escape in string");
          value += simple[e];
          i += 2;
        }
        runStart = i;
        continue;
      }
      i++;
    }
    return fail("unterminated string", start);
  };

  const scanNumber = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!match) fail("bad number");
    i += match![0].length;
  };

  const scanValue = (pointer: string, depth: number, keyOffset?: number) => {
    skipWhitespace();
    if (i >= text.length) fail("unexpected end of input");
    spans.set(pointer, keyOffset === undefined ? { valueOffset: i } : { valueOffset: i, keyOffset });
    const c = text[i];
    if (c === "{" || c === "[") {
      if (depth >= MAX_DEPTH) fail("nesting too deep");
      if (c === "{") scanObject(pointer, depth + 1);
      else scanArray(pointer, depth + 1);
    } else if (c === '"') scanString();
    else if (c === "t") expectLiteral("true");
    else if (c === "f") expectLiteral("false");
    else if (c === "n") expectLiteral("null");
    else if (c === "-" || (c >= "0" && c <= "9")) scanNumber();
    else fail(`unexpected character ${JSON.stringify(c)}`);
  };

  const scanObject = (pointer: string, depth: number) => {
    i++; // {
    const seen = new Set<string>();
    skipWhitespace();
    if (text[i] === "}") return void i++;
    for (;;) {
      skipWhitespace();
      if (text[i] !== '"') fail("expected a double-quoted property name");
      const keyOffset = i;
      const key = scanString();
      const child = pointerChild(pointer, key);
      if (seen.has(key)) duplicateKeys.push({ pointer: child, keyOffset });
      seen.add(key);
      skipWhitespace();
      if (text[i] !== ":") fail("expected ':' after property name");
      i++;
      scanValue(child, depth, keyOffset);
      skipWhitespace();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "}") return void i++;
      fail("expected ',' or '}' after property value");
    }
  };

  const scanArray = (pointer: string, depth: number) => {
    i++; // [
    skipWhitespace();
    if (text[i] === "]") return void i++;
    for (let index = 0;; index++) {
      scanValue(pointerChild(pointer, index), depth);
      skipWhitespace();
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "]") return void i++;
      fail("expected ',' or ']' after array element");
    }
  };

  try {
    scanValue("", 0);
    skipWhitespace();
    if (i < text.length) fail("unexpected text after the JSON document");
    return { spans, duplicateKeys };
  } catch (error) {
    if (!(error instanceof ScanError)) throw error;
    return { spans, duplicateKeys, syntaxError: { offset: error.offset, message: error.message } };
  }
}
