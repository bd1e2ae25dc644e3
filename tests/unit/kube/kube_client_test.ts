/**
 * The client's requests against a stand-in API server over TLS (with a client certificate, offering h2 first as
 * kube-apiserver does): paths, verbs, query, content types, bodies, errors, deadlines and metrics.
 */
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { createKubeClient } from "../../../src/kube/client.ts";
import { Kubeconfig } from "../../../src/kube/api/kubeconfig.ts";
import { KubeApiError } from "../../../src/kube/api/kube_api_error.ts";
import { sharedTestPki } from "../../support/pki.ts";
import { startWatchServer, type WatchHandler } from "./api/_watch_server.ts";

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  body: unknown;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    req.on("data", (chunk) => text += chunk);
    req.on("end", () => resolve(text));
  });
}

async function withClient(
  handler: (seen: Seen) => { status: number; body: unknown; headers?: Record<string, string> } | "hang",
  test: (
    ctx: { client: ReturnType<typeof createKubeClient>; seen: Seen[]; observed: string[][]; alpn: () => unknown[]; cn: () => unknown[] },
  ) => Promise<void>,
  timeoutMs = 5000,
): Promise<void> {
  const pki = await sharedTestPki();
  const seen: Seen[] = [];
  const serve: WatchHandler = async (req, res) => {
    const text = await readBody(req);
    const s = { method: req.method!, url: req.url!, contentType: req.headers["content-type"], body: text ? JSON.parse(text) : undefined };
    seen.push(s);
    const answer = handler(s);
    if (answer === "hang") return;
    res.writeHead(answer.status, { "content-type": "application/json", ...answer.headers });
    res.end(typeof answer.body === "string" ? answer.body : JSON.stringify(answer.body));
  };
  const server = await startWatchServer(pki, serve);
  const kc = new Kubeconfig();
  kc.loadFromString(JSON.stringify({
    clusters: [{ name: "c", cluster: { server: server.url, "certificate-authority-data": btoa(pki.ca.cert) } }],
    users: [{ name: "u", user: { token: "abc", "client-certificate": pki.alice.certPath, "client-key": pki.alice.keyPath } }],
    contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
    "current-context": "x",
  }));
  const observed: string[][] = [];
  const client = createKubeClient(kc, {
    watchIdleTimeoutMs: 5000,
    requestTimeoutMs: timeoutMs,
    observe: (verb, status) => observed.push([verb, status]),
  });
  try {
    await test({
      client,
      seen,
      observed,
      alpn: () => server.requests.map((r) => r.alpn),
      cn: () => server.requests.map((r) => r.clientCn),
    });
    for (const r of server.requests) assert.equal(r.headers.authorization, "Bearer abc");
  } finally {
    await server.close();
  }
}

const scale = (replicas: number) => ({ kind: "Scale", metadata: { resourceVersion: "42", uid: "u-1" }, spec: { replicas } });

Deno.test("the client lists, reads and patches the scale and creates Events with the API's paths, verbs and content types", async () => {
  await withClient((s) => {
    if (s.url.includes("/deployments?")) {
      return { status: 200, body: { metadata: { resourceVersion: "7", continue: "next" }, items: [{ a: 1 }] } };
    }
    if (s.method === "POST") return { status: 201, body: s.body };
    return { status: 200, body: scale(s.method === "PATCH" ? 5 : 3) };
  }, async ({ client, seen, observed, alpn, cn }) => {
    const page = await client.source.listDeployments("prod", { limit: 500, continue: "abc=" });
    assert.deepEqual(page, { metadata: { resourceVersion: "7", continue: "next" }, items: [{ a: 1 }] });
    await client.source.listDeployments(undefined, { limit: 500 });
    await client.source.listAutoscalers!("prod", {});
    await client.source.listNamespaces();
    assert.deepEqual(await client.scaleApi.readScale("prod", "web"), { replicas: 3, resourceVersion: "42", uid: "u-1" });
    assert.deepEqual(await client.scaleApi.patchScale("prod", "web", 5, "41"), { replicas: 5, resourceVersion: "42", uid: "u-1" });
    await client.scaleApi.patchScale("prod", "web", 5, "41", { dryRun: true });
    const event = { apiVersion: "events.k8s.io/v1", kind: "Event", metadata: { generateName: "web." } };
    await client.eventApi.createEvent("prod", event as never);

    assert.deepEqual(seen.map((s) => `${s.method} ${s.url}`), [
      "GET /apis/apps/v1/namespaces/prod/deployments?limit=500&continue=abc%3D",
      "GET /apis/apps/v1/deployments?limit=500",
      "GET /apis/autoscaling/v2/namespaces/prod/horizontalpodautoscalers",
      "GET /api/v1/namespaces",
      "GET /apis/apps/v1/namespaces/prod/deployments/web/scale",
      "PATCH /apis/apps/v1/namespaces/prod/deployments/web/scale?fieldManager=replica-api",
      "PATCH /apis/apps/v1/namespaces/prod/deployments/web/scale?fieldManager=replica-api&dryRun=All",
      "POST /apis/events.k8s.io/v1/namespaces/prod/events",
    ]);
    assert.equal(seen[5].contentType, "application/merge-patch+json");
    assert.deepEqual(seen[5].body, { metadata: { resourceVersion: "41" }, spec: { replicas: 5 } }, "a conditional merge patch");
    assert.equal(seen[7].contentType, "application/json");
    assert.deepEqual(seen[7].body, event);
    assert.deepEqual(observed, [
      ["list", "200"],
      ["list", "200"],
      ["list", "200"],
      ["list", "200"],
      ["get", "200"],
      ["patch", "200"],
      ["patch", "200"],
      ["create", "200"],
    ]);
    assert.ok(alpn().every((p) => p === "http/1.1"), `HTTP/1.1 only, though the server offers h2 first: ${alpn()}`);
    assert.ok(cn().every((c) => c === "alice"), "the kubeconfig's client certificate is presented");
  });
});

Deno.test("API errors carry the status, the Status body's message and reason, and Retry-After, and are counted by status", async () => {
  const answers = [
    { status: 409, body: { kind: "Status", code: 409, reason: "Conflict", message: "the object has been modified" } },
    { status: 429, body: { kind: "Status", code: 429, reason: "TooManyRequests", message: "slow down" }, headers: { "retry-after": "3" } },
    { status: 500, body: "upstream exploded" },
  ];
  await withClient(() => answers.shift()!, async ({ client, observed }) => {
    const conflict = await client.scaleApi.patchScale("prod", "web", 2, "1").catch((e) => e);
    assert.ok(conflict instanceof KubeApiError);
    assert.deepEqual([conflict.status, conflict.message, conflict.reason], [409, "the object has been modified", "Conflict"]);
    const limited = await client.scaleApi.readScale("prod", "web").catch((e) => e);
    assert.deepEqual([limited.status, limited.reason, limited.retryAfterSeconds], [429, "TooManyRequests", 3]);
    const broken = await client.source.listNamespaces().catch((e) => e);
    assert.deepEqual([broken.status, broken.message], [500, "upstream exploded"]);
    assert.deepEqual(observed, [["patch", "409"], ["get", "429"], ["list", "500"]]);
  });
});

Deno.test("a request the API server leaves unanswered is a 504 after the deadline; an unreachable one is status 0", async () => {
  await withClient(() => "hang", async ({ client, observed }) => {
    const started = performance.now();
    const late = await client.scaleApi.readScale("prod", "web").catch((e) => e);
    assert.ok(late instanceof KubeApiError);
    assert.equal(late.status, 504);
    assert.match(late.message, /no answer within 300 ms/);
    assert.ok(performance.now() - started < 3000, "the deadline is kept");
    assert.deepEqual(observed, [["get", "504"]]);
  }, 300);

  const kc = new Kubeconfig();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  kc.loadFromString(JSON.stringify({
    clusters: [{ name: "c", cluster: { server: `https://127.0.0.1:${port}` } }],
    users: [{ name: "u", user: { token: "abc" } }],
    contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
    "current-context": "x",
  }));
  const observed: string[][] = [];
  const client = createKubeClient(kc, { watchIdleTimeoutMs: 5000, requestTimeoutMs: 5000, observe: (v, s) => observed.push([v, s]) });
  const refused = await client.source.listNamespaces().catch((e) => e);
  assert.ok(refused instanceof KubeApiError);
  assert.equal(refused.status, 0);
  assert.match(refused.message, /refused|connect/i);
  assert.deepEqual(observed, [["list", "error"]]);
});
