/**
 * [integration] Watch streams, rollout waits and NotOlderThan reads against a
 * real kube-apiserver (with kube-controller-manager, but no nodes: Pods never
 * become ready, so a rollout to a non-zero count never completes here).
 */
import assert from "node:assert/strict";
import { chartServiceAccount, createDeployment, createNamespace, kubectl, uniqueName } from "./harness/cluster.ts";
import { type RunningService, startService, waitFor } from "./harness/service.ts";

const put = (replicas: number, headers: Record<string, string> = {}): RequestInit => ({
  method: "PUT",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify({ replicas }),
});

interface SseEvent {
  event?: string;
  id?: string;
  data?: string;
}

/** An SSE stream read with Deno's fetch and the service's client certificate. */
async function openStream(svc: RunningService, path: string, headers: Record<string, string> = {}) {
  const client = Deno.createHttpClient({ caCerts: [svc.pki.ca.cert], cert: svc.pki.alice.cert, key: svc.pki.alice.key });
  const response = await fetch(`${svc.apiUrl}${path}`, { client, headers });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  const next = async (timeoutMs = 10_000): Promise<SseEvent | undefined> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const end = buffer.indexOf("\n\n");
      if (end !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event: Record<string, string> = {};
        for (const line of block.split("\n")) {
          if (line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          event[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, "");
        }
        if (event.data !== undefined) return event;
        continue;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const chunk = await Promise.race([
        reader.read(),
        new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error("no SSE event in time")), deadline - Date.now())),
      ]).finally(() => clearTimeout(timer));
      if (chunk.done) return undefined;
      buffer += chunk.value;
    }
  };
  /** The next event matching `predicate`, skipping others (kube-controller-manager writes status too). */
  const until = async (predicate: (e: SseEvent, d: Record<string, unknown>) => boolean, timeoutMs = 10_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const e = await next(Math.max(1, deadline - Date.now()));
      if (!e) throw new Error("stream ended");
      if (predicate(e, JSON.parse(e.data!))) return e;
    }
  };
  const close = async () => {
    await reader.cancel().catch(() => {});
    client.close();
  };
  return { response, next, until, close };
}

Deno.test("[integration] watch streams: kubectl changes arrive, Last-Event-ID resumes, old ids get 410, SIGTERM ends the stream", async (t) => {
  const ns = uniqueName("it-watch");
  await createNamespace(ns);
  await createDeployment(ns, "web", 1);
  await createDeployment(ns, "api", 1);
  const sa = await chartServiceAccount();
  const svc = await startService({ kubeconfig: sa.kubeconfig });
  try {
    let lastId = "";
    await t.step("the stream starts with the namespace's Deployments and then shows a kubectl scale", async () => {
      const stream = await openStream(svc, `/api/v1/namespaces/${ns}/deployments?watch=true`);
      assert.equal(stream.response.status, 200);
      assert.equal(stream.response.headers.get("content-type"), "text/event-stream; charset=utf-8");
      const snapshot = [await stream.next(), await stream.next()];
      assert.deepEqual(snapshot.map((e) => [e?.event, JSON.parse(e!.data!).name]), [["ADDED", "api"], ["ADDED", "web"]]);
      assert.equal(snapshot[0]?.id, undefined);
      assert.match(snapshot[1]?.id ?? "", /^\d+$/, "the last snapshot event carries the position");
      const started = performance.now();
      await kubectl(["scale", "deployment", "web", "-n", ns, "--replicas=4"]);
      const e = await stream.until((e, d) => e.event === "MODIFIED" && d.name === "web" && d.replicas === 4);
      console.log(`  kubectl scale -> SSE event: ${(performance.now() - started).toFixed(0)} ms (kubectl included)`);
      const data = JSON.parse(e.data!);
      assert.deepEqual(Object.keys(data).sort(), [
        "availableReplicas",
        "name",
        "namespace",
        "readyReplicas",
        "replicas",
        "resourceVersion",
      ]);
      assert.equal(e.id, data.resourceVersion);
      lastId = e.id!;
      await stream.close();
    });

    await t.step("reconnecting with Last-Event-ID replays what happened meanwhile, without a snapshot", async () => {
      await kubectl(["scale", "deployment", "api", "-n", ns, "--replicas=2"]);
      await waitFor(async () => (await svc.api(`/api/v1/namespaces/${ns}/deployments/api`)).body.replicas === 2, 5000, "api scaled");
      const stream = await openStream(svc, `/api/v1/namespaces/${ns}/deployments?watch=true`, { "last-event-id": lastId });
      assert.equal(stream.response.status, 200);
      const first = await stream.next();
      assert.equal(first?.event, "MODIFIED", "no ADDED snapshot on resume");
      assert.ok(BigInt(first!.id!) > BigInt(lastId));
      await stream.until((e, d) => e.event === "MODIFIED" && d.name === "api" && d.replicas === 2);
      await stream.close();
    });

    await t.step("an id older than the replayable history answers 410 problem+json", async () => {
      const r = await svc.api(`/api/v1/deployments?watch=true`, { headers: { "last-event-id": "1" } });
      assert.equal(r.status, 410);
      assert.equal(r.headers.get("content-type"), "application/problem+json");
      assert.match(r.body.detail, /list again/);
    });

    await t.step("a delete arrives as DELETED", async () => {
      const stream = await openStream(svc, `/api/v1/deployments?watch=true`);
      await stream.until((_, d) => d.namespace === ns && d.name === "web");
      await kubectl(["delete", "deployment", "api", "-n", ns, "--wait=false"]);
      await stream.until((e, d) => e.event === "DELETED" && d.namespace === ns && d.name === "api");
      await stream.close();
    });

    await t.step("SIGTERM sends a final ERROR event, closes the stream and exits 0 promptly", async () => {
      const stream = await openStream(svc, `/api/v1/namespaces/${ns}/deployments?watch=true`);
      await stream.next();
      const started = performance.now();
      const exited = svc.stop();
      const last = await stream.until((e) => e.event === "ERROR");
      assert.match(JSON.parse(last.data!).detail, /shutting down/);
      assert.equal(await stream.next(), undefined, "the stream ends after its final event");
      assert.equal(await exited, 0);
      const ms = performance.now() - started;
      console.log(`  SIGTERM with an open stream: exited after ${ms.toFixed(0)} ms`);
      assert.ok(ms < 8_000, `shutdown took ${ms} ms; SHUTDOWN_TIMEOUT is 10 s and streams must not hold it`);
      await stream.close();
    });
  } finally {
    await svc.stop();
  }
});

Deno.test("[integration] wait=rollout: 202 with the reason while Pods cannot start, 200 for a completed rollout", async (t) => {
  const ns = uniqueName("it-rollout");
  await createNamespace(ns);
  await createDeployment(ns, "web", 1);
  const sa = await chartServiceAccount();
  const svc = await startService({ kubeconfig: sa.kubeconfig });
  const path = `/api/v1/namespaces/${ns}/deployments/web/replicas`;
  try {
    await t.step("PUT ?wait=rollout to 3 answers 202 after the timeout with the counts and the Deployment's condition", async () => {
      const started = performance.now();
      const r = await svc.api(`${path}?wait=rollout&timeout=3s`, put(3));
      const ms = performance.now() - started;
      assert.equal(r.status, 202, JSON.stringify(r.body));
      assert.equal(r.body.replicas, 3);
      assert.equal(r.body.rollout.complete, false);
      assert.equal(r.body.rollout.readyReplicas, 0);
      assert.ok(r.body.rollout.reason, "a reason");
      assert.ok(r.body.rollout.message, "a message");
      assert.ok(ms >= 2_900 && ms < 6_000, `answered after ${ms} ms`);
      console.log(`  202 after ${ms.toFixed(0)} ms: ${r.body.rollout.reason}: ${r.body.rollout.message}`);
    });

    await t.step("PUT ?wait=rollout to 0 completes for real (the controller scales the ReplicaSet down) and answers 200", async () => {
      const started = performance.now();
      const r = await svc.api(`${path}?wait=rollout&timeout=30s`, put(0));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.rollout.complete, true);
      assert.ok(r.body.rollout.observedGeneration >= r.body.rollout.generation);
      console.log(`  rollout to 0 complete after ${(performance.now() - started).toFixed(0)} ms`);
    });

    await t.step("GET ?wait=rollout answers 200 when the status subresource reports a completed rollout", async () => {
      await svc.api(path, put(2));
      const waiting = svc.api(`${path}?wait=rollout&timeout=20s`);
      await new Promise((r) => setTimeout(r, 500));
      const generation = (await kubectl(["get", "deployment", "web", "-n", ns, "-o", "jsonpath={.metadata.generation}"])).stdout;
      const status = { observedGeneration: Number(generation), replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 };
      await kubectl(["patch", "deployment", "web", "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status })]);
      const r = await waiting;
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.rollout.complete, true);
      assert.equal(r.body.rollout.availableReplicas, 2);
    });

    await t.step("a bad wait or timeout is 400; a waiting client that disconnects frees its slot", async () => {
      assert.equal((await svc.api(`${path}?wait=yes`)).status, 400);
      assert.equal((await svc.api(`${path}?wait=rollout&timeout=11m`)).status, 400);
      // The previous step faked a completed rollout; a new count makes it incomplete for good (no nodes here), so the
      // wait stays open whether or not kube-controller-manager has rewritten the faked status yet.
      assert.ok([200, 202].includes((await svc.api(path, put(3))).status));
      const controller = new AbortController();
      const pending = svc.api(`${path}?wait=rollout&timeout=5m`, { signal: controller.signal }).catch(() => undefined);
      const metric = async () => {
        const text = (await svc.probe("/metrics")).body as string;
        return Number(/replica_api_streams_open\{kind="wait"\} (\d+)/.exec(text)?.[1]);
      };
      await waitFor(async () => (await metric()) === 1, 5000, "the wait is open");
      controller.abort();
      await pending;
      await waitFor(async () => (await metric()) === 0, 5000, "the wait is gone after the client left");
    });
  } finally {
    await svc.stop();
  }
});

/** The pairs below are many writes from one certificate: what is measured is consistency, not the rate limits. */
const LIMITS_OFF = { WRITE_SYNC_TIMEOUT: "2s", RATE_LIMIT_WRITES: "off", RATE_LIMIT_READS: "off" };

Deno.test("[integration] NotOlderThan: a GET on another replica with the PUT's ETag never reads an older value", async () => {
  const ns = uniqueName("it-consistent");
  await createNamespace(ns);
  await createDeployment(ns, "web", 1);
  const sa = await chartServiceAccount();
  const a = await startService({ kubeconfig: sa.kubeconfig, env: LIMITS_OFF });
  const b = await startService({ kubeconfig: sa.kubeconfig, pki: a.pki, env: LIMITS_OFF });
  const path = `/api/v1/namespaces/${ns}/deployments/web/replicas`;
  try {
    let stale = 0;
    let plainStale = 0;
    const pairs = 200;
    for (let i = 0; i < pairs; i++) {
      const replicas = (i % 9) + 1;
      const w = await a.api(path, put(replicas));
      assert.ok(w.status === 200 || w.status === 202, JSON.stringify(w.body));
      const etag = w.headers.get("etag")!;
      // Without the parameter, replica b may answer before its watch has delivered the change.
      if ((await b.api(path)).body.replicas !== replicas) plainStale++;
      const r = await b.api(`${path}?resourceVersion=${encodeURIComponent(etag)}&resourceVersionMatch=NotOlderThan`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      if (r.body.replicas !== replicas) stale++;
      assert.ok(BigInt(JSON.parse(r.headers.get("etag")!)) >= BigInt(JSON.parse(etag)));
    }
    console.log(`  ${pairs} PUT(a)-then-GET(b) pairs: ${stale} stale with NotOlderThan, ${plainStale} stale without`);
    assert.equal(stale, 0);
    const far = await b.api(`${path}?resourceVersion=999999999&resourceVersionMatch=NotOlderThan`);
    assert.equal(far.status, 504);
    assert.equal(far.headers.get("retry-after"), "1");
    assert.match(far.body.detail, /has not reached resourceVersion 999999999/);
  } finally {
    await b.stop();
    await a.stop();
  }
});
