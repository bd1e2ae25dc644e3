/**
 * Locating JSON syntax errors: both ways V8 reports a position, and the
 * scanner that covers the messages that carry none.
 */
import assert from "node:assert/strict";
import { locationOf, scanJson, syntaxErrorLocation } from "../../../src/authz/_json_locate.ts";

const TEXT = `{\n  "a": 1,\n  "b": [true, null]\n}`;

Deno.test("syntaxErrorLocation reads V8's '(line L column C)'", () => {
  assert.deepEqual(syntaxErrorLocation(TEXT, "Expected ',' or '}' after property value in JSON (line 2 column 9)"), { line: 2, column: 9 });
});

Deno.test("syntaxErrorLocation converts V8's 'at position N' when it is the only position", () => {
  // Offset 14 is the opening quote of "b", on line 3.
  assert.deepEqual(syntaxErrorLocation(TEXT, "Unexpected string in JSON at position 14"), { line: 3, column: 3 });
});

Deno.test("syntaxErrorLocation prefers line and column when the message has both", () => {
  assert.deepEqual(syntaxErrorLocation(TEXT, "Unexpected token in JSON at position 0 (line 3 column 4)"), { line: 3, column: 4 });
});

Deno.test("syntaxErrorLocation scans the text when the message has no position", () => {
  const text = `{\n  "a": [1, 2,\n   ]\n}`;
  assert.deepEqual(syntaxErrorLocation(text, `Unexpected token ']', "{…" is not valid JSON`), { line: 3, column: 4 });
  assert.deepEqual(syntaxErrorLocation("{\n", "Unexpected end of JSON input"), { line: 2, column: 1 });
});

Deno.test("scanJson agrees with JSON.parse on what is valid", () => {
  const valid = ['{"a":[1,-2.5e3,"x\\u00e9\\n",true,false,null,{}]}', "  7 ", '"s"', "[]", '{"a":{"b":{"c":[[]]}}}'];
  const invalid = ["{", "[1,]", '{"a" 1}', "01", '"\\x"', "tru", "[1] 2", '"a\nb"', "", "{'a':1}", "-", "1.", '{"a":1,}'];
  for (const text of valid) assert.equal(scanJson(text).syntaxError, undefined, text);
  for (const text of invalid) {
    assert.throws(() => JSON.parse(text));
    assert.ok(scanJson(text).syntaxError, `scanner should reject ${JSON.stringify(text)}`);
  }
});

Deno.test("scanJson records where each value and key starts, by JSON pointer", () => {
  const text = `{"rules": [\n  {"a/b": 1, "c~d": "x"}\n]}`;
  const { spans } = scanJson(text);
  assert.deepEqual(locationOf(text, spans.get("/rules/0")!.valueOffset), { line: 2, column: 3 });
  assert.deepEqual(locationOf(text, spans.get("/rules/0/a~1b")!.keyOffset!), { line: 2, column: 4 });
  assert.deepEqual(locationOf(text, spans.get("/rules/0/c~0d")!.valueOffset), { line: 2, column: 21 });
});

Deno.test("scanJson reports duplicate keys, which JSON.parse silently collapses", () => {
  const { duplicateKeys } = scanJson(`{"a": 1, "b": {"a": 2}, "a": 3}`);
  assert.deepEqual(duplicateKeys, [{ pointer: "/a", keyOffset: 24 }]);
});

Deno.test("scanJson refuses absurd nesting instead of overflowing the stack", () => {
  const deep = "[".repeat(100_000) + "]".repeat(100_000);
  assert.match(scanJson(deep).syntaxError!.message, /nesting too deep/);
});
