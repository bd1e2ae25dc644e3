/**
 * What a policy lets each identity do: matching by CN or group, the union of
 * matching rules, "*", deny by default and denied fingerprints.
 */
import assert from "node:assert/strict";
import { allowAll, createAuthorizer, parsePolicy } from "../../../src/authz/mod.ts";
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

Deno.test("describe says which rules matched and what they grant", () => {
  const summary = authz.describe(identity("auditor", ["oncall"]));
  const lines = POLICY.rules.map((r) => r.line);
  assert.deepEqual(summary, { policy: "policy.json", rules: [lines[1], lines[3]], read: ["demo", "prod"], scale: ["prod", "staging"] });
  assert.deepEqual(authz.describe(identity("x", ["sre"])).read, "*");
  assert.deepEqual(authz.describe(identity("nobody")), { policy: "policy.json", rules: [], read: [], scale: [] });
  JSON.stringify(summary); // fit for a log line
});

Deno.test("allowAll lets every authenticated client read and scale everywhere", () => {
  const all = allowAll();
  const who = identity("anyone");
  assert.equal(all.can(who, "read", "demo"), true);
  assert.equal(all.can(who, "scale", "*"), true);
  assert.equal(all.readableNamespaces(who), "*");
  assert.match(all.describe(who).policy, /AUTHZ_POLICY_FILE unset/);
});
