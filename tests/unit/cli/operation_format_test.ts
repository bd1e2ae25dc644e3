/** What the rollout operations print: the one-line outcome of each write, the history table, rollout progress without a count. */
import assert from "node:assert/strict";
import { operationSummary, revisionsTable, rolloutComplete, rolloutProgress } from "../../../src/cli/format.ts";
import type { RevisionsBody } from "../../../src/cli/api_types.ts";

const at = { namespace: "demo", name: "web" };
const done = { dryRun: false, status: 200 };
const dry = { dryRun: true, status: 200 };
const lagging = { dryRun: false, status: 202 };

Deno.test("operationSummary says what each write did and that its rollout started", () => {
  const image = { ...at, changed: true, container: "web", image: "app:1.3", previousImage: "app:1.2" };
  assert.equal(operationSummary("set-image", image, done), "demo/web: image web app:1.2 → app:1.3 (rollout started)");
  const restart = { ...at, changed: true, restartedAt: "2026-12-07T13:10:00Z", previousRestartedAt: "2026-12-01T09:00:00Z" };
  assert.equal(operationSummary("restart", restart, done), "demo/web: restarted at 2026-12-07T13:10:00Z (rollout started)");
  const undo = { ...at, changed: true, fromRevision: 3, toRevision: 2, images: [{ container: "web", image: "app:1.2" }] };
  assert.equal(operationSummary("undo", undo, done), "demo/web: undo to revision 2 (web=app:1.2) from revision 3 (rollout started)");
  assert.equal(operationSummary("pause", { ...at, changed: true, paused: true }, done), "demo/web: paused (rollouts held until resume)");
  assert.equal(operationSummary("resume", { ...at, changed: true, paused: false }, done), "demo/web: resumed (rollouts proceed)");
});

Deno.test("operationSummary marks a dry run and a write the service's cache has not seen yet", () => {
  const image = { ...at, changed: true, dryRun: true, container: "web", image: "app:1.3", previousImage: "app:1.2" };
  assert.equal(operationSummary("set-image", image, dry), "demo/web: image web app:1.2 → app:1.3 (dry run: nothing changed)");
  assert.equal(
    operationSummary("restart", { ...at, changed: true, dryRun: true, restartedAt: "2026-12-07T13:10:00Z" }, dry),
    "demo/web: would restart (dry run: nothing changed)",
  );
  assert.equal(operationSummary("pause", { ...at, changed: true, paused: true }, dry), "demo/web: would pause (dry run: nothing changed)");
  assert.equal(
    operationSummary("resume", { ...at, changed: true, paused: false }, dry),
    "demo/web: would resume (dry run: nothing changed)",
  );
  assert.equal(
    operationSummary("undo", { ...at, changed: true, fromRevision: 3, toRevision: 1, images: [] }, lagging),
    "demo/web: undo to revision 1 () from revision 3 (accepted, not yet observed)",
  );
  assert.equal(operationSummary("pause", { ...at, changed: true, paused: true }, lagging), "demo/web: paused (accepted, not yet observed)");
});

Deno.test("operationSummary says so when the Deployment already was as asked", () => {
  const image = { ...at, changed: false, container: "web", image: "app:1.3", previousImage: "app:1.3" };
  assert.equal(operationSummary("set-image", image, done), "demo/web: already running app:1.3, nothing changed");
  assert.equal(operationSummary("pause", { ...at, changed: false, paused: true }, done), "demo/web: already paused, nothing changed");
  assert.equal(operationSummary("resume", { ...at, changed: false, paused: false }, done), "demo/web: not paused, nothing changed");
  const undo = {
    ...at,
    changed: false,
    fromRevision: 2,
    toRevision: 2,
    images: [{ container: "web", image: "app:1.2" }, { container: "envoy", image: "envoy:1.30" }],
  };
  assert.equal(
    operationSummary("undo", undo, done),
    "demo/web: already at the template of revision 2 (web=app:1.2, envoy=envoy:1.30), nothing changed",
  );
});

Deno.test("operationSummary prints server-supplied names and images on one line", () => {
  const image = { ...at, changed: true, container: "web\n", image: "app:1.3\x1b[2J", previousImage: "app:1.2" };
  assert.equal(operationSummary("set-image", image, done), "demo/web: image web app:1.2 → app:1.3 [2J (rollout started)");
});

const revisions: RevisionsBody = {
  namespace: "demo",
  name: "web",
  currentRevision: 3,
  revisions: [
    {
      revision: 1,
      replicaSet: "web-6d4f",
      images: [{ container: "web", image: "app:1.1" }],
      created: "2026-12-01T09:00:00Z",
      current: false,
      replicas: 0,
    },
    {
      revision: 2,
      replicaSet: "web-7b9c",
      images: [{ container: "web", image: "app:1.2" }, { container: "envoy", image: "envoy:1.30" }],
      changeCause: "image web: app:1.1 → app:1.2 by CN=alice (O=sre) via replica-api",
      created: "2026-12-03T10:30:00Z",
      current: false,
      replicas: 0,
    },
    {
      revision: 3,
      replicaSet: "web-8c1a",
      images: [{ container: "web", image: "app:1.3" }],
      created: "2026-12-07T13:10:00Z",
      current: true,
      replicas: 3,
    },
  ],
};

Deno.test("revisionsTable lists revisions oldest first, * marking the current one, <none> for no change-cause", () => {
  assert.equal(
    revisionsTable(revisions),
    [
      "REVISION   CURRENT   IMAGES                          CHANGE-CAUSE                                                       CREATED                REPLICAS",
      "1                    web=app:1.1                     <none>                                                             2026-12-01T09:00:00Z   0",
      "2                    web=app:1.2, envoy=envoy:1.30   image web: app:1.1 → app:1.2 by CN=alice (O=sre) via replica-api   2026-12-03T10:30:00Z   0",
      "3          *         web=app:1.3                     <none>                                                             2026-12-07T13:10:00Z   3",
    ].join("\n"),
  );
  assert.equal(revisionsTable({ ...revisions, revisions: [] }), "", "nothing, not a lone header");
});

Deno.test("rolloutProgress without a count to reach compares with spec.replicas; rolloutComplete names the available", () => {
  const body = { namespace: "demo", name: "web", replicas: 3, readyReplicas: 3, availableReplicas: 3 };
  const rollout = {
    complete: false,
    generation: 8,
    observedGeneration: 8,
    replicas: 4,
    updatedReplicas: 1,
    readyReplicas: 3,
    availableReplicas: 3,
  };
  assert.equal(rolloutProgress(body, rollout), "demo/web: 1/3 updated, 3/3 ready, 3/3 available");
  assert.equal(rolloutComplete({ ...body, rollout: { ...rollout, complete: true } }), "demo/web: rollout complete, 3 of 3 available");
});
