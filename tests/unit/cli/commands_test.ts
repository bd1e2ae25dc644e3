/** list, get and scale end to end: the CLI in-process against a fake API behind the real mTLS listener. */
import assert from "node:assert/strict";
import { cli, json, problem, VirtualClock, withFakeApi } from "./_fake_api.ts";

const web = { namespace: "demo", name: "web", replicas: 3, readyReplicas: 2, availableReplicas: 2, resourceVersion: "811" };
const api = { namespace: "payments", name: "api", replicas: 10, readyReplicas: 10, availableReplicas: 10, resourceVersion: "812" };

Deno.test("list prints an aligned table of every Deployment with the client certificate", async () => {
  await withFakeApi(() => json({ items: [web, api] }), async (fake) => {
    const run = await cli(["list"], fake.env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      [
        "NAMESPACE   NAME   REPLICAS   READY   AVAILABLE",
        "demo        web    3          2       2",
        "payments    api    10         10      10",
      ].join("\n"),
    );
    assert.equal(fake.requests[0].method, "GET");
    assert.equal(fake.requests[0].target, "/api/v1/deployments");
  });
});

Deno.test("list -n asks for one namespace and -o json prints the API's items", async () => {
  await withFakeApi(() => json({ items: [web] }), async (fake) => {
    const run = await cli(["list", "-n", "demo", "-o", "json"], fake.env);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { items: [web] });
    assert.equal(fake.requests[0].target, "/api/v1/namespaces/demo/deployments");
  });
});

Deno.test("list of an empty namespace prints nothing on stdout and says so on stderr", async () => {
  await withFakeApi(() => json({ items: [] }), async (fake) => {
    const run = await cli(["list", "-n", "empty"], fake.env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "");
    assert.equal(run.stderr, "No Deployments in empty.");
  });
});

Deno.test("get shows one Deployment with its resourceVersion; -o json prints it as the API sent it", async () => {
  await withFakeApi(() => json(web, 200, { etag: '"811"' }), async (fake) => {
    const table = await cli(["get", "demo/web"], fake.env);
    assert.equal(table.code, 0, table.stderr);
    assert.equal(
      table.stdout,
      "NAMESPACE   NAME   REPLICAS   READY   AVAILABLE   RESOURCEVERSION\ndemo        web    3          2       2           811",
    );
    const asJson = await cli(["get", "demo/web", "-o", "json"], fake.env);
    assert.deepEqual(JSON.parse(asJson.stdout), web);
    assert.equal(fake.requests[0].target, "/api/v1/namespaces/demo/deployments/web");
  });
});

Deno.test("get of a missing Deployment prints the problem detail and exits 1", async () => {
  await withFakeApi(() => problem(404, "Not Found", 'deployment "demo/ghost" not found'), async (fake) => {
    const run = await cli(["get", "demo/ghost"], fake.env);
    assert.equal(run.code, 1);
    assert.equal(run.stdout, "");
    assert.equal(run.stderr, 'error: deployment "demo/ghost" not found (404 Not Found)');
  });
});

Deno.test("names are sent percent-encoded, so no name can change the path", async () => {
  await withFakeApi(() => problem(400, "Bad Request", "invalid name"), async (fake) => {
    const run = await cli(["get", "demo/we b?x=1"], fake.env);
    assert.equal(run.code, 1);
    assert.equal(fake.requests[0].target, "/api/v1/namespaces/demo/deployments/we%20b%3Fx%3D1");
    assert.match(run.stderr, /invalid name \(400 Bad Request\)/);
  });
});

Deno.test("scale PUTs the count as JSON and prints the change", async () => {
  await withFakeApi(
    () => json({ namespace: "demo", name: "web", replicas: 5, previousReplicas: 3 }, 200, { etag: '"900"' }),
    async (fake) => {
      const run = await cli(["scale", "demo/web", "5"], fake.env);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, "demo/web scaled from 3 to 5 replicas");
      const [put] = fake.requests;
      assert.equal(put.method, "PUT");
      assert.equal(put.target, "/api/v1/namespaces/demo/deployments/web/replicas");
      assert.equal(put.headers.get("content-type"), "application/json");
      assert.equal(put.headers.get("if-match"), null);
      assert.deepEqual(JSON.parse(put.body), { replicas: 5 });
    },
  );
});

Deno.test("scale passes --if-match, --dry-run and --force to the API", async () => {
  await withFakeApi(() => json({ namespace: "demo", name: "web", replicas: 5, previousReplicas: 3 }), async (fake) => {
    const run = await cli(["scale", "demo/web", "5", "--if-match", "811", "--dry-run", "--force"], fake.env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, "demo/web would be scaled from 3 to 5 replicas (dry run: nothing was changed)");
    assert.equal(fake.requests[0].target, "/api/v1/namespaces/demo/deployments/web/replicas?dryRun=true&force=true");
    assert.equal(fake.requests[0].headers.get("if-match"), '"811"');
  });
});

Deno.test("scale with a stale --if-match exits 3 with the API's detail", async () => {
  await withFakeApi(
    () => problem(412, "Precondition Failed", 'If-Match "811" does not match the current resourceVersion "900"'),
    async (fake) => {
      const run = await cli(["scale", "demo/web", "5", "--if-match", '"811"'], fake.env);
      assert.equal(run.code, 3);
      assert.equal(run.stderr, 'error: If-Match "811" does not match the current resourceVersion "900" (412 Precondition Failed)');
    },
  );
});

Deno.test("scale refused because of an autoscaler exits 3 and says --force overrides it", async () => {
  const detail = 'deployment "demo/web" is scaled by the HorizontalPodAutoscaler "web-hpa" (2-10), which would undo the change';
  await withFakeApi(() => problem(409, "Conflict", detail), async (fake) => {
    const run = await cli(["scale", "demo/web", "20"], fake.env);
    assert.equal(run.code, 3);
    assert.equal(run.stderr, `error: ${detail} (409 Conflict)\nhint: --force scales anyway; the autoscaler may change it back`);
  });
});

Deno.test("scale rejected as invalid exits 1 with the detail, and 429 says when to retry", async () => {
  const answers = [
    problem(400, "Bad Request", "replicas must be at most 1000 (MAX_REPLICAS)"),
    problem(429, "Too Many Requests", 'rate limit "writes" exceeded for alice', { "retry-after": "2" }),
  ];
  await withFakeApi(() => answers.shift()!, async (fake) => {
    const invalid = await cli(["scale", "demo/web", "5000"], fake.env);
    assert.equal(invalid.code, 1);
    assert.equal(invalid.stderr, "error: replicas must be at most 1000 (MAX_REPLICAS) (400 Bad Request)");
    const limited = await cli(["scale", "demo/web", "5"], fake.env);
    assert.equal(limited.code, 1);
    assert.equal(limited.stderr, 'error: rate limit "writes" exceeded for alice (429 Too Many Requests); retry after 2 s');
  });
});

Deno.test("an error that is not problem+json (a proxy's HTML page) is still one clear line", async () => {
  await withFakeApi(
    () => new Response("<html>bad gateway</html>", { status: 502, headers: { "content-type": "text/html" } }),
    async (fake) => {
      const run = await cli(["list"], fake.env);
      assert.equal(run.code, 1);
      assert.equal(
        run.stderr,
        "error: the server answered 502 with text/html, not a problem+json document (is --url pointing at replica-api?) (502 Bad Gateway)",
      );
    },
  );
});

Deno.test("a problem with non-string fields is described instead of crashing the error line", async () => {
  await withFakeApi(() => json({ title: 42, detail: { nested: true } }, 500), async (fake) => {
    const run = await cli(["list"], fake.env);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^error: the server answered 500 with application\/json, not a problem\+json document/);
  });
});

Deno.test("an endless error body is read only in part", async () => {
  const chunk = new TextEncoder().encode("x".repeat(16 * 1024));
  let sent = 0;
  const endless = new ReadableStream<Uint8Array>({
    pull(controller) {
      sent += chunk.byteLength;
      controller.enqueue(chunk);
    },
  });
  await withFakeApi(() => new Response(endless, { status: 502, headers: { "content-type": "application/octet-stream" } }), async (fake) => {
    const run = await cli(["list"], fake.env);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^error: the server answered 502 with application\/octet-stream/);
    assert.ok(sent < 64 * 1024 * 1024, `stopped reading after ${sent} bytes`);
  });
});

Deno.test("a 200 whose body is not JSON is an error, not a crash", async () => {
  await withFakeApi(() => new Response("hello", { headers: { "content-type": "text/plain" } }), async (fake) => {
    const run = await cli(["list"], fake.env);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, "error: the API answered GET /api/v1/deployments with 200 but a body that is not JSON");
  });
});

const rolloutBody = (
  counts: { replicas?: number; updated: number; ready: number; available: number; complete?: boolean; reason?: string },
) => ({
  namespace: "demo",
  name: "web",
  replicas: counts.replicas ?? 5,
  readyReplicas: counts.ready,
  availableReplicas: counts.available,
  rollout: {
    complete: counts.complete ?? false,
    generation: 7,
    observedGeneration: 7,
    replicas: counts.replicas ?? 5,
    updatedReplicas: counts.updated,
    readyReplicas: counts.ready,
    availableReplicas: counts.available,
    ...(counts.reason ? { reason: counts.reason, message: 'ReplicaSet "web-7" has timed out progressing.' } : {}),
  },
});

Deno.test("scale --wait follows the rollout, printing a line each time the counts change, until complete", async () => {
  const gets = [
    json(rolloutBody({ updated: 3, ready: 2, available: 2 }), 202),
    json(rolloutBody({ updated: 3, ready: 2, available: 2 }), 202),
    json(rolloutBody({ updated: 5, ready: 4, available: 3 }), 202),
    json(rolloutBody({ updated: 5, ready: 5, available: 5, complete: true }), 200),
  ];
  await withFakeApi(
    (r) => r.method === "PUT" ? json({ namespace: "demo", name: "web", replicas: 5, previousReplicas: 2 }) : gets.shift()!,
    async (fake) => {
      const run = await cli(["scale", "demo/web", "5", "--wait", "--timeout", "2m"], fake.env);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(
        run.stdout,
        [
          "demo/web scaled from 2 to 5 replicas",
          "demo/web: 3/5 updated, 2/5 ready, 2/5 available",
          "demo/web: 5/5 updated, 4/5 ready, 3/5 available",
          "demo/web: 5/5 updated, 5/5 ready, 5/5 available",
          "demo/web: rollout complete, 5 of 5 available",
        ].join("\n"),
      );
      const waits = fake.requests.filter((r) => r.method === "GET").map((r) => r.target);
      assert.equal(waits.length, 4);
      for (const target of waits) assert.equal(target, "/api/v1/namespaces/demo/deployments/web/replicas?wait=rollout&timeout=5000ms");
    },
  );
});

Deno.test("scale --wait gives up at --timeout with the Deployment's reason and exits 1", async () => {
  const clock = new VirtualClock();
  await withFakeApi(
    (r) =>
      r.method === "PUT"
        ? json({ namespace: "demo", name: "web", replicas: 5, previousReplicas: 2 })
        : json(rolloutBody({ updated: 3, ready: 2, available: 2, reason: "ProgressDeadlineExceeded" }), 202),
    async (fake) => {
      const run = await cli(["scale", "demo/web", "5", "--wait", "--timeout", "2s"], fake.env, { clock });
      assert.equal(run.code, 1);
      assert.equal(
        run.stderr,
        "error: timed out after 2 s waiting for the rollout of demo/web: 3 updated, 2 ready, 2 available of 5; " +
          'ProgressDeadlineExceeded: ReplicaSet "web-7" has timed out progressing.',
      );
      const timeouts = fake.requests.filter((r) => r.method === "GET").map((r) => Number(/timeout=(\d+)ms/.exec(r.target)![1]));
      assert.equal(timeouts[0], 2000, "never asks the API to wait longer than the time left");
      assert.ok(timeouts.every((t, i) => i === 0 || t < timeouts[i - 1]), `each slice shorter than the last: ${timeouts}`);
      assert.ok(clock.sleeps.every((ms) => ms <= 500), "polls at most twice a second when the API answers at once");
    },
  );
});

Deno.test("scale --wait does not call a rollout at another count complete", async () => {
  const clock = new VirtualClock();
  // The answering instance has not seen the write yet: complete, but at the old count.
  await withFakeApi(
    (r) =>
      r.method === "PUT"
        ? json({ namespace: "demo", name: "web", replicas: 5, previousReplicas: 2 }, 202)
        : json(rolloutBody({ replicas: 2, updated: 2, ready: 2, available: 2, complete: true }), 200),
    async (fake) => {
      const run = await cli(["scale", "demo/web", "5", "--wait", "--timeout", "1s"], fake.env, { clock });
      assert.equal(run.code, 1);
      assert.match(run.stdout, /accepted; not yet visible/);
      assert.match(run.stdout, /spec still says 2, waiting for 5/);
      assert.match(run.stderr, /^error: timed out after 1 s waiting for the rollout of demo\/web/);
    },
  );
});

Deno.test("scale --wait rides out a passing failure (a replica restarting, a rate limit) and keeps waiting", async () => {
  const clock = new VirtualClock();
  const gets = [
    () => problem(503, "Service Unavailable", "the Deployment cache is not ready yet; retry shortly", { "retry-after": "2" }),
    () => problem(503, "Service Unavailable", "the Deployment cache is not ready yet; retry shortly", { "retry-after": "2" }),
    () => json(rolloutBody({ updated: 5, ready: 5, available: 5, complete: true })),
  ];
  await withFakeApi(
    (r) => r.method === "PUT" ? json({ namespace: "demo", name: "web", replicas: 5, previousReplicas: 2 }) : gets.shift()!(),
    async (fake) => {
      const run = await cli(["scale", "demo/web", "5", "--wait"], fake.env, { clock });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(
        run.stdout.split("\n").filter((l) => l.includes("asking again")).join("\n"),
        "demo/web: the Deployment cache is not ready yet; retry shortly (503 Service Unavailable); retry after 2 s; asking again",
        "said once, not once per attempt",
      );
      assert.match(run.stdout, /rollout complete, 5 of 5 available$/);
      assert.deepEqual(clock.sleeps.slice(0, 2), [2000, 2000], "Retry-After honoured");
    },
  );
});

Deno.test("scale --wait stops at once when the Deployment is deleted while waiting", async () => {
  await withFakeApi(
    (r) =>
      r.method === "PUT"
        ? json({ namespace: "demo", name: "web", replicas: 5, previousReplicas: 2 })
        : problem(404, "Not Found", 'deployment "demo/web" not found (deleted while waiting for its rollout)'),
    async (fake) => {
      const run = await cli(["scale", "demo/web", "5", "--wait"], fake.env);
      assert.equal(run.code, 1);
      assert.equal(run.stderr, 'error: deployment "demo/web" not found (deleted while waiting for its rollout) (404 Not Found)');
      assert.equal(fake.requests.length, 2);
    },
  );
});

Deno.test("scale --wait -o json prints only the final document on stdout, progress on stderr", async () => {
  const done = rolloutBody({ updated: 5, ready: 5, available: 5, complete: true });
  await withFakeApi(
    (r) => r.method === "PUT" ? json({ namespace: "demo", name: "web", replicas: 5, previousReplicas: 5 }) : json(done),
    async (fake) => {
      const run = await cli(["scale", "demo/web", "5", "--wait", "-o", "json"], fake.env);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), done);
      assert.match(run.stderr, /^demo\/web scaled from 5 to 5 replicas\ndemo\/web: 5\/5 updated/);
    },
  );
});

Deno.test("scale --wait against a server without ?wait=rollout fails with the server's detail", async () => {
  await withFakeApi(
    (r) =>
      r.method === "PUT"
        ? json({ namespace: "demo", name: "web", replicas: 5, previousReplicas: 2 })
        : problem(400, "Bad Request", 'unknown query parameter "wait"'),
    async (fake) => {
      const run = await cli(["scale", "demo/web", "5", "--wait"], fake.env);
      assert.equal(run.code, 1);
      assert.equal(run.stderr, 'error: unknown query parameter "wait" (400 Bad Request)');
    },
  );
});

Deno.test("help and --version need no server or certificates", async () => {
  const connect = () => Promise.reject(new Error("must not connect"));
  const help = await cli(["help"], {}, { connect });
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^replica-api: list Deployments/);
  assert.match(help.stdout, /REPLICA_API_URL/);
  assert.match(help.stdout, /Exit codes: 0 ok, 1 error, 2 usage, 3 precondition failed \(412\) or conflict \(409\)/);
  const scaleHelp = await cli(["scale", "--help"], {}, { connect });
  assert.match(scaleHelp.stdout, /^Usage: replica-api scale NAMESPACE\/NAME REPLICAS/);
  const version = await cli(["--version"], {}, { connect });
  assert.equal(version.stdout, "replica-api CLI 9.9.9");
});

Deno.test("a usage error exits 2 and points to help, before any connection", async () => {
  const run = await cli(["scale", "demo/web"], {}, { connect: () => Promise.reject(new Error("must not connect")) });
  assert.equal(run.code, 2);
  assert.equal(run.stderr, "error: scale needs NAMESPACE/NAME REPLICAS\nRun 'replica-api help' for usage.");
});
