/**
 * restart, pause, resume, undo and set-image end to end: the CLI in-process against a fake API behind the real mTLS
 * listener. The request each sends, what it prints for 200, 202, changed:false and a dry run, -o json, and the
 * refusals with their exit codes.
 */
import assert from "node:assert/strict";
import { cli, type FakeApi, type FakeHandler, json, problem, startFakeApi } from "./_fake_api.ts";

async function withApi(handler: FakeHandler, body: (api: FakeApi) => Promise<void>): Promise<void> {
  const fake = await startFakeApi(handler);
  try {
    await body(fake);
  } finally {
    await fake.close();
  }
}

const B = "/api/v1/namespaces/demo/deployments/web";
const at = { namespace: "demo", name: "web" };
const restarted = { ...at, changed: true, restartedAt: "2026-12-07T13:10:00Z" };
const imaged = { ...at, changed: true, container: "web", image: "app:1.3", previousImage: "app:1.2" };
const undone = { ...at, changed: true, fromRevision: 3, toRevision: 2, images: [{ container: "web", image: "app:1.2" }] };

Deno.test("restart POSTs .../restart without a body and says the rollout started", async () => {
  await withApi(() => json(restarted, 200, { etag: '"901"' }), async (fake) => {
    const run = await cli(["restart", "demo/web"], fake.env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "demo/web: restarted at 2026-12-07T13:10:00Z (rollout started)");
    const [post] = fake.requests;
    assert.equal(post.method, "POST");
    assert.equal(post.target, `${B}/restart`);
    assert.equal(post.body, "");
    assert.equal(post.headers.get("if-match"), null);
    assert.equal(post.headers.get("content-type"), null, "no body, so no content type");
    assert.equal(fake.requests.length, 1);
  });
});

Deno.test("pause and resume POST .../pause and .../resume", async () => {
  const answers: Record<string, Response> = {
    [`${B}/pause`]: json({ ...at, changed: true, paused: true }),
    [`${B}/resume`]: json({ ...at, changed: true, paused: false }),
  };
  await withApi((r) => answers[r.target] ?? problem(404, "Not Found", `no such endpoint: ${r.target}`), async (fake) => {
    const pause = await cli(["pause", "demo/web"], fake.env);
    assert.equal(pause.code, 0, pause.stderr);
    assert.equal(pause.stdout, "demo/web: paused (rollouts held until resume)");
    const resume = await cli(["resume", "demo/web"], fake.env);
    assert.equal(resume.code, 0, resume.stderr);
    assert.equal(resume.stdout, "demo/web: resumed (rollouts proceed)");
    assert.deepEqual(fake.requests.map((r) => `${r.method} ${r.target} ${JSON.stringify(r.body)}`), [
      `POST ${B}/pause ""`,
      `POST ${B}/resume ""`,
    ]);
  });
});

Deno.test("set-image PUTs the image of the one container as JSON and prints old → new", async () => {
  await withApi(() => json(imaged, 200, { etag: '"902"' }), async (fake) => {
    const run = await cli(["set-image", "demo/web", "web=app:1.3"], fake.env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "demo/web: image web app:1.2 → app:1.3 (rollout started)");
    const [put] = fake.requests;
    assert.equal(put.method, "PUT");
    assert.equal(put.target, `${B}/containers/web/image`);
    assert.equal(put.headers.get("content-type"), "application/json");
    assert.deepEqual(JSON.parse(put.body), { image: "app:1.3" });
  });
});

Deno.test("set-image sends the container name percent-encoded, so no name can change the path", async () => {
  await withApi(() => problem(400, "Bad Request", "invalid container name"), async (fake) => {
    const run = await cli(["set-image", "demo/web", "we b/../x?y=app:1.3"], fake.env);
    assert.equal(run.code, 1);
    assert.equal(fake.requests[0].target, `${B}/containers/we%20b%2F..%2Fx%3Fy/image`);
    assert.deepEqual(JSON.parse(fake.requests[0].body), { image: "app:1.3" });
  });
});

Deno.test("undo POSTs .../undo: no body for the previous revision, {toRevision} with --to-revision", async () => {
  await withApi(() => json(undone), async (fake) => {
    const previous = await cli(["undo", "demo/web"], fake.env);
    assert.equal(previous.code, 0, previous.stderr);
    assert.equal(previous.stdout, "demo/web: undo to revision 2 (web=app:1.2) from revision 3 (rollout started)");
    const to = await cli(["undo", "demo/web", "--to-revision", "2"], fake.env);
    assert.equal(to.code, 0, to.stderr);
    const [first, second] = fake.requests;
    assert.equal(`${first.method} ${first.target}`, `POST ${B}/undo`);
    assert.equal(first.body, "");
    assert.equal(`${second.method} ${second.target}`, `POST ${B}/undo`);
    assert.equal(second.headers.get("content-type"), "application/json");
    assert.deepEqual(JSON.parse(second.body), { toRevision: 2 });
  });
});

Deno.test("every rollout write passes --if-match as If-Match and --dry-run as ?dryRun=true", async (t) => {
  const writes: [string[], string, unknown, string][] = [
    [["restart", "demo/web"], `POST ${B}/restart`, restarted, "demo/web: would restart (dry run: nothing changed)"],
    [["pause", "demo/web"], `POST ${B}/pause`, { ...at, changed: true, paused: true }, "demo/web: would pause (dry run: nothing changed)"],
    [
      ["resume", "demo/web"],
      `POST ${B}/resume`,
      { ...at, changed: true, paused: false },
      "demo/web: would resume (dry run: nothing changed)",
    ],
    [
      ["set-image", "demo/web", "web=app:1.3"],
      `PUT ${B}/containers/web/image`,
      imaged,
      "demo/web: image web app:1.2 → app:1.3 (dry run: nothing changed)",
    ],
    [
      ["undo", "demo/web", "--to-revision", "2"],
      `POST ${B}/undo`,
      undone,
      "demo/web: undo to revision 2 (web=app:1.2) from revision 3 (dry run: nothing changed)",
    ],
  ];
  for (const [argv, request, body, line] of writes) {
    await t.step(argv[0], async () => {
      await withApi(() => json({ ...body as object, dryRun: true }), async (fake) => {
        const run = await cli([...argv, "--if-match", "811", "--dry-run"], fake.env);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stdout, line);
        assert.equal(`${fake.requests[0].method} ${fake.requests[0].target}`, `${request}?dryRun=true`);
        assert.equal(fake.requests[0].headers.get("if-match"), '"811"');
      });
    });
  }
});

Deno.test("a write the service's cache has not seen yet (202) is said to be accepted, not yet observed", async () => {
  await withApi(() => json(imaged, 202, { etag: '"902"' }), async (fake) => {
    const run = await cli(["set-image", "demo/web", "web=app:1.3"], fake.env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "demo/web: image web app:1.2 → app:1.3 (accepted, not yet observed)");
  });
});

Deno.test("a write that finds the Deployment already as asked says nothing changed", async (t) => {
  const cases: [string[], unknown, string][] = [
    [
      ["set-image", "demo/web", "web=app:1.3"],
      { ...imaged, changed: false, previousImage: "app:1.3" },
      "demo/web: already running app:1.3, nothing changed",
    ],
    [["pause", "demo/web"], { ...at, changed: false, paused: true }, "demo/web: already paused, nothing changed"],
    [["resume", "demo/web"], { ...at, changed: false, paused: false }, "demo/web: not paused, nothing changed"],
    [
      ["undo", "demo/web", "--to-revision", "3"],
      { ...undone, changed: false, fromRevision: 3, toRevision: 3, images: [{ container: "web", image: "app:1.3" }] },
      "demo/web: already at the template of revision 3 (web=app:1.3), nothing changed",
    ],
  ];
  for (const [argv, body, line] of cases) {
    await t.step(argv[0], async () => {
      await withApi(() => json(body), async (fake) => {
        const run = await cli(argv, fake.env);
        assert.equal(run.code, 0, run.stderr);
        assert.equal(run.stdout, line);
      });
    });
  }
});

Deno.test("-o json prints each write's answer as the API sent it", async (t) => {
  const cases: [string[], unknown][] = [
    [["restart", "demo/web"], { ...restarted, previousRestartedAt: "2026-12-01T09:00:00Z" }],
    [["pause", "demo/web"], { ...at, changed: true, paused: true }],
    [["set-image", "demo/web", "web=app:1.3"], imaged],
    [["undo", "demo/web"], undone],
  ];
  for (const [argv, body] of cases) {
    await t.step(argv[0], async () => {
      await withApi(() => json(body), async (fake) => {
        const run = await cli([...argv, "-o", "json"], fake.env);
        assert.equal(run.code, 0, run.stderr);
        assert.deepEqual(JSON.parse(run.stdout), body);
        assert.equal(run.stderr, "");
      });
    });
  }
});

Deno.test("refusals print the problem detail with the exit codes of scale", async (t) => {
  const paused = 'deployment "demo/web" is paused; resume it first: POST /api/v1/namespaces/demo/deployments/web/resume';
  const cases: [string, string[], Response, number, string][] = [
    [
      "restart of a paused Deployment: 409, exit 3, with the command that resumes it",
      ["restart", "demo/web"],
      problem(409, "Conflict", paused),
      3,
      `error: ${paused} (409 Conflict)\nhint: replica-api resume demo/web resumes it; then run restart again`,
    ],
    [
      "undo of a paused Deployment: the same",
      ["undo", "demo/web"],
      problem(409, "Conflict", paused),
      3,
      `error: ${paused} (409 Conflict)\nhint: replica-api resume demo/web resumes it; then run undo again`,
    ],
    [
      "undo without a previous revision: 409, exit 3, no resume hint",
      ["undo", "demo/web"],
      problem(409, "Conflict", 'deployment "demo/web" has no previous revision to undo to (it has only revision 1)'),
      3,
      'error: deployment "demo/web" has no previous revision to undo to (it has only revision 1) (409 Conflict)',
    ],
    [
      "undo to an unknown revision: 404, exit 1",
      ["undo", "demo/web", "--to-revision", "9"],
      problem(404, "Not Found", 'deployment "demo/web" has no revision 9; its revisions: 1, 2, 3'),
      1,
      'error: deployment "demo/web" has no revision 9; its revisions: 1, 2, 3 (404 Not Found)',
    ],
    [
      "an unknown container: 404, exit 1",
      ["set-image", "demo/web", "wbe=app:1.3"],
      problem(404, "Not Found", 'deployment "demo/web" has no container "wbe"; its containers: web, envoy, migrate (init)'),
      1,
      'error: deployment "demo/web" has no container "wbe"; its containers: web, envoy, migrate (init) (404 Not Found)',
    ],
    [
      "an image outside the allowed patterns: 403, exit 1",
      ["set-image", "demo/web", "web=docker.io/evil:1"],
      problem(403, "Forbidden", 'CN=alice may not set image "docker.io/evil:1" in demo; allowed: registry.internal/*'),
      1,
      'error: CN=alice may not set image "docker.io/evil:1" in demo; allowed: registry.internal/* (403 Forbidden)',
    ],
    [
      "an untagged image: 400, exit 1",
      ["set-image", "demo/web", "web=app"],
      problem(400, "Bad Request", 'image "app" has neither tag nor digest: an untagged image means :latest, which moves'),
      1,
      'error: image "app" has neither tag nor digest: an untagged image means :latest, which moves (400 Bad Request)',
    ],
    [
      "an operation not enabled: 501, exit 1",
      ["undo", "demo/web"],
      problem(
        501,
        "Not Implemented",
        "the undo operation is not enabled on this replica-api (OPERATIONS=scale); enable it with the chart value operations: [scale, undo]",
      ),
      1,
      "error: the undo operation is not enabled on this replica-api (OPERATIONS=scale); enable it with the chart value " +
      "operations: [scale, undo] (501 Not Implemented)",
    ],
    [
      "a stale --if-match: 412, exit 3",
      ["pause", "demo/web", "--if-match", "811"],
      problem(412, "Precondition Failed", 'If-Match "811" does not match the current resourceVersion "900"'),
      3,
      'error: If-Match "811" does not match the current resourceVersion "900" (412 Precondition Failed)',
    ],
    [
      "a service from before these routes: 404 from the router, with a hint",
      ["restart", "demo/web"],
      problem(404, "Not Found", `no such endpoint: ${B}/restart`),
      1,
      `error: no such endpoint: ${B}/restart (404 Not Found)\n` +
      "hint: the service at --url may be older than the rollout operations (restart, pause, resume, undo, set-image, history)",
    ],
  ];
  for (const [name, argv, answer, code, stderr] of cases) {
    await t.step(name, async () => {
      await withApi(() => answer, async (fake) => {
        const run = await cli(argv, fake.env);
        assert.equal(run.code, code);
        assert.equal(run.stdout, "");
        assert.equal(run.stderr, stderr);
      });
    });
  }
});

Deno.test("a bad rollout command line exits 2 before any connection", async () => {
  const connect = () => Promise.reject(new Error("must not connect"));
  const two = await cli(["set-image", "demo/web", "web=app:1.3", "envoy=envoy:1.30"], {}, { connect });
  assert.equal(two.code, 2);
  assert.match(two.stderr, /^error: set-image takes exactly one CONTAINER=IMAGE, got 2 .*\nRun 'replica-api help' for usage\.$/);
  const pause = await cli(["pause", "demo/web", "--wait"], {}, { connect });
  assert.equal(pause.code, 2);
  assert.match(pause.stderr, /^error: --wait does not apply to pause/);
  const revision = await cli(["undo", "demo/web", "--to-revision", "0"], {}, { connect });
  assert.equal(revision.code, 2);
});

Deno.test("help describes each rollout command, and the overview lists them", async () => {
  const connect = () => Promise.reject(new Error("must not connect"));
  const overview = await cli(["help"], {}, { connect });
  for (
    const line of [
      "restart NAMESPACE/NAME",
      "pause NAMESPACE/NAME",
      "resume NAMESPACE/NAME",
      "undo NAMESPACE/NAME",
      "history NAMESPACE/NAME",
    ]
  ) {
    assert.match(overview.stdout, new RegExp(`^  ${line.replace("/", "\\/")} `, "m"));
  }
  assert.match(overview.stdout, /^ {2}set-image NAMESPACE\/NAME C=I /m);
  const usages: [string, RegExp][] = [
    ["restart", /^Usage: replica-api restart NAMESPACE\/NAME \[--wait \[--timeout 60s\]\] \[--if-match ETAG\] \[--dry-run\]/],
    ["pause", /^Usage: replica-api pause NAMESPACE\/NAME \[--if-match ETAG\] \[--dry-run\] \[-o table\|json\]\n[^]*no --wait/],
    ["resume", /^Usage: replica-api resume NAMESPACE\/NAME \[--wait/],
    ["undo", /^Usage: replica-api undo NAMESPACE\/NAME \[--to-revision N\] \[--wait/],
    ["set-image", /^Usage: replica-api set-image NAMESPACE\/NAME CONTAINER=IMAGE \[--wait[^]*One CONTAINER=IMAGE per run/],
    ["history", /^Usage: replica-api history NAMESPACE\/NAME \[-o table\|json\]\n[^]*REVISION, CURRENT/],
  ];
  for (const [topic, usage] of usages) {
    const help = await cli([topic, "--help"], {}, { connect });
    assert.equal(help.code, 0);
    assert.match(help.stdout, usage);
    assert.match(help.stdout, /Exit codes: 0 ok, 1 error, 2 usage, 3 precondition failed \(412\) or conflict \(409\)/);
  }
});
