/**
 * The per-request checks: rate limit (429), then policy (403), then the
 * concurrency cap (503), with audit records for refusals and scale outcomes.
 */
import assert from "node:assert/strict";
import { createAuthorizer, createRequestGuard, parsePolicy } from "../../../src/authz/mod.ts";
import { createApp, createRouter, type GuardedRequest, jsonResponse, type RequestGuard } from "../../../src/http/mod.ts";
import { HttpError } from "../../../src/http/http_error.ts";
import { createConcurrencyLimiter, createRateLimiter } from "../../../src/limits/mod.ts";
import { createLogger } from "../../../src/observability/logger.ts";
import type { ClientIdentity } from "../../../src/http/types.ts";

const alice: ClientIdentity = Object.freeze({ cn: "alice", organizations: Object.freeze(["sre"]), fingerprint256: "AA:01" });
const bob: ClientIdentity = Object.freeze({ cn: "bob", organizations: Object.freeze([]), fingerprint256: "BB:02" });

const authorizer = createAuthorizer(parsePolicy(
  JSON.stringify({
    rules: [
      { subjects: [{ group: "sre" }], permissions: { read: ["*"], scale: ["demo"] } },
      { subjects: [{ cn: "bob" }], permissions: { read: ["web"] } },
      { subjects: [{ group: "sre" }], permissions: { restart: ["demo"], pause: ["demo"], undo: ["demo"], image: ["demo"] } },
    ],
  }),
  "policy.json",
));

function setup(limits: { reads?: number; writes?: number; concurrent?: number } = {}) {
  const logs: Record<string, unknown>[] = [];
  const counted: string[] = [];
  let t = 0;
  const guard: RequestGuard = createRequestGuard({
    authorizer,
    reads: limits.reads ? createRateLimiter({ ratePerSecond: 1, burst: limits.reads, now: () => t }) : undefined,
    writes: limits.writes ? createRateLimiter({ ratePerSecond: 1, burst: limits.writes, now: () => t }) : undefined,
    concurrency: limits.concurrent ? createConcurrencyLimiter({ max: limits.concurrent }) : undefined,
    log: createLogger({ sink: (line) => logs.push(JSON.parse(line)), now: () => new Date("2026-11-21T10:00:00Z") }),
    metrics: {
      authzDenied: (identity, permission) => counted.push(`denied ${identity} ${permission}`),
      rateLimited: (identity, limit) => counted.push(`limited ${identity} ${limit}`),
    },
    now: () => new Date("2026-11-21T10:00:00Z"),
  });
  return { guard, logs, counted, audits: () => logs.filter((l) => l.audit === true), advance: (ms: number) => t += ms };
}

const readDemo = (client: ClientIdentity = alice): GuardedRequest => ({
  method: "GET",
  permission: "read",
  namespace: "demo",
  name: "web",
  client,
  requestId: "r1",
});
const scale = (namespace: string | undefined, client: ClientIdentity = alice): GuardedRequest => ({
  method: "PUT",
  permission: "scale",
  namespace,
  name: "web",
  client,
  requestId: "r2",
});

function refusal(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  assert.fail("expected an HttpError");
}

Deno.test("requests the policy allows are admitted", () => {
  const { guard, audits } = setup();
  guard.admit(readDemo())(new Response());
  guard.admit(scale("demo"))(new Response());
  guard.admit({ ...readDemo(bob), namespace: "web" })(new Response());
  assert.equal(audits().length, 0, "allowed requests leave no audit record at admission");
});

Deno.test("a read outside the client's namespaces is refused with 403, audited and counted", () => {
  const { guard, audits, counted } = setup();
  const error = refusal(() => guard.admit(readDemo(bob)));
  assert.equal(error.status, 403);
  assert.equal(error.detail, `CN=bob may not read in namespace "demo"`);
  assert.deepEqual(counted, ["denied bob read"]);
  assert.deepEqual(audits(), [{
    time: "2026-11-21T10:00:00.000Z",
    level: "info",
    msg: "audit",
    audit: true,
    identity: { cn: "bob", organizations: [], fingerprint256: "BB:02" },
    action: "read",
    target: { namespace: "demo", name: "web" },
    outcome: "denied",
    status: 403,
    reason: `CN=bob may not read in namespace "demo"`,
    requestId: "r1",
  }]);
});

Deno.test("a scale outside the client's namespaces is refused with 403 and audited", () => {
  const { guard, audits } = setup();
  const error = refusal(() => guard.admit(scale("prod")));
  assert.equal(error.status, 403);
  assert.equal(error.detail, `CN=alice, O=sre may not scale in namespace "prod"`);
  assert.equal(audits()[0].action, "scale");
  assert.equal(audits()[0].outcome, "denied");
});

Deno.test("without a namespace, a read is admitted (the handler filters) and a scale needs '*'", () => {
  const { guard } = setup();
  guard.admit({ method: "GET", permission: "read", client: bob, requestId: "r" })(new Response());
  assert.equal(refusal(() => guard.admit(scale(undefined))).detail, "CN=alice, O=sre may not scale in every namespace");
});

Deno.test("routes without a permission need only a certificate, and nothing is checked off the mTLS listener", () => {
  const { guard } = setup({ concurrent: 1 });
  const mallory = Object.freeze({ cn: "mallory", organizations: Object.freeze([]), fingerprint256: "CC" });
  guard.admit({ method: "GET", client: mallory, requestId: "r" })(new Response());
  guard.admit({ method: "GET", permission: "scale", namespace: "prod", requestId: "r" })(new Response());
});

Deno.test("a client over its read limit gets 429 with Retry-After, counted but not audited", () => {
  const { guard, audits, counted } = setup({ reads: 2 });
  guard.admit(readDemo())(new Response());
  guard.admit(readDemo())(new Response());
  const error = refusal(() => guard.admit(readDemo()));
  assert.equal(error.status, 429);
  assert.equal(error.headers["retry-after"], "1");
  assert.match(error.detail, /rate limit for reads exceeded for this client certificate \(1\/s, bursts of 2\); retry in 1 s/);
  assert.deepEqual(counted, ["limited alice read"]);
  assert.equal(audits().length, 0);
  guard.admit({ ...readDemo(bob), namespace: "web" })(new Response()); // bob has his own budget
});

Deno.test("a client over its write limit gets 429 and the refused scale is audited", () => {
  const { guard, audits, advance } = setup({ writes: 1 });
  guard.admit(scale("demo"))(new Response());
  const error = refusal(() => guard.admit(scale("demo")));
  assert.equal(error.status, 429);
  assert.equal(audits()[0].status, 429);
  assert.equal(audits()[0].outcome, "denied");
  advance(1000);
  guard.admit(scale("demo"))(new Response());
});

Deno.test("the 429 detail states the rate in the unit it was most likely configured in", () => {
  const cases: [number, string][] = [[2, "2/s"], [0.5, "30/min"], [1 / 60, "1/min"], [1 / 3600, "1/h"], [1 / 7, "0.143/s"]];
  for (const [ratePerSecond, shown] of cases) {
    const guard = createRequestGuard({
      authorizer,
      reads: createRateLimiter({ ratePerSecond, burst: 1, now: () => 0 }),
      log: createLogger({ sink: () => {} }),
    });
    guard.admit(readDemo())(new Response());
    assert.match(refusal(() => guard.admit(readDemo())).detail, new RegExp(`\\(${shown.replace(".", "\\.")}, bursts of 1\\)`));
  }
});

Deno.test("reads and writes have separate budgets", () => {
  const { guard } = setup({ reads: 1, writes: 1 });
  guard.admit(readDemo())(new Response());
  assert.equal(refusal(() => guard.admit(readDemo())).status, 429);
  guard.admit(scale("demo"))(new Response());
});

Deno.test("the rate limit applies before the policy, so refused probing is limited too", () => {
  const { guard } = setup({ reads: 2 });
  assert.equal(refusal(() => guard.admit(readDemo(bob))).status, 403);
  assert.equal(refusal(() => guard.admit(readDemo(bob))).status, 403);
  assert.equal(refusal(() => guard.admit(readDemo(bob))).status, 429);
});

Deno.test("over the concurrency cap requests get 503; refused requests never hold a slot", () => {
  const { guard } = setup({ concurrent: 1 });
  const release = guard.admit(readDemo());
  const error = refusal(() => guard.admit(readDemo()));
  assert.equal(error.status, 503);
  assert.equal(error.headers["retry-after"], "1");
  release(new Response());
  assert.equal(refusal(() => guard.admit(readDemo(bob))).status, 403);
  guard.admit(readDemo())(new Response()); // the 403 took no slot
});

Deno.test("the end of an admitted scale records its outcome from its response", async (t) => {
  await t.step("200: succeeded, with the counts before and after", async () => {
    const { guard, audits } = setup();
    const response = Response.json({ namespace: "demo", name: "web", replicas: 5, previousReplicas: 2 });
    await guard.admit(scale("demo"))(response);
    assert.deepEqual(
      { outcome: audits()[0].outcome, status: audits()[0].status, before: audits()[0].replicasBefore, after: audits()[0].replicasAfter },
      { outcome: "succeeded", status: 200, before: 2, after: 5 },
    );
    assert.deepEqual(await response.json(), { namespace: "demo", name: "web", replicas: 5, previousReplicas: 2 }, "body untouched");
  });
  await t.step("202: accepted", async () => {
    const { guard, audits } = setup();
    await guard.admit(scale("demo"))(Response.json({ replicas: 5, previousReplicas: 2 }, { status: 202 }));
    assert.equal(audits()[0].outcome, "accepted");
  });
  await t.step("409: failed, with the problem detail as reason", async () => {
    const { guard, audits } = setup();
    const problem = {
      type: "about:blank",
      title: "Conflict",
      status: 409,
      detail: "Kubernetes API conflict: the object has been modified",
    };
    await guard.admit(scale("demo"))(new Response(JSON.stringify(problem), { status: 409 }));
    assert.equal(audits()[0].outcome, "failed");
    assert.equal(audits()[0].reason, problem.detail);
    assert.equal(audits()[0].replicasBefore, undefined);
  });
  await t.step("a body that is not JSON still gives a record", async () => {
    const { guard, audits } = setup();
    await guard.admit(scale("demo"))(new Response("oops", { status: 500 }));
    assert.equal(audits()[0].outcome, "failed");
    assert.equal(audits()[0].status, 500);
  });
});

Deno.test("the audit of a scale marks forced and dry-run scales from the request, whatever the outcome", async (t) => {
  const withUrl = (query: string): GuardedRequest => ({
    ...scale("demo"),
    url: `https://localhost/api/v1/namespaces/demo/deployments/web/replicas${query}`,
  });
  await t.step("?force=true on a success: forced", async () => {
    const { guard, audits } = setup();
    await guard.admit(withUrl("?force=true"))(Response.json({ replicas: 5, previousReplicas: 2 }));
    assert.equal(audits()[0].forced, true);
    assert.equal("dryRun" in audits()[0], false);
  });
  await t.step("?dryRun=true: dry run", async () => {
    const { guard, audits } = setup();
    await guard.admit(withUrl("?dryRun=true&force=false"))(Response.json({ replicas: 5, previousReplicas: 2, dryRun: true }));
    assert.equal(audits()[0].dryRun, true);
    assert.equal(audits()[0].outcome, "succeeded");
    assert.equal("forced" in audits()[0], false, "force=false is not forced");
  });
  await t.step("a failed forced attempt is still recorded as forced", async () => {
    const { guard, audits } = setup();
    const problem = { type: "about:blank", title: "Precondition Failed", status: 412, detail: "If-Match does not match" };
    await guard.admit(withUrl("?force=true"))(new Response(JSON.stringify(problem), { status: 412 }));
    assert.equal(audits()[0].outcome, "failed");
    assert.equal(audits()[0].forced, true);
  });
  await t.step("no query: neither key", async () => {
    const { guard, audits } = setup();
    await guard.admit(withUrl(""))(Response.json({ replicas: 5, previousReplicas: 2 }));
    assert.equal("forced" in audits()[0] || "dryRun" in audits()[0], false);
  });
});

/** A write of one of the rollout operations, as the app hands it to the guard after routing. */
const write = (route: string, permission: string, query = "", client: ClientIdentity = alice, namespace = "demo"): GuardedRequest => ({
  method: route === "set_image" || route === "set_image_wait_rollout" ? "PUT" : "POST",
  route,
  permission,
  namespace,
  name: "web",
  client,
  requestId: "r3",
  url: `https://localhost/api/v1/namespaces/${namespace}/deployments/web/x${query}`,
});

Deno.test("the end of each rollout operation records what it changed, from its response body", async (t) => {
  const cases: [string, string, Record<string, unknown>, { action: string; before?: string; after?: string }][] = [
    [
      "set_image",
      "image",
      { container: "web", image: "registry.internal/app:1.3", previousImage: "registry.internal/app:1.2", changed: true },
      { action: "image", before: "registry.internal/app:1.2", after: "registry.internal/app:1.3" },
    ],
    [
      "undo_deployment",
      "undo",
      { fromRevision: 3, toRevision: 2, images: [{ container: "web", image: "app:1.2" }], changed: true },
      { action: "undo", before: "revision 3", after: "revision 2" },
    ],
    ["pause_deployment", "pause", { paused: true, changed: true }, { action: "pause", before: "paused=false", after: "paused=true" }],
    ["resume_deployment", "pause", { paused: false, changed: true }, { action: "resume", before: "paused=true", after: "paused=false" }],
    [
      "resume_deployment_wait_rollout",
      "pause",
      { paused: false, changed: true, rollout: {} },
      { action: "resume", before: "paused=true", after: "paused=false" },
    ],
    ["resume_deployment", "pause", { paused: false, changed: false }, { action: "resume", before: "paused=false", after: "paused=false" }],
    [
      "restart_deployment",
      "restart",
      { restartedAt: "2026-12-07T10:00:00Z", previousRestartedAt: "2026-12-01T08:00:00Z", changed: true },
      { action: "restart", before: "2026-12-01T08:00:00Z", after: "2026-12-07T10:00:00Z" },
    ],
    ["restart_deployment", "restart", { restartedAt: "2026-12-07T10:00:00Z", changed: true }, {
      action: "restart",
      after: "2026-12-07T10:00:00Z",
    }],
    ["undo_deployment", "undo", { fromRevision: "3", toRevision: null }, { action: "undo" }],
    ["pause_deployment", "pause", { paused: "yes" }, { action: "pause" }],
  ];
  for (const [route, permission, body, expected] of cases) {
    await t.step(`${route} ${JSON.stringify(body)}`, async () => {
      const { guard, audits } = setup();
      await guard.admit(write(route, permission))(Response.json({ namespace: "demo", name: "web", ...body }));
      const record = audits()[0];
      assert.equal(record.outcome, "succeeded");
      const present = Object.entries({ action: record.action, before: record.before, after: record.after }).filter(([, v]) =>
        v !== undefined
      );
      assert.deepEqual(Object.fromEntries(present), expected);
      assert.equal("replicasBefore" in record || "replicasAfter" in record, false, "replica counts belong to a scale");
    });
  }
});

Deno.test("a write that fails records neither before nor after, only the reason", async () => {
  const { guard, audits } = setup();
  const problem = { status: 409, detail: `deployment demo/web is paused; resume it first: POST .../resume` };
  await guard.admit(write("undo_deployment", "undo"))(Response.json(problem, { status: 409 }));
  assert.deepEqual(
    { outcome: audits()[0].outcome, reason: audits()[0].reason, before: audits()[0].before, after: audits()[0].after },
    { outcome: "failed", reason: problem.detail, before: undefined, after: undefined },
  );
});

Deno.test("every write's audit notes a dry run; only a scale's notes force", async () => {
  for (const [route, permission] of [["restart_deployment", "restart"], ["set_image", "image"], ["resume_deployment", "pause"]]) {
    const { guard, audits } = setup();
    await guard.admit(write(route, permission, "?dryRun=true&force=true"))(Response.json({ changed: true, dryRun: true }));
    assert.equal(audits()[0].dryRun, true, route);
    assert.equal("forced" in audits()[0], false, `${route}: force is not a parameter of it`);
  }
  const { guard, audits } = setup();
  await guard.admit(write("undo_deployment", "undo", "?dryRun=false"))(Response.json({ fromRevision: 2, toRevision: 1 }));
  assert.equal("dryRun" in audits()[0], false);
});

Deno.test("a resume is refused and audited as a resume, and the refusal names the permission it takes", () => {
  const { guard, audits, counted } = setup();
  const error = refusal(() => guard.admit(write("resume_deployment", "pause", "", bob, "web")));
  assert.equal(error.status, 403);
  assert.equal(error.detail, `CN=bob may not resume in namespace "web" (that takes the pause permission)`);
  assert.equal(audits()[0].action, "resume");
  assert.deepEqual(counted, ["denied bob pause"]);
  assert.equal(
    refusal(() => guard.admit(write("pause_deployment", "pause", "", bob, "web"))).detail,
    `CN=bob may not pause in namespace "web"`,
  );
});

Deno.test("each rollout operation needs its own permission in the namespace", () => {
  const { guard } = setup();
  for (const [route, permission] of [["restart_deployment", "restart"], ["undo_deployment", "undo"], ["set_image", "image"]]) {
    guard.admit(write(route, permission))(new Response());
    assert.equal(refusal(() => guard.admit(write(route, permission, "", alice, "prod"))).status, 403, route);
    assert.equal(refusal(() => guard.admit(write(route, permission, "", bob))).status, 403, `${route} for bob`);
  }
});

Deno.test("a 403 the handler answers after admission (an image outside the patterns) is audited as denied and counted", async () => {
  const { guard, audits, counted } = setup();
  const detail = `CN=alice, O=sre may not set image "quay.io/x:1" in namespace "demo"; allowed: registry.internal/*`;
  await guard.admit(write("set_image", "image"))(Response.json({ status: 403, detail }, { status: 403 }));
  assert.deepEqual(
    { outcome: audits()[0].outcome, status: audits()[0].status, action: audits()[0].action, reason: audits()[0].reason },
    { outcome: "denied", status: 403, action: "image", reason: detail },
  );
  assert.deepEqual(counted, ["denied alice image"]);
});

Deno.test("the app hands the guard the route's name, so a resume reaches the audit trail as one", async () => {
  const logs: Record<string, unknown>[] = [];
  const log = createLogger({ sink: (line) => logs.push(JSON.parse(line)) });
  const guard = createRequestGuard({ authorizer, log });
  const path = "/api/v1/namespaces/:namespace/deployments/:name";
  const router = createRouter([
    {
      method: "POST",
      path: `${path}/pause`,
      name: "pause_deployment",
      permission: "pause",
      handler: () => jsonResponse({ paused: true, changed: true }),
    },
    {
      method: "POST",
      path: `${path}/resume`,
      name: "resume_deployment",
      permission: "pause",
      handler: () => jsonResponse({ paused: false, changed: true }),
    },
  ]);
  const app = createApp({ router, log, accessLog: false, guard });
  for (const verb of ["pause", "resume"]) {
    const response = await app(new Request(`https://localhost/api/v1/namespaces/demo/deployments/web/${verb}`, { method: "POST" }), {
      remoteAddr: "127.0.0.1:1",
      params: {},
      client: alice,
    });
    await response.body?.cancel();
  }
  assert.deepEqual(logs.filter((l) => l.audit).map((l) => [l.action, l.before, l.after]), [
    ["pause", "paused=false", "paused=true"],
    ["resume", "paused=true", "paused=false"],
  ]);
});
