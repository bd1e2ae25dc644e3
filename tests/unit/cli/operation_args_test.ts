/** parseArgs for the rollout operations: restart, pause, resume, undo, set-image and history, and their usage errors. */
import assert from "node:assert/strict";
import { DEFAULT_TIMEOUT_MS, parseArgs } from "../../../src/cli/args.ts";
import { UsageError } from "../../../src/cli/errors.ts";

const parse = (argv: string[]) => parseArgs(argv, { env: {}, cwd: "/home/sre/work", defaultCertDir: "/repo/certs" });
const command = (argv: string[]) => parse(argv).command;

function usage(argv: string[], message: RegExp) {
  assert.throws(() => parse(argv), (error: unknown) => {
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${error}`);
    assert.match(error.message, message);
    return true;
  });
}

const defaults = { wait: false, timeoutMs: DEFAULT_TIMEOUT_MS, ifMatch: undefined, dryRun: false, output: "table" };

Deno.test("parseArgs reads restart, pause and resume with the write flags of scale", () => {
  for (const kind of ["restart", "pause", "resume"]) {
    assert.deepEqual(command([kind, "demo/web"]), { kind, namespace: "demo", name: "web", ...defaults });
  }
  assert.deepEqual(command(["restart", "demo/web", "--wait", "--timeout", "2m", "--if-match", "811", "-o", "json"]), {
    kind: "restart",
    namespace: "demo",
    name: "web",
    wait: true,
    timeoutMs: 120_000,
    ifMatch: '"811"',
    dryRun: false,
    output: "json",
  });
  assert.deepEqual(command(["pause", "--dry-run", "demo/web", "--if-match", "*"]), {
    kind: "pause",
    namespace: "demo",
    name: "web",
    ...defaults,
    dryRun: true,
    ifMatch: "*",
  });
  assert.equal(parse(["resume", "demo/web", "--url", "https://a:1"]).connection?.url, "https://a:1", "the writes connect");
});

Deno.test("parseArgs reads undo, with and without --to-revision", () => {
  assert.deepEqual(command(["undo", "demo/web"]), { kind: "undo", namespace: "demo", name: "web", toRevision: undefined, ...defaults });
  assert.deepEqual(command(["undo", "demo/web", "--to-revision", "2", "--wait"]), {
    kind: "undo",
    namespace: "demo",
    name: "web",
    toRevision: 2,
    ...defaults,
    wait: true,
  });
  const inline = command(["undo", "--to-revision=17", "demo/web"]);
  assert.equal(inline.kind === "undo" && inline.toRevision, 17);
});

Deno.test("parseArgs reads set-image as one CONTAINER=IMAGE, split at the first =", () => {
  assert.deepEqual(command(["set-image", "demo/web", "web=registry.internal/app:1.3", "--dry-run"]), {
    kind: "set-image",
    namespace: "demo",
    name: "web",
    container: "web",
    image: "registry.internal/app:1.3",
    ...defaults,
    dryRun: true,
  });
  const digest = command(["set-image", "demo/web", `init-db=app@sha256:${"a".repeat(64)}`]);
  assert.equal(digest.kind === "set-image" && digest.image, `app@sha256:${"a".repeat(64)}`);
  const odd = command(["set-image", "demo/web", "web=a=b"]);
  assert.equal(odd.kind === "set-image" && odd.image, "a=b", "the API, not the CLI, says what a valid reference is");
});

Deno.test("parseArgs reads history, in table or JSON", () => {
  assert.deepEqual(command(["history", "demo/web"]), { kind: "history", namespace: "demo", name: "web", output: "table" });
  assert.deepEqual(command(["history", "demo/web", "-o", "json"]), { kind: "history", namespace: "demo", name: "web", output: "json" });
});

Deno.test("parseArgs shows help for each rollout command", () => {
  for (const topic of ["restart", "pause", "resume", "undo", "history", "set-image"]) {
    assert.deepEqual(command([topic, "--help"]), { kind: "help", topic });
    assert.deepEqual(command(["help", topic]), { kind: "help", topic });
  }
});

Deno.test("parseArgs rejects bad rollout command lines with a message naming the problem", async (t) => {
  const cases: [string[], RegExp][] = [
    [["restart"], /^restart needs NAMESPACE\/NAME$/],
    [["restart", "web"], /expected NAMESPACE\/NAME \(e.g. demo\/web\), not "web"/],
    [["restart", "demo/web", "now"], /^unexpected argument "now" for restart \(usage: restart NAMESPACE\/NAME\)/],
    [["restart", "demo/web", "--force"], /^--force does not apply to "restart"/],
    [["restart", "demo/web", "--timeout", "5s"], /^--timeout only applies with --wait/],
    [["restart", "demo/web", "--wait", "--dry-run"], /^--wait cannot be combined with --dry-run/],
    [["restart", "demo/web", "--wait", "--timeout", "soon"], /^--timeout must be a duration like 500ms/],
    [["restart", "demo/web", "--if-match", 'a"b'], /^--if-match must be an ETag/],
    [["restart", "demo/web", "--to-revision", "2"], /^--to-revision does not apply to "restart"/],
    [["pause", "demo/web", "--wait"], /^--wait does not apply to pause: a paused Deployment does not roll out/],
    [["pause", "demo/web", "--timeout", "5s"], /^--timeout does not apply to "pause"/],
    [["resume", "demo/web", "extra"], /^unexpected argument "extra" for resume/],
    [["undo"], /^undo needs NAMESPACE\/NAME \[--to-revision N\]$/],
    [["undo", "demo/web", "--to-revision"], /^--to-revision needs a value/],
    [["undo", "demo/web", "--to-revision", "0"], /^--to-revision must be a revision number ≥ 1 as history lists them, not "0"/],
    [["undo", "demo/web", "--to-revision", "-1"], /^--to-revision must be a revision number ≥ 1.*not "-1"/],
    [["undo", "demo/web", "--to-revision", "two"], /^--to-revision must be a revision number/],
    [["undo", "demo/web", "--to-revision", "1.5"], /^--to-revision must be a revision number/],
    [["undo", "demo/web", "2"], /^unexpected argument "2" for undo \(usage: undo NAMESPACE\/NAME \[--to-revision N\]\)/],
    [["set-image", "demo/web"], /^set-image needs NAMESPACE\/NAME CONTAINER=IMAGE$/],
    [["set-image", "demo/web", "app:1.3"], /^expected CONTAINER=IMAGE \(e\.g\. web=registry\.internal\/app:1\.3\), not "app:1\.3"/],
    [["set-image", "demo/web", "=app:1.3"], /^expected CONTAINER=IMAGE .*not "=app:1\.3"/],
    [["set-image", "demo/web", "web="], /^expected CONTAINER=IMAGE .*not "web="/],
    [["set-image", "demo/web", "*=app:1.3"], /^set-image names one container, not "\*"/],
    [
      ["set-image", "demo/web", "web=app:1.3", "sidecar=envoy:1.30"],
      /^set-image takes exactly one CONTAINER=IMAGE, got 2 \(web=app:1\.3 sidecar=envoy:1\.30\): .*run set-image once per container$/,
    ],
    [["set-image", "demo/web", "web=app:1.3", "now"], /^unexpected argument "now" for set-image/],
    [["history"], /^history needs NAMESPACE\/NAME$/],
    [["history", "demo/web", "--wait"], /^--wait does not apply to "history"/],
    [["history", "demo/web", "--dry-run"], /^--dry-run does not apply to "history"/],
    [["history", "demo/web", "-n", "demo"], /^--namespace does not apply to "history"/],
    [["list", "--to-revision", "1"], /^--to-revision does not apply to "list"/],
  ];
  for (const [argv, message] of cases) {
    await t.step(argv.join(" "), () => usage(argv, message));
  }
});
