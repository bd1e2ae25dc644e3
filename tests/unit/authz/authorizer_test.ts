/**
 * What a policy lets each identity do: matching by CN or group, the union of
 * matching rules, "*", deny by default and denied fingerprints.
 */
import assert from "node:assert/strict";
import {
  allowAll,
  createAuthorizer,
  createReloadableAuthorizer,
  describeImageRefusal,
  parsePolicy,
  PERMISSIONS,
} from "../../../src/authz/mod.ts";
import type { ClientIdentity } from "../../../src/http/types.ts";

const FP_ALICE = "AA:".repeat(31) + "AA";
const FP_OTHER = "BB:".repeat(31) + "BB";

function identity(cn: string, organizations: string[] = [], fingerprint256 = FP_OTHER): ClientIdentity {
  return Object.freeze({ cn, organizations: Object.freeze(organizations), fingerprint256 });
}

const POLICY = parsePolicy(
  JSON.stringify(
    {
      rules: [
        { subjects: [{ group: "sre" }], permissions: { read: ["*"], scale: ["demo"] } },
        { subjects: [{ group: "oncall" }], permissions: { scale: ["prod", "staging"] } },
        { subjects: [{ cn: "deploy-bot" }, { group: "bots" }], permissions: { read: ["web"], scale: ["web"] } },
        { subjects: [{ cn: "auditor" }], permissions: { read: ["prod", "demo"] } },
      ],
      deniedFingerprints: [FP_ALICE.toLowerCase().replaceAll(":", "")],
    },
    null,
    2,
  ),
  "policy.json",
);
const authz = createAuthorizer(POLICY);

Deno.test("a rule matches by exact CN", () => {
  const bot = identity("deploy-bot");
  assert.equal(authz.can(bot, "read", "web"), true);
  assert.equal(authz.can(bot, "scale", "web"), true);
  assert.equal(authz.can(bot, "read", "demo"), false);
  assert.equal(authz.can(identity("Deploy-Bot"), "read", "web"), false, "CN comparison is case-sensitive");
  assert.equal(authz.can(identity("deploy-bot-2"), "read", "web"), false, "no prefix matching");
});

Deno.test("a rule matches when its group is one of the certificate's O values", () => {
  const member = identity("someone", ["bots"]);
  assert.equal(authz.can(member, "scale", "web"), true);
  assert.equal(authz.can(identity("someone", ["Bots"]), "scale", "web"), false);
});

Deno.test("permissions from all matching rules are unioned, across several groups", () => {
  const alice = identity("alice", ["sre", "oncall"]);
  assert.equal(authz.can(alice, "read", "anything"), true, "sre reads everywhere");
  assert.equal(authz.can(alice, "scale", "demo"), true, "from sre");
  assert.equal(authz.can(alice, "scale", "prod"), true, "from oncall");
  assert.equal(authz.can(alice, "scale", "staging"), true, "from oncall");
  assert.equal(authz.can(alice, "scale", "web"), false, "granted to nobody alice is");
  const oncallOnly = identity("bob", ["oncall"]);
  assert.equal(authz.can(oncallOnly, "scale", "prod"), true);
  assert.equal(authz.can(oncallOnly, "read", "prod"), false, "scale does not imply read");
});

Deno.test("'*' grants every namespace, and only '*' answers for all namespaces", () => {
  const sre = identity("carol", ["sre"]);
  assert.equal(authz.can(sre, "read", "kube-system"), true);
  assert.equal(authz.can(sre, "read", "*"), true);
  assert.equal(authz.can(sre, "scale", "*"), false, "scale is granted in demo only");
  assert.equal(authz.can(identity("auditor"), "read", "*"), false);
});

Deno.test("everything is denied by default", () => {
  for (const who of [identity("mallory"), identity("mallory", ["contractors"]), identity("", ["nobody"])]) {
    assert.equal(authz.can(who, "read", "demo"), false);
    assert.equal(authz.can(who, "scale", "demo"), false);
    assert.deepEqual([...(authz.readableNamespaces(who) as Set<string>)], []);
  }
});

Deno.test("an identity without a CN matches group rules only", () => {
  assert.equal(authz.can(identity("", ["sre"]), "read", "demo"), true);
  assert.equal(authz.can(identity(""), "read", "web"), false);
});

Deno.test("readableNamespaces gives '*' or the set a list is filtered by", () => {
  assert.equal(authz.readableNamespaces(identity("x", ["sre"])), "*");
  assert.deepEqual([...(authz.readableNamespaces(identity("auditor", ["bots"])) as Set<string>)].sort(), ["demo", "prod", "web"]);
});

Deno.test("a certificate in deniedFingerprints gets nothing, whatever the rules say", () => {
  const stolen = identity("alice", ["sre", "oncall"], FP_ALICE);
  assert.equal(authz.can(stolen, "read", "demo"), false);
  assert.equal(authz.can(stolen, "scale", "demo"), false);
  assert.deepEqual([...(authz.readableNamespaces(stolen) as Set<string>)], []);
  assert.match(authz.describe(stolen).denied ?? "", /deniedFingerprints/);
  assert.equal(authz.can(identity("alice", ["sre"], FP_OTHER), "read", "demo"), true, "alice's other certificate still works");
});

const NONE = { read: [], scale: [], restart: [], pause: [], undo: [], image: [] };

Deno.test("describe says which rules matched and what they grant, for every permission", () => {
  const summary = authz.describe(identity("auditor", ["oncall"]));
  const lines = POLICY.rules.map((r) => r.line);
  assert.deepEqual(summary, {
    policy: "policy.json",
    rules: [lines[1], lines[3]],
    permissions: { ...NONE, read: ["demo", "prod"], scale: ["prod", "staging"] },
    imagePatterns: {},
  });
  assert.deepEqual(authz.describe(identity("x", ["sre"])).permissions.read, "*");
  assert.deepEqual(authz.describe(identity("nobody")), { policy: "policy.json", rules: [], permissions: NONE, imagePatterns: {} });
  JSON.stringify(summary); // fit for a log line
});

Deno.test("allowAll lets every authenticated client do everything everywhere, any image included", () => {
  const all = allowAll();
  const who = identity("anyone");
  for (const permission of PERMISSIONS) {
    assert.equal(all.can(who, permission, "demo"), true, permission);
    assert.equal(all.can(who, permission, "*"), true, permission);
  }
  assert.equal(all.readableNamespaces(who), "*");
  assert.deepEqual(all.imageAllowed(who, "demo", "anything.example/at:all"), { allowed: true });
  const summary = all.describe(who);
  assert.match(summary.policy, /AUTHZ_POLICY_FILE unset/);
  assert.deepEqual(summary.permissions, { read: "*", scale: "*", restart: "*", pause: "*", undo: "*", image: "*" });
  assert.deepEqual(summary.imagePatterns, { "*": ["*"] });
});

/** Rollout operations and image patterns: one rule per concern, so each test reads against one line of the policy. */
const OPS = parsePolicy(
  JSON.stringify({
    rules: [
      { subjects: [{ group: "sre" }], permissions: { restart: ["*"], pause: ["*"], undo: ["demo"] } },
      { subjects: [{ group: "sre" }], permissions: { image: ["*"] }, images: ["registry.internal/*"] },
      { subjects: [{ group: "web" }], permissions: { image: ["web"] }, images: ["ghcr.io/acme/web:*", "registry.internal/*"] },
      { subjects: [{ cn: "release-bot" }], permissions: { image: ["staging"] } },
      { subjects: [{ cn: "release-bot" }], permissions: { image: ["prod"] }, images: ["registry.internal/app@sha256:*"] },
    ],
    deniedFingerprints: [FP_ALICE],
  }),
  "ops.json",
);
const ops = createAuthorizer(OPS);

Deno.test("each rollout operation is a permission of its own, granted per namespace", () => {
  const sre = identity("carol", ["sre"]);
  assert.equal(ops.can(sre, "restart", "prod"), true);
  assert.equal(ops.can(sre, "pause", "*"), true);
  assert.equal(ops.can(sre, "undo", "demo"), true);
  assert.equal(ops.can(sre, "undo", "prod"), false, "undo only in demo");
  assert.equal(ops.can(sre, "scale", "demo"), false, "restart does not imply scale");
  assert.equal(ops.can(sre, "read", "demo"), false, "nor read");
  assert.equal(ops.can(sre, "resume" as never, "demo"), false, "a permission the policy does not know allows nothing");
});

Deno.test("an image is allowed when a rule granting image in the namespace has a pattern that matches it", () => {
  const sre = identity("carol", ["sre"]);
  assert.deepEqual(ops.imageAllowed(sre, "prod", "registry.internal/team/app:1.3"), { allowed: true });
  assert.deepEqual(ops.imageAllowed(sre, "prod", "ghcr.io/acme/web:1.3"), { allowed: false, patterns: ["registry.internal/*"] });
  assert.deepEqual(
    ops.imageAllowed(sre, "prod", "nginx:1.2"),
    { allowed: false, patterns: ["registry.internal/*"] },
    "no normalisation: a short name is refused",
  );
});

Deno.test("image patterns of several rules are unioned for the namespace asked about, and only for it", () => {
  const both = identity("dave", ["sre", "web"]);
  assert.deepEqual(ops.imageAllowed(both, "web", "ghcr.io/acme/web:2.0"), { allowed: true }, "from the web rule");
  assert.deepEqual(ops.imageAllowed(both, "web", "registry.internal/x:1"), { allowed: true }, "from the sre rule");
  assert.deepEqual(ops.imageAllowed(both, "web", "quay.io/x:1"), {
    allowed: false,
    patterns: ["registry.internal/*", "ghcr.io/acme/web:*"],
  }, "policy order, no repeats");
  assert.deepEqual(
    ops.imageAllowed(both, "demo", "ghcr.io/acme/web:2.0"),
    { allowed: false, patterns: ["registry.internal/*"] },
    "the web rule's patterns do not reach outside web",
  );
});

Deno.test("a rule without images allows any image, but only where it grants image", () => {
  const bot = identity("release-bot");
  assert.deepEqual(ops.imageAllowed(bot, "staging", "anything:at-all"), { allowed: true });
  assert.deepEqual(ops.imageAllowed(bot, "prod", "registry.internal/app:1.3"), {
    allowed: false,
    patterns: ["registry.internal/app@sha256:*"],
  }, "the prod rule wants a digest");
  assert.deepEqual(ops.imageAllowed(bot, "prod", "registry.internal/app@sha256:" + "a".repeat(64)), { allowed: true });
});

Deno.test("no rule granting image in the namespace refuses every image, with no patterns to offer", () => {
  assert.deepEqual(ops.imageAllowed(identity("bob", ["web"]), "demo", "registry.internal/x:1"), { allowed: false, patterns: [] });
  assert.deepEqual(ops.imageAllowed(identity("mallory"), "web", "registry.internal/x:1"), { allowed: false, patterns: [] });
  assert.deepEqual(
    ops.imageAllowed(identity("bob", ["web"]), "*", "ghcr.io/acme/web:1"),
    { allowed: false, patterns: [] },
    "a grant in web is not a grant everywhere",
  );
});

Deno.test("a certificate in deniedFingerprints may set no image, whatever the rules say", () => {
  const stolen = identity("release-bot", ["sre"], FP_ALICE);
  assert.deepEqual(ops.imageAllowed(stolen, "staging", "anything:1"), { allowed: false, patterns: [] });
  assert.equal(ops.can(stolen, "restart", "demo"), false);
  assert.deepEqual(ops.describe(stolen).imagePatterns, {});
});

Deno.test("describe gives the image patterns per namespace, those of '*' included in each named one", () => {
  assert.deepEqual(ops.describe(identity("dave", ["sre", "web"])).imagePatterns, {
    "*": ["registry.internal/*"],
    web: ["registry.internal/*", "ghcr.io/acme/web:*"],
  });
  assert.deepEqual(ops.describe(identity("release-bot")).imagePatterns, {
    prod: ["registry.internal/app@sha256:*"],
    staging: ["*"],
  }, "any image is shown as the pattern that matches any");
  const summary = ops.describe(identity("carol", ["sre"]));
  assert.deepEqual(summary.permissions, { ...NONE, restart: "*", pause: "*", undo: ["demo"], image: "*" });
});

Deno.test("the reloadable authorizer answers image questions with the policy in force", () => {
  const reloadable = createReloadableAuthorizer(ops);
  const sre = identity("carol", ["sre"]);
  assert.equal(reloadable.imageAllowed(sre, "prod", "quay.io/x:1").allowed, false);
  reloadable.replace(
    createAuthorizer(parsePolicy(`{"rules": [{"subjects": [{"group": "sre"}], "permissions": {"image": ["prod"]}}]}`, "p2")),
  );
  assert.deepEqual(reloadable.imageAllowed(sre, "prod", "quay.io/x:1"), { allowed: true });
  reloadable.replace(allowAll());
  assert.deepEqual(reloadable.imageAllowed(sre, "elsewhere", "quay.io/x:1"), { allowed: true });
});

Deno.test("an image refusal names the client, the image and the patterns that would be allowed", () => {
  const dave = identity("dave", ["sre", "web"]);
  const decision = ops.imageAllowed(dave, "web", "quay.io/acme/web:2");
  assert.equal(decision.allowed, false);
  assert.equal(
    describeImageRefusal(dave, "web", "quay.io/acme/web:2", decision.allowed ? [] : decision.patterns),
    `CN=dave, O=sre+web may not set image "quay.io/acme/web:2" in namespace "web": the policy allows only images matching ` +
      `"registry.internal/*", "ghcr.io/acme/web:*" there`,
  );
  assert.equal(
    describeImageRefusal(identity("bob"), "demo", "app:1", []),
    `CN=bob may not set image "app:1" in namespace "demo": no policy rule grants it the image permission there`,
  );
});

Deno.test("an image refusal of a short name says that no registry is added to it", () => {
  const patterns = ["docker.io/library/*"];
  assert.match(
    describeImageRefusal(identity("a"), "d", "nginx:1.27", patterns),
    /no registry added: "nginx:1\.27" is not "docker\.io\/library\/nginx:1\.27"$/,
  );
  assert.match(describeImageRefusal(identity("a"), "d", "acme/web:1", patterns), /"acme\/web:1" is not "docker\.io\/acme\/web:1"$/);
  assert.doesNotMatch(describeImageRefusal(identity("a"), "d", "localhost:5000/web:1", patterns), /no registry added/);
  assert.doesNotMatch(describeImageRefusal(identity("a"), "d", "localhost/web:1", patterns), /no registry added/);
});

Deno.test("the format documentation's example means what its prose says", async () => {
  const readme = await Deno.readTextFile(new URL("../../../src/authz/README.md", import.meta.url));
  const example = createAuthorizer(parsePolicy(/```json\n([\s\S]*?)```/.exec(readme)![1], "policy.json"));
  const alice = identity("alice", ["sre", "oncall"]);
  for (const permission of ["read", "scale", "restart", "pause", "undo"] as const) {
    assert.equal(example.can(alice, permission, "prod"), true);
  }
  assert.equal(example.can(alice, "image", "web"), false);
  const bot = identity("deploy-bot");
  assert.deepEqual(example.imageAllowed(bot, "web", "registry.internal/web/frontend:1.3"), { allowed: true });
  assert.deepEqual(example.imageAllowed(bot, "web", "registry.internal/base/nginx:1.27"), { allowed: true });
  assert.equal(example.imageAllowed(bot, "web", "nginx:1.27").allowed, false);
  assert.equal(example.imageAllowed(bot, "demo", "registry.internal/web/frontend:1.3").allowed, false);
  assert.equal(example.can(identity("mallory", ["contractors"]), "read", "web"), false);
});
