/** whoami against the fake API: the report people read, -o json, and the answers of a service without whoami. */
import assert from "node:assert/strict";
import { cli, json, problem, withFakeApi } from "./_fake_api.ts";
import { humanDuration } from "../../../src/cli/format.ts";

/** The service's documented answer for alice, read by team-a and team-b, scaling everywhere. */
const alice = {
  identity: {
    cn: "alice",
    organizations: ["sre"],
    serialNumber: "1A2B3C",
    fingerprint256: "AB:CD:EF",
    issuer: "CN=replica-api dev CA",
    notBefore: "2026-12-07T09:00:00.000Z",
    notAfter: "2026-12-14T09:00:00.000Z",
    expiresInSeconds: 604800,
  },
  policy: "/etc/replica-api/policy.json",
  permissions: { read: ["team-a", "team-b"], scale: "*" },
  namespaces: { "team-b": ["read", "scale"], "*": ["scale"], "team-a": ["read", "scale"] },
};

Deno.test("whoami prints the identity, its expiry, the policy and the permissions per namespace, every namespace first", async () => {
  await withFakeApi(() => json(alice), async (api) => {
    const run = await cli(["whoami"], api.env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      [
        "Identity:    CN=alice, O=sre",
        "Serial:      1A2B3C",
        "Fingerprint: AB:CD:EF",
        "Issuer:      CN=replica-api dev CA",
        "Expires:     2026-12-14T09:00:00.000Z (in 7 days)",
        "Policy:      /etc/replica-api/policy.json",
        "",
        "NAMESPACE   PERMISSIONS",
        "*           scale",
        "team-a      read, scale",
        "team-b      read, scale",
      ].join("\n"),
    );
    assert.equal(run.stderr, "");
    assert.deepEqual([api.requests[0].method, api.requests[0].target], ["GET", "/api/v1/whoami"]);
    assert.equal(api.requests[0].headers.get("accept"), "application/json");
  });
});

Deno.test("whoami -o json prints the service's answer as it is", async () => {
  await withFakeApi(() => json(alice), async (api) => {
    const run = await cli(["whoami", "-o", "json"], api.env);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), alice);
  });
});

Deno.test("whoami of a denied identity says why and that it holds nothing", async () => {
  const denied = {
    ...alice,
    identity: { ...alice.identity, organizations: [], expiresInSeconds: 5400 },
    denied: "certificate fingerprint is listed in deniedFingerprints",
    permissions: {},
    namespaces: {},
  };
  await withFakeApi(() => json(denied), async (api) => {
    const run = await cli(["whoami"], api.env);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^Identity: {4}CN=alice\n/);
    assert.match(run.stdout, /\nExpires: {5}2026-12-14T09:00:00\.000Z \(in 1 hour 30 minutes\)\n/);
    assert.match(run.stdout, /\nDenied: {6}certificate fingerprint is listed in deniedFingerprints\n\nNo permissions in any namespace\.$/);
  });
});

Deno.test("whoami against a service without a policy file says there is none", async () => {
  await withFakeApi(() => json({ ...alice, policy: null }), async (api) => {
    const run = await cli(["whoami"], api.env);
    assert.match(run.stdout, /\nPolicy: {6}none \(the service runs without AUTHZ_POLICY_FILE\)\n/);
  });
});

Deno.test("whoami against a service from before whoami exits 1 with its 404 and a hint", async () => {
  await withFakeApi(() => problem(404, "Not Found", "no route for GET /api/v1/whoami"), async (api) => {
    const run = await cli(["whoami"], api.env);
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      "error: no route for GET /api/v1/whoami (404 Not Found)\nhint: the service at --url may be older than GET /api/v1/whoami",
    );
  });
});

Deno.test("whoami refuses an answer without an identity instead of printing half a report", async () => {
  await withFakeApi(() => json({ items: [] }), async (api) => {
    const run = await cli(["whoami"], api.env);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, "error: the API answered GET /api/v1/whoami without an identity (is --url a replica-api with whoami?)");
  });
});

Deno.test("whoami text from the server cannot move the cursor", async () => {
  const hostile = { ...alice, identity: { ...alice.identity, cn: "eve\u001b[2J" }, namespaces: { "a\nb": ["read"] } };
  await withFakeApi(() => json(hostile), async (api) => {
    const run = await cli(["whoami"], api.env);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(!run.stdout.includes("\u001b"), run.stdout);
    assert.match(run.stdout, /\na b {9}read$/);
  });
});

Deno.test("humanDuration gives the two largest units, rounded down", () => {
  assert.equal(humanDuration(7 * 86_400_000), "7 days");
  assert.equal(humanDuration(2 * 86_400_000 + 3 * 3_600_000 + 59 * 60_000), "2 days 3 hours");
  assert.equal(humanDuration(86_400_000 + 3_600_000), "1 day 1 hour");
  assert.equal(humanDuration(5 * 3_600_000 + 2 * 60_000), "5 hours 2 minutes");
  assert.equal(humanDuration(12 * 60_000 + 59_000), "12 minutes");
  assert.equal(humanDuration(59_999), "less than a minute");
});
