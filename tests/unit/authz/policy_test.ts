/**
 * The policy file format: what parses, and for every kind of mistake, the
 * line and column the error names.
 */
import assert from "node:assert/strict";
import { parsePolicy, PolicyError } from "../../../src/authz/mod.ts";

/** The example from the format documentation, so the documentation cannot drift from the parser. */
const README = await Deno.readTextFile(new URL("../../../src/authz/README.md", import.meta.url));
const EXAMPLE = /```json\n([\s\S]*?)```/.exec(README)![1];

Deno.test("parsePolicy reads the example in the format documentation", () => {
  const policy = parsePolicy(EXAMPLE, "policy.json");
  assert.equal(policy.source, "policy.json");
  assert.equal(policy.rules.length, 3);
  const [sre, bot, oncall] = policy.rules;
  assert.deepEqual(sre.subjects, [{ group: "sre" }]);
  assert.equal(sre.permissions.read, "*");
  assert.deepEqual([...(sre.permissions.scale as Set<string>)], ["demo", "staging"]);
  assert.equal(sre.description, "SREs read everything and scale the non-production namespaces");
  assert.deepEqual(bot.subjects, [{ cn: "deploy-bot" }, { cn: "deploy-bot-canary" }]);
  assert.deepEqual([...(bot.permissions.read as Set<string>)], ["web"]);
  assert.equal(oncall.permissions.read, undefined);
  assert.equal(oncall.permissions.scale, "*");
  assert.ok(
    policy.deniedFingerprints.has("3F:0A:9C:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD"),
  );
  assert.ok(Object.isFrozen(policy) && Object.isFrozen(policy.rules) && Object.isFrozen(sre));
});

Deno.test("parsePolicy records the line of each rule", () => {
  const policy = parsePolicy(EXAMPLE, "policy.json");
  const lines = EXAMPLE.split("\n");
  for (const rule of policy.rules) assert.match(lines[rule.line - 1], /^\s*\{/, `line ${rule.line} starts the rule`);
});

Deno.test("parsePolicy accepts an empty rule list (nobody may do anything) and a '*' next to names", () => {
  assert.equal(parsePolicy(`{"rules": []}`, "p").rules.length, 0);
  const policy = parsePolicy(`{"rules": [{"subjects": [{"cn": "a"}], "permissions": {"read": ["demo", "*"]}}]}`, "p");
  assert.equal(policy.rules[0].permissions.read, "*");
});

Deno.test("parsePolicy keeps line numbers right with a byte-order mark and CRLF line ends", () => {
  const text = `\uFEFF{\r\n  "rules": [\r\n    {"subjects": [{"cn": "a"}], "permissions": {"write": ["x"]}}\r\n  ]\r\n}\r\n`;
  assert.throws(() => parsePolicy(text, "p.json"), (e: PolicyError) => e.line === 3 && e.column === 49);
});

/** [name, text, line, column, fragment of the message]. The marker ‸ shows the expected column and is removed. */
const ERRORS: [string, string, number, string][] = [
  [
    "missing comma between rules",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {"read": ["x"]}}
  ‸{"subjects": [{"cn": "b"}], "permissions": {"read": ["x"]}}
]}`,
    3,
    "invalid JSON: Expected ',' or ']' after array element",
  ],
  [
    "trailing comma",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {"read": ["x"]},‸}
]}`,
    2,
    "invalid JSON: Expected double-quoted property name",
  ],
  [
    "bare * (V8 gives no position)",
    `{"rules": [
  {"subjects": [{"cn": "a"}],
   "permissions": {"read": [‸*]}}
]}`,
    3,
    "invalid JSON: Unexpected token '*'",
  ],
  [
    "unterminated document",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {"read": ["x"]}}
‸`,
    3,
    "invalid JSON: Expected ',' or ']' after array element",
  ],
  [
    "misspelt literal (V8 gives no position)",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {"read": ["x"]}, "description": ‸tru}
]}`,
    2,
    "invalid JSON: Unexpected token",
  ],
  ["empty file (V8 gives no position)", `‸`, 1, "invalid JSON: Unexpected end of JSON input"],
  [
    "single quotes",
    `{
  ‸'rules': []
}`,
    2,
    "invalid JSON",
  ],
  [
    "text after the document",
    `{"rules": []}
‸]`,
    2,
    "invalid JSON: Unexpected non-whitespace character after JSON",
  ],
  ["not an object", `‸["rules"]`, 1, `must be a JSON object`],
  ["no rules field", `‸{"description": "x"}`, 1, `no "rules" field`],
  ["rules not an array", `{"rules": ‸{}}`, 1, `"rules" must be an array`],
  [
    "unknown top-level field",
    `{
  "rules": [],
  ‸"rule": []
}`,
    3,
    `unknown field "rule" in the policy`,
  ],
  [
    "rule not an object",
    `{"rules": [
  ‸"alice"
]}`,
    2,
    "a rule must be an object",
  ],
  [
    "unknown field in a rule",
    `{"rules": [
  {"subjects": [{"cn": "a"}],
   ‸"permision": {"read": ["x"]}}
]}`,
    3,
    `unknown field "permision" in rule`,
  ],
  [
    "rule without permissions",
    `{"rules": [
  ‸{"subjects": [{"cn": "a"}]}
]}`,
    2,
    `no "permissions" field`,
  ],
  [
    "rule without subjects",
    `{"rules": [
  ‸{"permissions": {"read": ["x"]}}
]}`,
    2,
    `no "subjects" field`,
  ],
  [
    "unknown permission",
    `{"rules": [
  {"subjects": [{"cn": "a"}],
   "permissions": {"read": ["x"],
                   ‸"write": ["x"]}}
]}`,
    4,
    `unknown permission "write"; known permissions: read, scale`,
  ],
  [
    "empty subject object",
    `{"rules": [
  {"subjects": [{"cn": "a"}, ‸{}], "permissions": {"read": ["x"]}}
]}`,
    2,
    "empty subject",
  ],
  [
    "empty cn",
    `{"rules": [
  {"subjects": [
     {"cn": ‸""}
  ], "permissions": {"read": ["x"]}}
]}`,
    3,
    `empty subject: "cn" is an empty string`,
  ],
  [
    "blank group",
    `{"rules": [
  {"subjects": [{"group": ‸"  "}], "permissions": {"read": ["x"]}}
]}`,
    2,
    `empty subject: "group"`,
  ],
  [
    "cn and group in one subject",
    `{"rules": [
  {"subjects": [‸{"cn": "a", "group": "b"}], "permissions": {"read": ["x"]}}
]}`,
    2,
    `either "cn" or "group", not both`,
  ],
  [
    "unknown subject field",
    `{"rules": [
  {"subjects": [{‸"o": "sre"}], "permissions": {"read": ["x"]}}
]}`,
    2,
    `unknown field "o" in subject`,
  ],
  [
    "subject with spaces around it",
    `{"rules": [
  {"subjects": [{"cn": ‸"alice "}], "permissions": {"read": ["x"]}}
]}`,
    2,
    "leading or trailing whitespace",
  ],
  [
    "no subjects",
    `{"rules": [
  {"subjects": ‸[], "permissions": {"read": ["x"]}}
]}`,
    2,
    "would apply to nobody",
  ],
  [
    "no permissions",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": ‸{}}
]}`,
    2,
    "would grant nothing",
  ],
  [
    "upper-case namespace",
    `{"rules": [
  {"subjects": [{"cn": "a"}],
   "permissions": {"read": ["web", ‸"Demo"]}}
]}`,
    3,
    `"Demo" is not a valid namespace name`,
  ],
  [
    "namespace with an underscore",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {"scale": [‸"kube_system"]}}
]}`,
    2,
    `"kube_system" is not a valid namespace name`,
  ],
  [
    "namespace longer than 63",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {"scale": [‸"${"a".repeat(64)}"]}}
]}`,
    2,
    "is not a valid namespace name",
  ],
  [
    "namespace not a string",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {"scale": [‸7]}}
]}`,
    2,
    "namespace names must be strings",
  ],
  [
    "empty namespace list",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {"scale": ‸[]}}
]}`,
    2,
    `"scale" lists no namespace`,
  ],
  [
    "namespaces not a list",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {"read": ‸"*"}}
]}`,
    2,
    `"read" must be an array`,
  ],
  [
    "duplicate field",
    `{"rules": [
  {"subjects": [{"cn": "a"}],
   "permissions": {"read": ["x"]},
   ‸"permissions": {"scale": ["*"]}}
]}`,
    4,
    `duplicate field "permissions"`,
  ],
  [
    "bad fingerprint",
    `{"rules": [],
 "deniedFingerprints": [
   ‸"AB:CD"
]}`,
    3,
    "not a SHA-256 fingerprint",
  ],
  [
    "description not a string",
    `{"rules": [
  {"description": ‸1, "subjects": [{"cn": "a"}], "permissions": {"read": ["x"]}}
]}`,
    2,
    `"description" must be a string`,
  ],
];

Deno.test("parsePolicy names the line and column of each mistake", async (t) => {
  for (const [name, marked, line, fragment] of ERRORS) {
    await t.step(name, () => {
      const markerLine = marked.split("\n").findIndex((l) => l.includes("‸"));
      const column = marked.split("\n")[markerLine].indexOf("‸") + 1;
      assert.equal(markerLine + 1, line, "test table: marker and line disagree");
      const text = marked.replace("‸", "");
      let error: unknown;
      try {
        parsePolicy(text, "policies/team.json");
      } catch (e) {
        error = e;
      }
      assert.ok(error instanceof PolicyError, `expected a PolicyError, got ${error}`);
      assert.equal(`${error.line}:${error.column}`, `${line}:${column}`, error.message);
      assert.ok(error.message.startsWith(`policies/team.json:${line}:${column}: `), error.message);
      assert.ok(error.detail.includes(fragment), `"${error.detail}" should contain "${fragment}"`);
      assert.equal(error.source, "policies/team.json");
    });
  }
});

Deno.test("parsePolicy error messages do not repeat V8's position or a copy of the file", () => {
  const cases = [`{"rules": [}`, `{"a": tru}`, `{"rules": [\n\n  {"x": 1}\n  {"y": 2}]}`];
  for (const text of cases) {
    assert.throws(() => parsePolicy(text, "p"), (e: PolicyError) => !/position|line \d|is not valid JSON/.test(e.detail));
  }
});
