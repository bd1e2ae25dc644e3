import assert from "node:assert/strict";
import { createScaleEventRecorder, type EventApi, type EventsV1Event, microTime } from "../../../../src/kube/writes/scale_events.ts";
import { createLogger } from "../../../../src/observability/logger.ts";

const T = new Date("2026-11-30T00:12:05.123Z");
const SCALED = { namespace: "prod", name: "web", uid: "u-1", from: 3, to: 5, actor: "CN=alice (O=sre)" };

function setup(api: EventApi, maxInFlight?: number) {
  const outcomes: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const recorder = createScaleEventRecorder({
    api,
    controller: "replica-api",
    instance: "replica-api-pod-1",
    log: createLogger({ sink: (line) => lines.push(JSON.parse(line)) }),
    count: (outcome) => outcomes.push(outcome),
    maxInFlight,
    now: () => T,
  });
  return { recorder, outcomes, lines };
}

Deno.test("a scale becomes an events.k8s.io/v1 Event regarding the Deployment, with who scaled in the note", async () => {
  const sent: [string, EventsV1Event][] = [];
  const { recorder, outcomes } = setup({ createEvent: (ns, e) => (sent.push([ns, e]), Promise.resolve()) });
  recorder.scaled(SCALED);
  await recorder.settle(1000);
  assert.equal(sent.length, 1);
  const [namespace, event] = sent[0];
  assert.equal(namespace, "prod");
  assert.match(event.metadata.name, /^web\.[0-9a-f]+$/);
  assert.equal(event.metadata.namespace, "prod");
  assert.deepEqual(
    { ...event, metadata: undefined },
    {
      apiVersion: "events.k8s.io/v1",
      kind: "Event",
      metadata: undefined,
      eventTime: "2026-11-30T00:12:05.123000Z",
      reportingController: "replica-api",
      reportingInstance: "replica-api-pod-1",
      action: "Scale",
      reason: "Scaled",
      type: "Normal",
      note: "replicas 3 → 5 by CN=alice (O=sre) via replica-api",
      regarding: { apiVersion: "apps/v1", kind: "Deployment", namespace: "prod", name: "web", uid: "u-1" },
    },
  );
  assert.deepEqual(outcomes, ["recorded"]);
});

Deno.test("a forced scale says which autoscaler it went past; Event names stay unique and within 253 characters", async () => {
  const sent: EventsV1Event[] = [];
  const { recorder } = setup({ createEvent: (_ns, e) => (sent.push(e), Promise.resolve()) });
  recorder.scaled({ ...SCALED, forcedPast: "web-hpa" });
  recorder.scaled({ ...SCALED, name: "a".repeat(253) });
  await recorder.settle(1000);
  assert.equal(sent[0].note, "replicas 3 → 5 by CN=alice (O=sre) via replica-api, forced past HorizontalPodAutoscaler web-hpa");
  assert.ok(sent[1].metadata.name.length <= 253);
  assert.notEqual(sent[0].metadata.name.split(".")[1], sent[1].metadata.name.split(".")[1], "same time, different names");
});

Deno.test("scaled() returns before the API answers, and a failure is logged and counted, never thrown", async () => {
  const pending = Promise.withResolvers<void>();
  const { recorder, outcomes, lines } = setup({ createEvent: () => pending.promise });
  recorder.scaled(SCALED); // returns at once although the API has not answered
  assert.deepEqual(outcomes, []);
  pending.reject(new Error("events.events.k8s.io is forbidden"));
  await recorder.settle(1000);
  assert.deepEqual(outcomes, ["failed"]);
  const warning = lines.find((l) => l.msg === "Event not recorded");
  assert.ok(warning, "logged");
  assert.equal(warning.level, "warn");
  assert.equal(warning.target, "prod/web");
});

Deno.test("an API that throws synchronously is a counted failure too", async () => {
  const { recorder, outcomes } = setup({
    createEvent: () => {
      throw new Error("boom");
    },
  });
  recorder.scaled(SCALED);
  await recorder.settle(1000);
  assert.deepEqual(outcomes, ["failed"]);
});

Deno.test("Events in flight are bounded: over the bound they are dropped and counted, and the slots come back", async () => {
  const answers: PromiseWithResolvers<void>[] = [];
  const { recorder, outcomes } = setup({
    createEvent: () => {
      const answer = Promise.withResolvers<void>();
      answers.push(answer);
      return answer.promise;
    },
  }, 2);
  for (let i = 0; i < 5; i++) recorder.scaled(SCALED);
  await Promise.resolve();
  assert.equal(answers.length, 2, "only two requests made");
  assert.deepEqual(outcomes, ["dropped", "dropped", "dropped"]);
  for (const a of answers) a.resolve();
  await recorder.settle(1000);
  recorder.scaled(SCALED);
  await Promise.resolve();
  assert.equal(answers.length, 3, "a freed slot is used again");
  answers[2].resolve();
  await recorder.settle(1000);
  assert.equal(outcomes.filter((o) => o === "recorded").length, 3);
});

Deno.test("settle waits for Events in flight, but no longer than its timeout", async () => {
  const { recorder } = setup({ createEvent: () => new Promise(() => {}) }, 1);
  recorder.scaled(SCALED);
  const started = performance.now();
  await recorder.settle(50);
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 45 && elapsed < 1000, `settled after ${elapsed} ms`);
});

Deno.test("microTime writes the six fractional digits Kubernetes' MicroTime requires", () => {
  assert.equal(microTime(new Date("2026-01-02T03:04:05.006Z")), "2026-01-02T03:04:05.006000Z");
});

Deno.test("each rollout operation is recorded with its own action, reason and a note saying who changed what", async () => {
  const created: EventsV1Event[] = [];
  const api: EventApi = {
    createEvent: (_ns, e) => {
      created.push(e);
      return Promise.resolve();
    },
  };
  const recorder = createScaleEventRecorder({ api, controller: "replica-api", instance: "pod-1", log: createLogger({ sink: () => {} }) });
  const who = { namespace: "prod", name: "web", uid: "u1", actor: "CN=alice (O=sre)" };
  recorder.changed({ ...who, kind: "image", container: "web", from: "app:1.2", to: "app:1.3" });
  recorder.changed({ ...who, kind: "restart", restartedAt: "2026-12-07T13:00:00Z" });
  recorder.changed({ ...who, kind: "pause" });
  recorder.changed({ ...who, kind: "resume" });
  recorder.changed({ ...who, kind: "undo", fromRevision: 3, toRevision: 2, images: [{ container: "web", image: "app:1.2" }] });
  await recorder.settle(1000);
  assert.deepEqual(created.map((e) => [e.action, e.reason, e.note]), [
    ["SetImage", "ImageChanged", "image web: app:1.2 → app:1.3 by CN=alice (O=sre) via replica-api"],
    ["Restart", "Restarted", "restarted (restartedAt 2026-12-07T13:00:00Z) by CN=alice (O=sre) via replica-api"],
    ["Pause", "Paused", "paused by CN=alice (O=sre) via replica-api"],
    ["Resume", "Resumed", "resumed by CN=alice (O=sre) via replica-api"],
    ["Undo", "RolledBack", "undo to revision 2 (web=app:1.2) from revision 3 by CN=alice (O=sre) via replica-api"],
  ]);
  assert.ok(created.every((e) => e.regarding.uid === "u1" && e.regarding.name === "web"));
});
