/** history end to end: GET .../revisions as a table or as the API's JSON, and its refusals. */
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

const revisions = {
  namespace: "demo",
  name: "web",
  currentRevision: 2,
  revisions: [
    {
      revision: 1,
      replicaSet: "web-6d4f",
      images: [{ container: "web", image: "app:1.2" }],
      created: "2026-12-01T09:00:00Z",
      current: false,
      replicas: 0,
    },
    {
      revision: 2,
      replicaSet: "web-7b9c",
      images: [{ container: "web", image: "app:1.3" }],
      changeCause: "image web: app:1.2 → app:1.3 by CN=alice (O=sre) via replica-api",
      created: "2026-12-07T13:10:00Z",
      current: true,
      replicas: 3,
    },
  ],
};

Deno.test("history GETs .../revisions and prints them as kubectl rollout history does, with images and the current one", async () => {
  await withApi(() => json(revisions), async (fake) => {
    const run = await cli(["history", "demo/web"], fake.env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      [
        "REVISION   CURRENT   IMAGES        CHANGE-CAUSE                                                       CREATED                REPLICAS",
        "1                    web=app:1.2   <none>                                                             2026-12-01T09:00:00Z   0",
        "2          *         web=app:1.3   image web: app:1.2 → app:1.3 by CN=alice (O=sre) via replica-api   2026-12-07T13:10:00Z   3",
      ].join("\n"),
    );
    assert.equal(fake.requests.length, 1);
    assert.equal(fake.requests[0].method, "GET");
    assert.equal(fake.requests[0].target, "/api/v1/namespaces/demo/deployments/web/revisions");
  });
});

Deno.test("history -o json prints the API's answer", async () => {
  await withApi(() => json(revisions), async (fake) => {
    const run = await cli(["history", "demo/web", "-o", "json"], fake.env);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), revisions);
  });
});

Deno.test("history without revisions prints nothing on stdout and says so on stderr", async () => {
  await withApi(() => json({ ...revisions, revisions: [] }), async (fake) => {
    const run = await cli(["history", "demo/web"], fake.env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "");
    assert.equal(run.stderr, "No revisions of demo/web.");
  });
});

Deno.test("history refused prints the problem detail and exits 1", async (t) => {
  const cases: [string, Response, string][] = [
    [
      "revisions not kept on this server (501)",
      problem(
        501,
        "Not Implemented",
        "revisions need the undo operation, which is not enabled on this replica-api (OPERATIONS=scale); " +
          "enable it with the chart value operations: [scale, undo]",
      ),
      "error: revisions need the undo operation, which is not enabled on this replica-api (OPERATIONS=scale); " +
      "enable it with the chart value operations: [scale, undo] (501 Not Implemented)",
    ],
    [
      "an unknown Deployment (404)",
      problem(404, "Not Found", 'deployment "demo/web" not found'),
      'error: deployment "demo/web" not found (404 Not Found)',
    ],
    [
      "a server from before the revisions read (the router's 404), with a hint",
      problem(404, "Not Found", "no such endpoint: /api/v1/namespaces/demo/deployments/web/revisions"),
      "error: no such endpoint: /api/v1/namespaces/demo/deployments/web/revisions (404 Not Found)\n" +
      "hint: the service at --url may be older than the rollout operations (restart, pause, resume, undo, set-image, history)",
    ],
    [
      "an answer without a revisions list",
      json({ namespace: "demo", name: "web" }),
      'error: the API answered GET /api/v1/namespaces/demo/deployments/web/revisions without a "revisions" list',
    ],
  ];
  for (const [name, answer, stderr] of cases) {
    await t.step(name, async () => {
      await withApi(() => answer, async (fake) => {
        const run = await cli(["history", "demo/web"], fake.env);
        assert.equal(run.code, 1);
        assert.equal(run.stdout, "");
        assert.equal(run.stderr, stderr);
      });
    });
  }
});
