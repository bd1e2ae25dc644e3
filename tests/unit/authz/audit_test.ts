/** The audit record: its exact shape, and the values it refuses. */
import assert from "node:assert/strict";
import { type AuditEvent, buildAuditRecord, MAX_REASON_LENGTH } from "../../../src/authz/mod.ts";

const FIXED = () => new Date("2026-11-21T10:00:00.000Z");
const alice = Object.freeze({ cn: "alice", organizations: Object.freeze(["sre", "oncall"]), fingerprint256: "AB:CD" });

const SCALED: AuditEvent = {
  identity: alice,
  action: "scale",
  target: { namespace: "demo", name: "web" },
  outcome: "succeeded",
  status: 200,
  replicasBefore: 2,
  replicasAfter: 5,
  requestId: "req-1",
};

Deno.test("buildAuditRecord for a successful scale carries who, what, before and after", () => {
  const record = buildAuditRecord(SCALED, FIXED);
  assert.deepEqual(record, {
    audit: true,
    time: "2026-11-21T10:00:00.000Z",
    identity: { cn: "alice", organizations: ["sre", "oncall"], fingerprint256: "AB:CD" },
    action: "scale",
    target: { namespace: "demo", name: "web" },
    outcome: "succeeded",
    status: 200,
    replicasBefore: 2,
    replicasAfter: 5,
    requestId: "req-1",
  });
  assert.equal(
    JSON.stringify(record),
    '{"audit":true,"time":"2026-11-21T10:00:00.000Z","identity":{"cn":"alice","organizations":["sre","oncall"],"fingerprint256":"AB:CD"},' +
      '"action":"scale","target":{"namespace":"demo","name":"web"},"outcome":"succeeded","status":200,"replicasBefore":2,"replicasAfter":5,' +
      '"requestId":"req-1"}',
  );
  assert.ok(Object.isFrozen(record) && Object.isFrozen(record.identity) && Object.isFrozen(record.target));
});

Deno.test("buildAuditRecord for a denied request has a reason and no replica counts", () => {
  const record = buildAuditRecord({
    identity: alice,
    action: "scale",
    target: { namespace: "prod", name: "api" },
    outcome: "denied",
    status: 403,
    reason: "alice may not scale in prod",
    requestId: "req-2",
  }, FIXED);
  assert.equal(record.reason, "alice may not scale in prod");
  assert.deepEqual(Object.keys(record), ["audit", "time", "identity", "action", "target", "outcome", "status", "reason", "requestId"]);
});

Deno.test("buildAuditRecord for a list read names the namespace only", () => {
  const record = buildAuditRecord({
    identity: alice,
    action: "read",
    target: { namespace: "*" },
    outcome: "denied",
    status: 403,
    requestId: "r",
  }, FIXED);
  assert.deepEqual(record.target, { namespace: "*" });
});

Deno.test("buildAuditRecord records a 202 write as accepted", () => {
  const record = buildAuditRecord({ ...SCALED, outcome: "accepted", status: 202 }, FIXED);
  assert.equal(record.outcome, "accepted");
  assert.equal(record.status, 202);
});

Deno.test("buildAuditRecord copies the identity rather than holding on to it", () => {
  const organizations = ["sre"];
  const record = buildAuditRecord({ ...SCALED, identity: { cn: "x", organizations, fingerprint256: "F" } }, FIXED);
  organizations.push("admins");
  assert.deepEqual(record.identity.organizations, ["sre"]);
});

Deno.test("buildAuditRecord bounds the reason", () => {
  const record = buildAuditRecord({ ...SCALED, outcome: "failed", status: 502, reason: "x".repeat(5000) }, FIXED);
  assert.equal(record.reason!.length, MAX_REASON_LENGTH + 1);
  assert.ok(record.reason!.endsWith("…"));
});

Deno.test("buildAuditRecord for a rollout operation carries what it changed as before and after", () => {
  const record = buildAuditRecord({
    identity: alice,
    action: "image",
    target: { namespace: "demo", name: "web" },
    outcome: "succeeded",
    status: 200,
    before: "registry.internal/app:1.2",
    after: "registry.internal/app:1.3",
    dryRun: true,
    requestId: "req-3",
  }, FIXED);
  assert.deepEqual(Object.keys(record), [
    "audit",
    "time",
    "identity",
    "action",
    "target",
    "outcome",
    "status",
    "before",
    "after",
    "dryRun",
    "requestId",
  ]);
  assert.equal(record.before, "registry.internal/app:1.2");
  assert.equal(record.after, "registry.internal/app:1.3");
});

Deno.test("buildAuditRecord knows every action: each permission, and resume beside pause", () => {
  for (const action of ["read", "scale", "restart", "pause", "resume", "undo", "image"] as const) {
    assert.equal(buildAuditRecord({ ...SCALED, action }, FIXED).action, action);
  }
});

Deno.test("buildAuditRecord bounds before and after like the reason", () => {
  const record = buildAuditRecord({ ...SCALED, action: "image", before: "b".repeat(5000), after: "a".repeat(5000) }, FIXED);
  assert.equal(record.before!.length, MAX_REASON_LENGTH + 1);
  assert.ok(record.after!.endsWith("…"));
});

Deno.test("buildAuditRecord uses the current time by default", () => {
  const before = Date.now();
  const time = Date.parse(buildAuditRecord(SCALED).time);
  assert.ok(time >= before && time <= Date.now());
});

Deno.test("buildAuditRecord refuses values that would make a misleading record", async (t) => {
  const bad: [string, Partial<AuditEvent> & Record<string, unknown>][] = [
    ["status out of range", { status: 42 }],
    ["status not an integer", { status: 200.5 }],
    ["unknown outcome", { outcome: "maybe" as never }],
    ["unknown action", { action: "delete" as never }],
    ["negative replicas", { replicasBefore: -1 }],
    ["fractional replicas", { replicasAfter: 1.5 }],
    ["before not a string", { before: 3 as never }],
    ["after not a string", { after: { image: "x" } as never }],
  ];
  for (const [name, change] of bad) {
    await t.step(name, () => assert.throws(() => buildAuditRecord({ ...SCALED, ...change } as AuditEvent, FIXED), TypeError));
  }
});
