/** watch end to end: SSE over the real mTLS listener, resuming with Last-Event-ID, 410, ERROR events, retries. */
import assert from "node:assert/strict";
import { cli, eventStream, type FakeApi, problem, type RecordedRequest, startFakeApi, VirtualClock } from "./_fake_api.ts";

const deployment = (name: string, replicas: number, rv: string) => ({
  namespace: "demo",
  name,
  replicas,
  readyReplicas: replicas,
  availableReplicas: replicas,
  resourceVersion: rv,
});
const event = (type: string, rv: string, name: string, replicas: number) =>
  `event: ${type}\nid: ${rv}\ndata: ${JSON.stringify(deployment(name, replicas, rv))}\n\n`;
const errorEvent = (status: number, title: string, detail: string) =>
  `event: ERROR\ndata: ${JSON.stringify({ type: "about:blank", title, status, detail })}\n\n`;

/** Each connection gets the next scripted answer: a function that drives a stream, or a plain Response. */
type Script = (request: RecordedRequest) => Response;

async function watching(scripts: Script[], argv: string[], options: Parameters<typeof cli>[2] = {}) {
  const fake: FakeApi = await startFakeApi((request) => {
    const next = scripts.shift();
    if (!next) return problem(500, "Internal Server Error", "the test ran out of scripted answers");
    return next(request);
  });
  try {
    const run = await cli(argv, fake.env, { clock: new VirtualClock(), ...options });
    return { run, requests: fake.requests };
  } finally {
    await fake.close();
  }
}

/** A stream that sends `text` and then ends. */
const sendAndClose = (text: string): Script => () => {
  const stream = eventStream();
  stream.send(text);
  stream.close();
  return stream.response;
};

Deno.test("watch prints events as an aligned table and resumes with Last-Event-ID after the server closes", async () => {
  const { run, requests } = await watching([
    sendAndClose(": connected\n\n" + event("ADDED", "100", "web", 3) + event("MODIFIED", "101", "web", 5)),
    sendAndClose(event("DELETED", "102", "web", 5) + errorEvent(403, "Forbidden", 'CN=alice may no longer "read" in "demo"')),
  ], ["watch"]);
  assert.equal(run.code, 1);
  assert.equal(
    run.stdout,
    [
      "EVENT      NAMESPACE   NAME       REPLICAS   READY      AVAILABLE",
      "ADDED      demo        web        3          3          3",
      "MODIFIED   demo        web        5          5          5",
      "DELETED    demo        web        5          5          5",
    ].join("\n"),
  );
  // Ended right after it began: counted as a failure, so it is retried after the default 1 s.
  assert.match(run.stderr, /watch: the server ended the stream; resuming after 101 in 1 s\n/);
  assert.match(run.stderr, /error: the server ended the watch: CN=alice may no longer "read" in "demo" \(403 Forbidden\)$/);
  assert.equal(requests.length, 2);
  assert.equal(requests[0].target, "/api/v1/deployments?watch=true");
  assert.equal(requests[0].headers.get("accept"), "text/event-stream");
  assert.equal(requests[0].headers.get("last-event-id"), null, "a fresh watch asks for the current state");
  assert.equal(requests[1].headers.get("last-event-id"), "101");
});

Deno.test("watch -n -o json prints one JSON document per event from the namespace's stream", async () => {
  const { run, requests } = await watching([
    sendAndClose(event("ADDED", "7", "web", 1) + errorEvent(403, "Forbidden", 'CN=alice may not "read" in namespace "demo"')),
  ], ["watch", "-n", "demo", "-o", "json"]);
  assert.equal(requests[0].target, "/api/v1/namespaces/demo/deployments?watch=true");
  assert.deepEqual(run.stdout.split("\n").map((line) => JSON.parse(line)), [{ type: "ADDED", object: deployment("web", 1, "7") }]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /may not "read" in namespace "demo" \(403 Forbidden\)/);
});

Deno.test("watch starts over without Last-Event-ID when the resume point has expired (410)", async () => {
  const { run, requests } = await watching([
    sendAndClose(event("ADDED", "5", "web", 1)),
    () => problem(410, "Gone", "resourceVersion 5 is older than the oldest event this replica can replay"),
    sendAndClose(event("ADDED", "50", "web", 2) + errorEvent(500, "Internal Server Error", "end of test")),
  ], ["watch"]);
  assert.equal(requests.map((r) => r.headers.get("last-event-id")).join(","), ",5,", "fresh, resume, fresh");
  assert.match(run.stderr, /watch: resume point 5 has expired \(410\); starting over from the current state/);
  assert.match(run.stdout, /ADDED\s+demo\s+web\s+2/);
  assert.equal(run.code, 1);
});

Deno.test("watch resumes with Last-Event-ID when the server's final ERROR says to come back (503 shutdown, 429 too slow)", async () => {
  const clock = new VirtualClock(60_000);
  const { run, requests } = await watching(
    [
      sendAndClose(event("ADDED", "20", "web", 1) + errorEvent(503, "Service Unavailable", "the server is shutting down; reconnect")),
      sendAndClose(event("MODIFIED", "21", "web", 2) + errorEvent(429, "Too Many Requests", "slow consumer: reconnect")),
      sendAndClose(event("MODIFIED", "22", "web", 3) + errorEvent(500, "Internal Server Error", "end of test")),
    ],
    ["watch"],
    { clock, watch: { maxRetries: 0 } },
  );
  assert.deepEqual(requests.map((r) => r.headers.get("last-event-id")), [null, "20", "21"]);
  assert.deepEqual(clock.sleeps, [], "after a healthy stream the reconnect is immediate");
  assert.match(run.stderr, /^watch: the server ended the stream: the server is shutting down; reconnect; resuming after 20\n/);
  assert.match(run.stderr, /\nwatch: the server ended the stream: slow consumer: reconnect; resuming after 21\n/);
  assert.match(run.stderr, /\nerror: the server ended the watch: end of test \(500 Internal Server Error\)$/);
  assert.equal(run.stdout.split("\n").length, 4, "header and three rows");
});

Deno.test("watch ends with a clear message when an ERROR event's data is not a problem", async () => {
  const { run } = await watching([sendAndClose("event: ERROR\ndata: kaput\n\n")], ["watch"]);
  assert.equal(run.code, 1);
  assert.equal(run.stderr, "error: the server ended the watch with an error: kaput");
});

Deno.test("watch treats an ERROR event with status 410 as an expired resume point, not the end", async () => {
  const { run, requests } = await watching([
    sendAndClose(event("ADDED", "5", "web", 1) + errorEvent(410, "Gone", "too far behind")),
    sendAndClose(errorEvent(500, "Internal Server Error", "end of test")),
  ], ["watch"]);
  assert.equal(requests[1].headers.get("last-event-id"), null);
  assert.match(run.stderr, /resume point 5 has expired/);
  assert.match(run.stderr, /error: the server ended the watch: end of test/);
});

Deno.test("watch reconnects when the stream goes silent past the idle timeout, even without a FIN", async () => {
  let silent!: ReturnType<typeof eventStream>;
  const { run, requests } = await watching(
    [
      () => {
        silent = eventStream();
        silent.send(event("ADDED", "9", "web", 1) + ": heartbeat\n\n");
        return silent.response; // then nothing, and never closed by the server
      },
      sendAndClose(errorEvent(500, "Internal Server Error", "end of test")),
    ],
    ["watch"],
    { watch: { idleTimeoutMs: 300 } },
  );
  assert.match(run.stderr, /watch: no event or heartbeat for 0.3 s; resuming after 9/);
  assert.equal(requests[1].headers.get("last-event-id"), "9");
  await silent.closed; // the abandoned stream was cancelled, not leaked
  assert.equal(run.code, 1);
});

Deno.test("watch retries a failed reconnect with backoff, honouring Retry-After and the server's retry field", async () => {
  const clock = new VirtualClock(60_000); // streams live a minute: healthy
  const { run } = await watching(
    [
      sendAndClose("retry: 2000\n\n" + event("ADDED", "1", "web", 1)),
      () => problem(503, "Service Unavailable", "too many streams", { "retry-after": "7" }),
      () => problem(502, "Bad Gateway", "upstream"),
      sendAndClose(errorEvent(500, "Internal Server Error", "end of test")),
    ],
    ["watch"],
    { clock },
  );
  assert.deepEqual(clock.sleeps, [7000, 4000], "Retry-After wins when longer; then the server's 2 s retry, doubled");
  assert.match(run.stderr, /watch: too many streams; reconnecting in 7 s/);
  assert.match(run.stderr, /watch: upstream; reconnecting in 4 s/);
});

Deno.test("watch gives up after the configured number of failed reconnects and exits 1 with the last error", async () => {
  const clock = new VirtualClock(60_000);
  const { run, requests } = await watching(
    [
      sendAndClose(event("ADDED", "1", "web", 1)),
      ...Array.from({ length: 5 }, () => () => problem(503, "Service Unavailable", "cache not synced")),
    ],
    ["watch"],
    { clock, watch: { maxRetries: 3 } },
  );
  assert.equal(run.code, 1);
  assert.equal(requests.length, 5, "1 stream + 4 failed attempts (the 4th exceeds 3 retries)");
  assert.match(run.stderr, /error: cache not synced \(503 Service Unavailable\)$/);
});

Deno.test("watch fails at once when the first connection is refused by the API (no retrying a 403)", async () => {
  const { run, requests } = await watching([
    () => problem(403, "Forbidden", 'CN=alice may not "read" in namespace "prod"'),
  ], ["watch", "-n", "prod"]);
  assert.equal(run.code, 1);
  assert.equal(requests.length, 1);
  assert.equal(run.stderr, 'error: CN=alice may not "read" in namespace "prod" (403 Forbidden)');
});

Deno.test("watch says so when the server answers with a list instead of an event stream", async () => {
  const { run } = await watching([
    () => new Response('{"items":[]}', { headers: { "content-type": "application/json" } }),
  ], ["watch"]);
  assert.equal(run.code, 1);
  assert.equal(run.stderr, "error: the API answered the watch with application/json, not an event stream (does it support ?watch=true?)");
});

Deno.test("watch skips events it does not know and data that is not JSON, and keeps going", async () => {
  const { run } = await watching([
    sendAndClose(
      "event: BOOKMARK\nid: 3\ndata: {}\n\nevent: ADDED\nid: 4\ndata: not json\n\n" + event("ADDED", "5", "web", 1) +
        errorEvent(500, "Internal Server Error", "end of test"),
    ),
  ], ["watch"]);
  assert.equal(run.stdout.split("\n").length, 2, "header and one row");
  assert.match(run.stderr, /watch: skipped a ADDED event whose data is not JSON/);
});

Deno.test("watch reopens a long-lived stream at once when the server ends it, without counting a failure", async () => {
  const clock = new VirtualClock(60_000);
  const { run, requests } = await watching(
    [
      sendAndClose(event("ADDED", "1", "web", 1)),
      sendAndClose(event("MODIFIED", "2", "web", 2)),
      sendAndClose(errorEvent(500, "Internal Server Error", "end of test")),
    ],
    ["watch"],
    { clock, watch: { maxRetries: 0 } },
  );
  assert.deepEqual(clock.sleeps, []);
  assert.equal(requests.length, 3, "maxRetries 0 and still reconnected: clean ends of healthy streams are not failures");
  assert.match(run.stderr, /^watch: the server ended the stream; resuming after 1\nwatch: the server ended the stream; resuming after 2\n/);
});

Deno.test("watch gives up on a server that accepts the connection but never answers", async () => {
  const silent = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of silent) held.push(conn);
  })();
  const api = await startFakeApi(() => problem(500, "Internal Server Error", "unused"));
  try {
    const url = `https://localhost:${(silent.addr as Deno.NetAddr).port}`;
    const run = await cli(["watch", "--url", url], api.env, { watch: { idleTimeoutMs: 200 } });
    assert.equal(run.code, 1);
    assert.equal(run.stderr, `error: ${url} did not answer in time`);
  } finally {
    silent.close();
    await accepting.catch(() => {});
    for (const conn of held) conn.close();
    await api.close();
  }
});

Deno.test("watch ends quietly when its signal is aborted (Ctrl-C)", async () => {
  const stop = new AbortController();
  const { run } = await watching(
    [
      () => {
        const stream = eventStream();
        stream.send(event("ADDED", "1", "web", 1));
        setTimeout(() => stop.abort(), 50);
        return stream.response;
      },
    ],
    ["watch"],
    { watch: { signal: stop.signal } },
  );
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stderr, "");
  assert.match(run.stdout, /ADDED\s+demo\s+web/);
});
