/**
 * The policy file format: what parses, and for every kind of mistake, the
 * line and column the error names.
 */
import assert from "node:assert/strict";
import { parsePolicy, PERMISSIONS, PolicyError } from "../../../src/authz/mod.ts";

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
  assert.equal(sre.description, "SREs read everything, scale the non-production namespaces, and restart, pause and undo anywhere");
  assert.deepEqual([sre.permissions.restart, sre.permissions.pause, sre.permissions.undo, sre.permissions.image], [
    "*",
    "*",
    "*",
    undefined,
  ]);
  assert.equal(sre.images, undefined);
  assert.deepEqual(bot.subjects, [{ cn: "deploy-bot" }, { cn: "deploy-bot-canary" }]);
  assert.deepEqual([...(bot.permissions.read as Set<string>)], ["web"]);
  assert.deepEqual([...(bot.permissions.image as Set<string>)], ["web"]);
  assert.deepEqual(bot.images, ["registry.internal/web/*", "registry.internal/base/nginx:*"]);
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

Deno.test("parsePolicy reads every permission, and the image patterns of a rule that grants image", () => {
  const policy = parsePolicy(
    JSON.stringify({
      rules: [
        {
          subjects: [{ cn: "a" }],
          permissions: { read: ["web"], scale: ["web"], restart: ["web"], pause: ["*"], undo: ["web"], image: ["web", "demo"] },
          images: ["registry.internal/*", "ghcr.io/acme/app:*"],
        },
        { subjects: [{ cn: "b" }], permissions: { image: ["web"] } },
      ],
    }),
    "p",
  );
  const [limited, any] = policy.rules;
  assert.deepEqual(Object.keys(limited.permissions), ["read", "scale", "restart", "pause", "undo", "image"]);
  assert.equal(limited.permissions.pause, "*");
  assert.deepEqual([...(limited.permissions.image as Set<string>)], ["web", "demo"]);
  assert.deepEqual(limited.images, ["registry.internal/*", "ghcr.io/acme/app:*"]);
  assert.ok(Object.isFrozen(limited.images));
  assert.equal(any.images, undefined, "no images: any image");
  assert.ok(!("images" in any), "the field is absent, not undefined");
});

Deno.test("the unknown-permission error lists every permission there is", () => {
  assert.throws(
    () => parsePolicy(`{"rules": [{"subjects": [{"cn": "a"}], "permissions": {"deploy": ["x"]}}]}`, "p"),
    (e: PolicyError) => e.detail.endsWith(`known permissions: ${PERMISSIONS.join(", ")}`),
  );
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
    `unknown permission "write"; known permissions: read, scale, restart, pause, undo, image`,
  ],
  [
    "resume is not a permission of its own (pause covers it)",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {‸"resume": ["x"]}}
]}`,
    2,
    `unknown permission "resume"`,
  ],
  [
    "images in a rule that does not grant image",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {"scale": ["x"]},
   ‸"images": ["registry.internal/*"]}
]}`,
    3,
    `"images" limits the image permission, which this rule does not grant`,
  ],
  [
    "images not an array",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {"image": ["x"]}, "images": ‸"registry.internal/*"}
]}`,
    2,
    `"images" must be an array of image patterns`,
  ],
  [
    "images empty",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {"image": ["x"]}, "images": ‸[]}
]}`,
    2,
    `"images" is empty: the rule would allow no image`,
  ],
  [
    "image pattern not a string",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {"image": ["x"]}, "images": ["r/*", ‸null]}
]}`,
    2,
    `image patterns must be strings`,
  ],
  [
    "empty image pattern",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {"image": ["x"]},
   "images": [‸""]}
]}`,
    3,
    `image pattern "" is empty`,
  ],
  [
    "image pattern with a space",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {"image": ["x"]}, "images": [‸"registry.internal/* "]}
]}`,
    2,
    `contains whitespace`,
  ],
  [
    "image pattern with a control character",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {"image": ["x"]}, "images": [‸"registry.internal/\\u0007*"]}
]}`,
    2,
    `contains a control character`,
  ],
  [
    "image pattern with another glob's wildcard",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {"image": ["x"]}, "images": [‸"registry.internal/app:1.?"]}
]}`,
    2,
    `only "*" is a wildcard`,
  ],
  [
    "image pattern too long",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {"image": ["x"]}, "images": [‸"${"r".repeat(513)}"]}
]}`,
    2,
    `is longer than 512 characters`,
  ],
  [
    "duplicate image pattern",
    `{"rules": [
  {"subjects": [{"cn": "a"}], "permissions": {"image": ["x"]},
   "images": ["registry.internal/*", "registry.internal/app:*",
              ‸"registry.internal/*"]}
]}`,
    4,
    `duplicate image pattern "registry.internal/*"`,
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
