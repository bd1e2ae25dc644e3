/**
 * --wait after restart, resume, undo and set-image: the rollout of that write followed through
 * `GET .../replicas?wait=rollout` slices that ask for nothing older than the write's ETag, with progress, -o json,
 * the timeout, and the failures it rides out or stops at.
 */
import assert from "node:assert/strict";
import { cli, type FakeApi, type FakeHandler, json, problem, startFakeApi, VirtualClock } from "./_fake_api.ts";

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
const imaged = { ...at, changed: true, container: "web", image: "app:1.3", previousImage: "app:1.2" };

/** A GET replicas?wait=rollout answer for a 3-replica Deployment rolling to a new template. */
const rolling = (
  counts: { updated: number; ready: number; available: number; observed?: number; complete?: boolean; reason?: string; message?: string },
) => ({
  ...at,
  replicas: 3,
  readyReplicas: counts.ready,
  availableReplicas: counts.available,
  rollout: {
    complete: counts.complete ?? false,
    generation: 8,
    observedGeneration: counts.observed ?? 8,
    replicas: 4,
    updatedReplicas: counts.updated,
    readyReplicas: counts.ready,
    availableReplicas: counts.available,
    ...(counts.reason ? { reason: counts.reason, message: counts.message } : {}),
  },
});
const complete = rolling({ updated: 3, ready: 3, available: 3, complete: true });

/** The write answers `write`; each GET replicas the next of `gets` (the last one again when they run out). */
function rollout(write: () => Response, gets: (() => Response)[]): FakeHandler {
  let next = 0;
  return (r) => r.target.startsWith(`${B}/replicas`) ? gets[Math.min(next++, gets.length - 1)]() : write();
}

const waits = (fake: FakeApi) => fake.requests.filter((r) => r.target.startsWith(`${B}/replicas`));

Deno.test("restart --wait follows that write's rollout, asking for nothing older than its ETag, until complete", async () => {
  const handler = rollout(() => json({ ...at, changed: true, restartedAt: "2026-12-07T13:10:00Z" }, 200, { etag: '"901"' }), [
    () => json(rolling({ updated: 0, ready: 3, available: 3, observed: 7 }), 202),
    () => json(rolling({ updated: 1, ready: 3, available: 3 }), 202),
    () => json(rolling({ updated: 1, ready: 3, available: 3 }), 202),
    () => json(rolling({ updated: 3, ready: 3, available: 3 }), 202),
    () => json(complete, 200),
  ]);
  await withApi(handler, async (fake) => {
    const run = await cli(["restart", "demo/web", "--wait"], fake.env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      [
        "demo/web: restarted at 2026-12-07T13:10:00Z (rollout started)",
        "demo/web: 0/3 updated, 3/3 ready, 3/3 available (waiting for the controller to observe the change)",
        "demo/web: 1/3 updated, 3/3 ready, 3/3 available",
        "demo/web: 3/3 updated, 3/3 ready, 3/3 available",
        "demo/web: rollout complete, 3 of 3 available",
      ].join("\n"),
    );
    const gets = waits(fake);
    assert.equal(gets.length, 5);
    for (const get of gets) {
      assert.equal(get.method, "GET");
      assert.equal(get.target, `${B}/replicas?wait=rollout&timeout=5000ms&resourceVersion=901&resourceVersionMatch=NotOlderThan`);
    }
  });
});

Deno.test("set-image --wait -o json prints the write's answer with the rollout on stdout, progress on stderr", async () => {
  const handler = rollout(() => json(imaged, 200, { etag: '"902"' }), [() => json(complete)]);
  await withApi(handler, async (fake) => {
    const run = await cli(["set-image", "demo/web", "web=app:1.3", "--wait", "-o", "json"], fake.env);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { ...imaged, rollout: complete.rollout });
    assert.equal(
      run.stderr,
      "demo/web: image web app:1.2 → app:1.3 (rollout started)\ndemo/web: 3/3 updated, 3/3 ready, 3/3 available",
    );
    assert.equal(fake.requests[0].method, "PUT");
    assert.match(waits(fake)[0].target, /&resourceVersion=902&resourceVersionMatch=NotOlderThan$/);
  });
});

Deno.test("undo --wait gives up at --timeout with the counts, the spec's count and the Deployment's reason", async () => {
  const clock = new VirtualClock();
  const stuck = rolling({
    updated: 1,
    ready: 3,
    available: 3,
    reason: "ProgressDeadlineExceeded",
    message: 'ReplicaSet "web-7b9c" has timed out progressing.',
  });
  const undone = { ...at, changed: true, fromRevision: 3, toRevision: 2, images: [{ container: "web", image: "app:1.2" }] };
  await withApi(rollout(() => json(undone, 200, { etag: '"903"' }), [() => json(stuck, 202)]), async (fake) => {
    const run = await cli(["undo", "demo/web", "--wait", "--timeout", "2s"], fake.env, { clock });
    assert.equal(run.code, 1);
    assert.equal(
      run.stderr,
      "error: timed out after 2 s waiting for the rollout of demo/web: 1 updated, 3 ready, 3 available of 3; " +
        'ProgressDeadlineExceeded: ReplicaSet "web-7b9c" has timed out progressing.',
    );
    assert.match(run.stdout, /^demo\/web: undo to revision 2 \(web=app:1\.2\) from revision 3 \(rollout started\)\n/);
    const timeouts = waits(fake).map((r) => Number(/timeout=(\d+)ms/.exec(r.target)![1]));
    assert.equal(timeouts[0], 2000, "never asks the API to wait longer than the time left");
    assert.ok(timeouts.every((t, i) => i === 0 || t < timeouts[i - 1]), `each slice shorter than the last: ${timeouts}`);
    assert.ok(clock.sleeps.every((ms) => ms <= 500), "polls at most twice a second when the API answers at once");
  });
});

Deno.test("resume --wait rides out a replica whose cache is behind the write (504) and keeps waiting", async () => {
  const clock = new VirtualClock();
  const behind = () =>
    problem(504, "Gateway Timeout", "this replica's cache has not reached resourceVersion 904 within 2000 ms (WRITE_SYNC_TIMEOUT)", {
      "retry-after": "1",
    });
  const handler = rollout(() => json({ ...at, changed: true, paused: false }, 202, { etag: '"904"' }), [
    behind,
    behind,
    () => json(complete),
  ]);
  await withApi(handler, async (fake) => {
    const run = await cli(["resume", "demo/web", "--wait"], fake.env, { clock });
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.split("\n");
    assert.equal(lines[0], "demo/web: resumed (accepted, not yet observed)");
    assert.equal(lines.filter((l) => l.endsWith("asking again")).length, 1, "said once, not once per attempt");
    assert.match(
      lines[1],
      /^demo\/web: this replica's cache has not reached resourceVersion 904 .*\(504 Gateway Timeout\); retry after 1 s/,
    );
    assert.equal(lines.at(-1), "demo/web: rollout complete, 3 of 3 available");
    assert.equal(waits(fake).length, 3);
  });
});

Deno.test("--wait after a write that changed nothing and sent no ETag follows the rollout as it is", async () => {
  const handler = rollout(() => json({ ...imaged, changed: false, previousImage: "app:1.3" }), [() => json(complete)]);
  await withApi(handler, async (fake) => {
    const run = await cli(["set-image", "demo/web", "web=app:1.3", "--wait"], fake.env);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      "demo/web: already running app:1.3, nothing changed\ndemo/web: 3/3 updated, 3/3 ready, 3/3 available\n" +
        "demo/web: rollout complete, 3 of 3 available",
    );
    assert.equal(waits(fake)[0].target, `${B}/replicas?wait=rollout&timeout=5000ms`);
  });
});

Deno.test("--wait after a refused write waits for nothing", async () => {
  const paused = 'deployment "demo/web" is paused; resume it first: POST /api/v1/namespaces/demo/deployments/web/resume';
  await withApi(rollout(() => problem(409, "Conflict", paused), [() => json(complete)]), async (fake) => {
    const run = await cli(["restart", "demo/web", "--wait"], fake.env);
    assert.equal(run.code, 3);
    assert.equal(fake.requests.length, 1);
    assert.match(run.stderr, /^error: deployment "demo\/web" is paused/);
  });
});

Deno.test("--wait stops at once when the Deployment is deleted while waiting", async () => {
  const gone = () => problem(404, "Not Found", 'deployment "demo/web" not found (deleted while waiting for its rollout)');
  await withApi(rollout(() => json(imaged, 200, { etag: '"905"' }), [gone]), async (fake) => {
    const run = await cli(["set-image", "demo/web", "web=app:1.3", "--wait"], fake.env);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, 'error: deployment "demo/web" not found (deleted while waiting for its rollout) (404 Not Found)');
    assert.equal(fake.requests.length, 2);
  });
});
