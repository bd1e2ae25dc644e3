import assert from "node:assert/strict";
import { ApiHeartbeat } from "../../../../src/kube/informer/api_heartbeat.ts";
import { createLogger } from "../../../../src/observability/logger.ts";
import { ManualClock, settle } from "../../../support/manual_clock.ts";

/** A probe the test answers: each call waits until answer()/fail(), or rejects once its signal aborts. */
function scriptedProbe() {
  const calls: { signal: AbortSignal; answer(status: number): void; fail(error: Error): void }[] = [];
  let auto: number | undefined;
  let autoError: Error | undefined;
  const probe = (signal: AbortSignal) =>
    new Promise<number>((resolve, reject) => {
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
      calls.push({ signal, answer: resolve, fail: reject });
      if (autoError) reject(autoError);
      else if (auto !== undefined) resolve(auto);
    });
  return {
    probe,
    calls,
    /** From now on every probe answers at once with this status; undefined: probes hang (a silent partition). */
    set autoAnswer(status: number | undefined) {
      auto = status;
    },
    /** From now on every probe fails at once with this error (a refused connection). */
    set autoFail(error: Error | undefined) {
      autoError = error;
    },
  };
}

function setup(options: { otherContactAt?: () => number | undefined } = {}) {
  const clock = new ManualClock();
  const script = scriptedProbe();
  const lines: Record<string, unknown>[] = [];
  const outcomes: string[] = [];
  const unreachable: string[] = [];
  let reachable = 0;
  const heartbeat = new ApiHeartbeat({
    probe: script.probe,
    intervalMs: 5_000,
    timeoutMs: 3_000,
    unreachableAfterMs: 10_000,
    otherContactAt: options.otherContactAt,
    onUnreachable: (reason) => unreachable.push(reason),
    onReachable: () => reachable++,
    observe: (status) => outcomes.push(status),
    clock,
    log: createLogger({ level: "debug", sink: (l) => lines.push(JSON.parse(l)) }),
  });
  return { clock, script, heartbeat, lines, outcomes, unreachable, reachable: () => reachable };
}

Deno.test("ApiHeartbeat probes every interval, and a probe without an answer is aborted at its timeout", async () => {
  const { clock, script, heartbeat, outcomes } = setup();
  script.autoAnswer = 200;
  heartbeat.start();
  await settle();
  assert.equal(script.calls.length, 1, "the first probe goes out at start");
  await clock.advance(4_999);
  assert.equal(script.calls.length, 1);
  await clock.advance(1);
  assert.equal(script.calls.length, 2, "the next one an interval after the answer");
  script.autoAnswer = undefined;
  await clock.advance(5_000);
  assert.equal(script.calls.length, 3);
  const hanging = script.calls[2];
  await clock.advance(2_999);
  assert.equal(hanging.signal.aborted, false);
  await clock.advance(1);
  assert.equal(hanging.signal.aborted, true, "aborted at the timeout");
  assert.deepEqual(outcomes, ["200", "200", "timeout"]);
  heartbeat.stop();
});

Deno.test("ApiHeartbeat declares the API server unreachable at the bound exactly, once, and recovers on the next answer", async () => {
  const { clock, script, heartbeat, unreachable, reachable, lines } = setup();
  script.autoAnswer = 200;
  heartbeat.start();
  await settle();
  const lastAnswer = clock.now();
  // The partition begins: nothing answers any more, and nothing fails fast either.
  script.autoAnswer = undefined;
  await clock.advance(10_000);
  assert.equal(heartbeat.silentFor(clock.now()), undefined, "within the bound");
  assert.deepEqual(unreachable, []);
  await clock.advance(1);
  assert.equal(heartbeat.silentFor(clock.now()), 10_001, "one millisecond past it, with no probe tick in between");
  await clock.advance(1_000);
  assert.equal(unreachable.length, 1, "the watches are abandoned once the bound is passed");
  assert.match(unreachable[0], /^no answer from the Kubernetes API for 10\.\d s \(no answer within 3000 ms\)$/);
  assert.ok(lines.some((l) => l.msg === "the Kubernetes API is unreachable; abandoning the watches"));
  await clock.advance(60_000);
  assert.equal(unreachable.length, 1, "not again while the silence lasts");
  assert.equal(clock.now() - lastAnswer > 60_000, true);

  // The network heals: the next probe answers.
  script.autoAnswer = 200;
  await clock.advance(8_000);
  assert.equal(heartbeat.silentFor(clock.now()), undefined);
  assert.equal(reachable(), 1);
  // A second partition is declared again.
  script.autoAnswer = undefined;
  await clock.advance(25_000);
  assert.equal(unreachable.length, 2);
  heartbeat.stop();
});

Deno.test("ApiHeartbeat counts list and watch contact as answers, so a slow probe alone declares nothing", async () => {
  let contact: number | undefined;
  const { clock, script, heartbeat, unreachable } = setup({ otherContactAt: () => contact });
  heartbeat.start();
  for (let i = 0; i < 12; i++) {
    contact = clock.now(); // watch events keep arriving; the probes all time out
    await clock.advance(5_000);
  }
  assert.equal(script.calls.every((c) => c.signal.aborted || c === script.calls.at(-1)), true, "every probe timed out");
  assert.deepEqual(unreachable, []);
  assert.equal(heartbeat.silentFor(clock.now(), contact), undefined);
  heartbeat.stop();
});

Deno.test("ApiHeartbeat takes any HTTP status as an answer and says once that it is refused", async () => {
  const { clock, script, heartbeat, unreachable, lines } = setup();
  script.autoAnswer = 403;
  heartbeat.start();
  await clock.advance(60_000);
  assert.deepEqual(unreachable, [], "a 403 proves the API server is there");
  assert.equal(lines.filter((l) => /refuses the heartbeat/.test(String(l.msg))).length, 1);
  heartbeat.stop();
});

Deno.test("ApiHeartbeat reports a failed connection with its cause, and stop() aborts the probe in flight", async () => {
  const { clock, script, heartbeat, unreachable } = setup();
  script.autoFail = new TypeError("error sending request", { cause: { code: "ECONNREFUSED" } as unknown as Error });
  heartbeat.start();
  await settle();
  await clock.advance(11_000);
  assert.equal(unreachable.length, 1);
  assert.match(unreachable[0], /\(error sending request \(ECONNREFUSED\)\)$/);
  script.autoFail = undefined;
  await clock.advance(5_000);
  const inFlight = script.calls.at(-1)!;
  assert.equal(inFlight.signal.aborted, false);
  heartbeat.stop();
  assert.equal(inFlight.signal.aborted, true);
  const calls = script.calls.length;
  await clock.advance(60_000);
  assert.equal(script.calls.length, calls, "no probe after stop()");
  assert.equal(heartbeat.silentFor(clock.now()), undefined, "a stopped heartbeat judges nothing");
  assert.equal(clock.pending, 0, "no timer left behind");
});
