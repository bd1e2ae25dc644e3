/** What the CLI prints: exact tables, JSON, progress and watch lines. */
import assert from "node:assert/strict";
import type { Deployment } from "../../../src/cli/api_types.ts";
import {
  deploymentDetail,
  deploymentTable,
  formatJson,
  formatTable,
  rolloutProgress,
  scaleSummary,
  watchJsonLine,
  WatchTable,
} from "../../../src/cli/format.ts";

const deployment = (namespace: string, name: string, replicas: number, ready = replicas, available = ready): Deployment => ({
  namespace,
  name,
  replicas,
  readyReplicas: ready,
  availableReplicas: available,
  resourceVersion: "4711",
});

Deno.test("deploymentTable aligns every column to its widest cell, three spaces apart, without trailing spaces", () => {
  const text = deploymentTable([deployment("demo", "web", 3, 2, 1), deployment("payments", "checkout-frontend", 12, 12)]);
  assert.equal(
    text,
    [
      "NAMESPACE   NAME                REPLICAS   READY   AVAILABLE",
      "demo        web                 3          2       1",
      "payments    checkout-frontend   12         12      12",
    ].join("\n"),
  );
  for (const line of text.split("\n")) assert.equal(line, line.trimEnd());
});

Deno.test("deploymentTable of nothing is empty, not a lone header", () => {
  assert.equal(deploymentTable([]), "");
});

Deno.test("deploymentTable prints server-supplied names on one line even if they hold control characters", () => {
  const text = deploymentTable([deployment("demo", "we\u001b[2Jb\nx", 1)]);
  assert.equal(text.split("\n").length, 2);
  assert.ok(!text.includes("\u001b"), "no escape sequences reach the terminal");
});

Deno.test("formatTable widens a column for a long header", () => {
  assert.equal(formatTable(["A", "LONG HEADER"], [["xyz", "1"]]), "A     LONG HEADER\nxyz   1");
});

Deno.test("deploymentDetail adds the resourceVersion, and the autoscaler when there is one", () => {
  assert.equal(
    deploymentDetail(deployment("demo", "web", 3)),
    "NAMESPACE   NAME   REPLICAS   READY   AVAILABLE   RESOURCEVERSION\ndemo        web    3          3       3           4711",
  );
  const scaled = { ...deployment("demo", "web", 3), autoscaler: { name: "web-hpa", minReplicas: 2, maxReplicas: 10 } };
  assert.match(deploymentDetail(scaled), / {3}AUTOSCALER\n.*4711 +web-hpa \(2-10\)$/);
});

Deno.test("formatJson is the API's document, indented by two spaces", () => {
  const items = [deployment("demo", "web", 1)];
  const text = formatJson({ items });
  assert.deepEqual(JSON.parse(text), { items });
  assert.match(text, /^\{\n {2}"items": \[\n {4}\{\n {6}"namespace": "demo"/);
});

Deno.test("scaleSummary says what changed, what a dry run would change, and when the cache lags", () => {
  const body = { namespace: "demo", name: "web", replicas: 5, previousReplicas: 2 };
  assert.equal(scaleSummary(body, { dryRun: false, status: 200 }), "demo/web scaled from 2 to 5 replicas");
  assert.equal(
    scaleSummary(body, { dryRun: true, status: 200 }),
    "demo/web would be scaled from 2 to 5 replicas (dry run: nothing was changed)",
  );
  assert.match(scaleSummary(body, { dryRun: false, status: 202 }), /scaled from 2 to 5 replicas \(accepted; not yet visible/);
});

Deno.test("rolloutProgress shows counts against the target and the Deployment's reason", () => {
  const body = { namespace: "demo", name: "web", replicas: 5, readyReplicas: 2, availableReplicas: 2 };
  const rollout = {
    complete: false,
    generation: 4,
    observedGeneration: 4,
    replicas: 5,
    updatedReplicas: 3,
    readyReplicas: 2,
    availableReplicas: 2,
  };
  assert.equal(rolloutProgress(body, rollout, 5), "demo/web: 3/5 updated, 2/5 ready, 2/5 available");
  assert.equal(
    rolloutProgress(body, { ...rollout, reason: "ProgressDeadlineExceeded", message: 'ReplicaSet "web-1" has timed out progressing.' }, 5),
    'demo/web: 3/5 updated, 2/5 ready, 2/5 available; ProgressDeadlineExceeded: ReplicaSet "web-1" has timed out progressing.',
  );
  assert.match(rolloutProgress(body, { ...rollout, observedGeneration: 3 }, 5), /waiting for the controller to observe the change/);
  assert.match(rolloutProgress({ ...body, replicas: 2 }, { ...rollout, replicas: 2 }, 5), /spec still says 2, waiting for 5/);
});

Deno.test("WatchTable prints the header once and keeps rows aligned with it", () => {
  const table = new WatchTable();
  const first = table.lines("ADDED", deployment("demo", "web", 3));
  const second = table.lines("MODIFIED", deployment("demo", "web", 4, 3));
  assert.equal(first.length, 2);
  assert.equal(second.length, 1);
  const [header, row1] = first;
  assert.match(header, /^EVENT\s+NAMESPACE\s+NAME\s+REPLICAS\s+READY\s+AVAILABLE$/);
  for (const row of [row1, second[0]]) {
    assert.equal(row.indexOf("demo"), header.indexOf("NAMESPACE"));
    assert.equal(row.indexOf("web"), header.search(/\bNAME\b/));
  }
  assert.match(second[0], /^MODIFIED\s+demo\s+web\s+4\s+3\s+3$/);
});

Deno.test("WatchTable skips a MODIFIED that changes no shown column, but never an ADDED or DELETED", () => {
  const table = new WatchTable();
  const web = deployment("demo", "web", 3);
  assert.equal(table.lines("ADDED", web).length, 2);
  assert.deepEqual(table.lines("MODIFIED", { ...web, resourceVersion: "4712" }), [], "only the resourceVersion changed");
  assert.equal(table.lines("MODIFIED", deployment("demo", "web", 3, 2)).length, 1, "READY changed");
  assert.equal(table.lines("DELETED", deployment("demo", "web", 3, 2)).length, 1);
  assert.equal(table.lines("ADDED", deployment("demo", "web", 3, 2)).length, 1, "re-created: shown again");
  assert.equal(table.lines("MODIFIED", deployment("other", "web", 3, 2)).length, 1, "another namespace's web is another row");
});

Deno.test("watchJsonLine is one JSON document per line", () => {
  const line = watchJsonLine("DELETED", deployment("demo", "web", 0));
  assert.ok(!line.includes("\n"));
  assert.deepEqual(JSON.parse(line), { type: "DELETED", object: deployment("demo", "web", 0) });
});
