/** The contexts file: where it is, what it may hold, how it is refused, and how it is written. */
import assert from "node:assert/strict";
import {
  type ConfigFile,
  configFilePath,
  lookupConfig,
  parseConfigFile,
  serializeConfigFile,
  writeConfigFile,
} from "../../../src/cli/config_file.ts";
import { findRepeatedKey } from "../../../src/cli/json_repeated_key.ts";

const PATH = "/home/sre/.config/replica-api/config.json";

function refused(text: string, message: RegExp) {
  assert.throws(() => parseConfigFile(text, PATH), (error: unknown) => {
    assert.equal((error as Error).name, "CliFailure");
    assert.match((error as Error).message, message);
    return true;
  });
}

Deno.test("the config file lives in XDG_CONFIG_HOME, else in ~/.config", () => {
  assert.equal(configFilePath({ XDG_CONFIG_HOME: "/xdg", HOME: "/home/sre" }), "/xdg/replica-api/config.json");
  assert.equal(configFilePath({ XDG_CONFIG_HOME: "/xdg/", HOME: "/home/sre" }), "/xdg/replica-api/config.json");
  assert.equal(configFilePath({ HOME: "/home/sre" }), PATH);
  assert.equal(configFilePath({ XDG_CONFIG_HOME: "", HOME: "/home/sre" }), PATH, "empty counts as unset");
  assert.equal(configFilePath({ XDG_CONFIG_HOME: "relative/dir", HOME: "/home/sre" }), PATH, "the XDG spec says to ignore a relative one");
  assert.equal(configFilePath({}), undefined);
});

Deno.test("a well-formed config file is read with its contexts in file order", () => {
  const file = parseConfigFile(
    JSON.stringify({
      currentContext: "prod",
      contexts: { prod: { url: "https://replica-api.example:8443", cert: "alice.crt", key: "/keys/alice.key" }, dev: {} },
    }),
    PATH,
  );
  assert.equal(file.currentContext, "prod");
  assert.deepEqual([...file.contexts.keys()], ["prod", "dev"]);
  assert.deepEqual(file.contexts.get("prod"), { url: "https://replica-api.example:8443", cert: "alice.crt", key: "/keys/alice.key" });
  assert.deepEqual(file.contexts.get("dev"), {});
  assert.deepEqual(parseConfigFile("{}", PATH), { currentContext: undefined, contexts: new Map() });
});

Deno.test("a malformed config file is refused, naming the file and what is wrong", async (t) => {
  const cases: [string, string, RegExp][] = [
    ["not JSON", "{ contexts: }", /^the config file \/home\/sre\/\.config\/replica-api\/config\.json is not JSON: /],
    [
      "a key twice in one context",
      '{\n  "contexts": {\n    "dev": {\n      "url": "https://a:1",\n      "url": "https://b:2"\n    }\n  }\n}',
      /^the config file \S+ has "url" twice in one object \(line 5, column 7\); keep one: JSON readers disagree/,
    ],
    ["a context twice", '{"contexts":{"dev":{},"dev":{}}}', /has "dev" twice in one object \(line 1, column 23\)/],
    ["an array at the top", "[]", /is not valid: the top level must be an object/],
    ["a misspelt field", '{"curentContext":"dev"}', /unknown field "curentContext" in the top level \(known: currentContext, contexts\)/],
    [
      "an unknown context field",
      '{"contexts":{"dev":{"namespace":"x"}}}',
      /unknown field "namespace" in contexts\.dev \(known: url, cert, key, cacert\)/,
    ],
    ["a number for a path", '{"contexts":{"dev":{"cert":1}}}', /contexts\.dev\.cert must be a non-empty string \(a file path\)/],
    ["an empty url", '{"contexts":{"dev":{"url":""}}}', /contexts\.dev\.url must be a non-empty string \(the API's https:\/\/ URL\)/],
    ["a plain-HTTP url", '{"contexts":{"dev":{"url":"http://a:1"}}}', /contexts\.dev\.url must be an https:\/\/ URL/],
    ["a context that is not an object", '{"contexts":{"dev":"https://a:1"}}', /contexts\.dev must be an object/],
    ["a name with a space", '{"contexts":{"my dev":{}}}', /contexts: "my dev" is not a valid context name/],
    ["a current context that is no name", '{"currentContext":7}', /currentContext must be a string/],
    ["__proto__ as a name", '{"contexts":{"__proto__":{}}}', /"__proto__" is not a valid context name/],
  ];
  for (const [what, text, message] of cases) await t.step(what, () => refused(text, message));
});

Deno.test("findRepeatedKey looks within each object only, and decodes names as JSON.parse does", () => {
  assert.equal(findRepeatedKey('{"a":{"x":1},"b":{"x":2}}'), undefined, "the same name in sibling objects");
  assert.equal(findRepeatedKey('[{"x":1},{"x":2}]'), undefined, "objects in an array");
  assert.equal(findRepeatedKey('{"a":"x\\",\\"a","b":["{\\"a\\":1"]}'), undefined, "names inside strings are text");
  assert.deepEqual(findRepeatedKey('{"url":1,"\\u0075rl":2}'), { key: "url", line: 1, column: 10 });
  assert.deepEqual(findRepeatedKey('{"a":[1,{"b":1}],"a":2}'), { key: "a", line: 1, column: 18 }, "after a nested array");
});

Deno.test("a missing file is absent, an unreadable or malformed one is kept as an error for when it is needed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.deepEqual(await lookupConfig(`${dir}/config.json`), { kind: "absent", path: `${dir}/config.json` });
    assert.deepEqual(await lookupConfig(undefined), { kind: "none", why: "neither XDG_CONFIG_HOME nor HOME is set" });
    await Deno.writeTextFile(`${dir}/config.json`, '{"currentContext":"dev","contexts":{"dev":{}}}');
    const loaded = await lookupConfig(`${dir}/config.json`);
    assert.equal(loaded.kind === "loaded" && loaded.file.currentContext, "dev");
    await Deno.writeTextFile(`${dir}/config.json`, "{");
    const broken = await lookupConfig(`${dir}/config.json`);
    assert.equal(broken.kind, "unusable");
    assert.match(broken.kind === "unusable" ? broken.error.message : "", /^the config file .*config\.json is not JSON/);
    const folder = await lookupConfig(dir);
    assert.equal(folder.kind === "unusable" && folder.error.message, `cannot read the config file ${dir}: it is a folder`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writing the config file creates its folder 0700 and the file 0600, and reads back the same", async () => {
  const home = await Deno.makeTempDir();
  try {
    const path = `${home}/.config/replica-api/config.json`;
    const file: ConfigFile = { currentContext: "dev", contexts: new Map([["dev", { cacert: "ca.crt", url: "https://a:1" }]]) };
    await writeConfigFile(path, file);
    assert.equal((await Deno.stat(path)).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(`${home}/.config/replica-api`)).mode! & 0o777, 0o700);
    const text = await Deno.readTextFile(path);
    assert.equal(
      text,
      '{\n  "currentContext": "dev",\n  "contexts": {\n    "dev": {\n      "url": "https://a:1",\n      "cacert": "ca.crt"\n    }\n  }\n}\n',
    );
    assert.deepEqual(parseConfigFile(text, path), file);
  } finally {
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("writing replaces the file by renaming a new one over it, leaving no temporary file behind", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/config.json`;
    await Deno.writeTextFile(path, "{}", { mode: 0o644 });
    const before = (await Deno.stat(path)).ino;
    await writeConfigFile(path, { contexts: new Map([["dev", {}]]) });
    const after = await Deno.stat(path);
    assert.notEqual(after.ino, before, "a new file, not the old one rewritten in place (a reader never sees half a file)");
    assert.equal(after.mode! & 0o777, 0o600, "0600 even where the old file was 0644");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["config.json"]);
    assert.equal(serializeConfigFile({ contexts: new Map() }), '{\n  "contexts": {}\n}\n');
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writing through a symbolic link is refused rather than cutting the link", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/dotfiles.json`, "{}");
    await Deno.symlink(`${dir}/dotfiles.json`, `${dir}/config.json`);
    await assert.rejects(writeConfigFile(`${dir}/config.json`, { contexts: new Map() }), {
      name: "CliFailure",
      message: new RegExp(`^the config file ${dir}/config\\.json is a symbolic link; replica-api replaces the file`),
    });
    assert.equal(await Deno.readTextFile(`${dir}/dotfiles.json`), "{}");
    assert.ok((await Deno.lstat(`${dir}/config.json`)).isSymlink);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
