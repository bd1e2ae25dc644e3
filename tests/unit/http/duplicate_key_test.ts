import assert from "node:assert/strict";
import { findDuplicateKey } from "../../../src/http/_duplicate_key.ts";

/** Every case is valid JSON first: the scanner is only ever given text JSON.parse accepted. */
function find(text: string) {
  JSON.parse(text);
  return findDuplicateKey(text);
}

Deno.test("findDuplicateKey finds a repeated key and points at its second occurrence", async (t) => {
  const cases: [string, string, string, string][] = [
    ["top level", '{"replicas":1,"replicas":2}', "replicas", "/replicas"],
    ["not adjacent", '{"replicas":1,"a":true,"replicas":2}', "replicas", "/replicas"],
    ["nested object", '{"spec":{"replicas":1,"replicas":2}}', "replicas", "/spec/replicas"],
    ["object in an array", '{"items":[{"a":1},{"b":1,"b":2}]}', "b", "/items/1/b"],
    ["deep in arrays", '[[1,[2,3]],[{"x":{"y":[0,{"z":1,"z":1}]}}]]', "z", "/1/0/x/y/1/z"],
    ["escaped spelling of an earlier key", '{"replicas":1,"re\\u0070licas":2}', "replicas", "/replicas"],
    ["two escaped spellings", '{"\\u0072eplicas":1,"r\\u0065plicas":2}', "replicas", "/replicas"],
    ["escaped quote in the key", '{"a\\"b":1,"a\\u0022b":2}', 'a"b', '/a"b'],
    ["escaped backslash in the key", '{"a\\\\":1,"a\\u005c":2}', "a\\", "/a\\"],
    ["solidus escape", '{"a/b":1,"a\\/b":2}', "a/b", "/a~1b"],
    ["empty key", '{"":1,"":2}', "", "/"],
    ["__proto__", '{"__proto__":1,"__proto__":2}', "__proto__", "/__proto__"],
    ["whitespace around tokens", ' { "a" : 1 ,\n\t"a" : [ ] } ', "a", "/a"],
    ["tilde in the pointer", '{"a~":{"k":1,"k":2}}', "k", "/a~0/k"],
    ["the same value twice", '{"a":{"x":1},"a":{"x":1}}', "a", "/a"],
  ];
  for (const [name, text, key, pointer] of cases) {
    await t.step(name, () => {
      assert.deepEqual(find(text), { key, pointer });
    });
  }
});

Deno.test("findDuplicateKey accepts objects whose keys are all different", async (t) => {
  const cases: [string, string][] = [
    ["scalar", "3"],
    ["empty object", "{}"],
    ["empty array", "[]"],
    ["the same key in sibling objects", '[{"a":1},{"a":2}]'],
    ["the same key at different depths", '{"a":{"a":{"a":1}}}'],
    ["a key equal to a string value", '{"a":"b","b":"a"}'],
    ["a key repeated only inside a string value", '{"a":"{\\"a\\":1,\\"a\\":2}"}'],
    ["braces, brackets and commas inside strings", '{"a":"}],{[","b":"\\"}","c":"\\\\"}'],
    ["a string ending in an escaped backslash", '{"a":"x\\\\","b":1}'],
    ["keys that differ only by escape-decoded content", '{"a\\u0062":1,"a\\\\u0062":2}'],
    ["keys differing in case", '{"Replicas":1,"replicas":2}'],
    ["non-ASCII keys", '{"é":1,"e\\u0301":2,"😀":3}'],
    ["arrays of arrays", "[[[],[]],[[1],[2,[3]]]]"],
    ["literals and numbers", '{"t":true,"f":false,"n":null,"x":-1.5e3}'],
  ];
  for (const [name, text] of cases) {
    await t.step(name, () => {
      assert.equal(find(text), undefined);
    });
  }
});

Deno.test("findDuplicateKey handles nesting as deep as JSON.parse accepts without overflowing", () => {
  const depth = 100_000;
  const deep = "[".repeat(depth) + '{"a":1,"a":2}' + "]".repeat(depth);
  const found = find(deep);
  assert.equal(found?.key, "a");
  assert.equal(found?.pointer, "/0".repeat(depth) + "/a");
  const objects = '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
  assert.equal(find(objects), undefined);
});

/** A random JSON text whose keys may repeat within an object, spelled with random escapes; and whether any does. */
function randomDocument(random: () => number): { text: string; duplicate: boolean } {
  const names = ["a", "b", "replicas", 'q"', "s\\", "{", "}", ",", ":", "é"];
  let duplicate = false;
  const spell = (s: string): string => {
    let out = '"';
    for (const ch of s) {
      const code = ch.charCodeAt(0);
      const r = random();
      if (ch === '"' || ch === "\\") out += r < 0.5 ? "\\" + ch : `\\u${code.toString(16).padStart(4, "0")}`;
      else if (r < 0.15) out += `\\u${code.toString(16).padStart(4, "0")}`;
      else if (r < 0.3) out += `\\u${code.toString(16).padStart(4, "0").toUpperCase()}`;
      else out += ch;
    }
    return out + '"';
  };
  const value = (depth: number): string => {
    const r = random();
    if (depth > 4 || r < 0.3) return r < 0.15 ? spell(names[Math.floor(random() * names.length)]) : String(Math.floor(r * 100));
    if (r < 0.6) {
      const n = Math.floor(random() * 4);
      return "[" + Array.from({ length: n }, () => value(depth + 1)).join(",") + "]";
    }
    const n = Math.floor(random() * 5);
    const keys = Array.from({ length: n }, () => names[Math.floor(random() * names.length)]);
    if (new Set(keys).size !== keys.length) duplicate = true;
    return "{" + keys.map((k) => `${spell(k)}:${value(depth + 1)}`).join(",") + "}";
  };
  return { text: value(0), duplicate };
}

Deno.test("findDuplicateKey agrees with how the documents were built, over 5,000 random documents", () => {
  // A seeded generator (mulberry32), so a failure names a document that can be reproduced.
  let seed = 13;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  let withDuplicates = 0;
  for (let n = 0; n < 5000; n++) {
    const { text, duplicate } = randomDocument(random);
    assert.equal(find(text) !== undefined, duplicate, text);
    if (duplicate) withDuplicates++;
  }
  assert.ok(withDuplicates > 500 && withDuplicates < 4500, `both outcomes exercised (${withDuplicates} with duplicates)`);
});
