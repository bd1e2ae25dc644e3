/** GET /api/v1/whoami through the app, without sockets: the verified identity and what the policy lets it do. */
import assert from "node:assert/strict";
import { createApp, createRouter, type RequestContext } from "../../../src/http/mod.ts";
import { createApiRoutes, createCacheView } from "../../../src/handlers/mod.ts";
import { byNamespace } from "../../../src/handlers/whoami.ts";
import { MemoryCache } from "../../../src/kube/mod.ts";
import { createScaler, type ScaleApi } from "../../../src/kube/mod.ts";
import { createAuthorizer, createReloadableAuthorizer, parsePolicy } from "../../../src/authz/mod.ts";
import { createLogger } from "../../../src/observability/mod.ts";

const DENIED = Array.from({ length: 32 }, () => "EE").join(":");
const NOT_AFTER = "2026-12-14T09:00:00.000Z";
const NOW = Date.parse("2026-12-07T09:00:00.000Z");
const alice = Object.freeze({
  cn: "alice",
  organizations: Object.freeze(["sre"]),
  fingerprint256: "AB:CD",
  serialNumber: "1A2B3C",
  issuer: "CN=replica-api dev CA",
  notBefore: "2026-12-07T08:00:00.000Z",
  notAfter: NOT_AFTER,
});

const POLICY = JSON.stringify({
  rules: [
    { subjects: [{ group: "sre" }], permissions: { read: ["team-a", "team-b"] } },
    { subjects: [{ cn: "alice" }], permissions: { scale: ["*"] } },
  ],
  deniedFingerprints: [DENIED],
});

const noScale: ScaleApi = {
  readScale: () => Promise.reject(new Error("not used")),
  patchScale: () => Promise.reject(new Error("not used")),
};

function app(policy = POLICY) {
  const cache = new MemoryCache();
  const authorizer = createReloadableAuthorizer(createAuthorizer(parsePolicy(policy, "policy.json")));
  const routes = createApiRoutes({
    view: createCacheView({ cache, staleAfterMs: 60_000 }),
    scaler: createScaler({ api: noScale, cache, writeSyncTimeoutMs: 100 }),
    maxReplicas: 10,
    authorizer,
    now: () => NOW,
  });
  const handler = createApp({ router: createRouter(routes), log: createLogger({ sink: () => {} }), accessLog: false });
  return {
    authorizer,
    get: (client: RequestContext["client"], path = "/api/v1/whoami") =>
      handler(new Request(`https://localhost${path}`), { remoteAddr: "127.0.0.1:1", params: {}, client }),
  };
}

Deno.test("whoami answers the verified identity, its expiry and its permissions per namespace", async () => {
  const response = await app().get(alice);
  assert.equal(response.status, 200);
  assert.equal(response.headers.get("cache-control"), "no-store");
  assert.deepEqual(await response.json(), {
    identity: { ...alice, expiresInSeconds: 7 * 86_400 },
    policy: "policy.json",
    permissions: { read: ["team-a", "team-b"], scale: "*" },
    namespaces: { "*": ["scale"], "team-a": ["read", "scale"], "team-b": ["read", "scale"] },
  });
});

Deno.test("whoami tells a denied certificate why, and grants it nothing", async () => {
  const body = await (await app().get({ ...alice, fingerprint256: DENIED.toLowerCase() })).json();
  assert.match(body.denied, /deniedFingerprints/);
  assert.deepEqual(body.permissions, { read: [], scale: [] });
  assert.deepEqual(body.namespaces, {});
});

Deno.test("whoami needs only a valid certificate: an identity with no grant still gets its answer", async () => {
  const response = await app().get({ cn: "bob", organizations: [], fingerprint256: "01" });
  assert.equal(response.status, 200);
  assert.deepEqual((await response.json()).namespaces, {});
});

Deno.test("whoami follows a reloaded policy at once", async () => {
  const t = app();
  t.authorizer.replace(createAuthorizer(parsePolicy(`{"rules": [{"subjects": [{"cn": "alice"}], "permissions": {"read": ["x"]}}]}`, "p2")));
  const body = await (await t.get(alice)).json();
  assert.deepEqual(body.permissions, { read: ["x"], scale: [] });
  assert.equal(body.policy, "p2");
});

Deno.test("whoami refuses query parameters, as every endpoint does", async () => {
  const response = await app().get(alice, "/api/v1/whoami?verbose=true");
  assert.equal(response.status, 400);
  await response.body?.cancel();
});

Deno.test("the namespaces view lists every named namespace with the permissions held there, wildcards included", () => {
  assert.deepEqual(byNamespace({ read: "*", scale: ["b", "a"] }), { "*": ["read"], a: ["read", "scale"], b: ["read", "scale"] });
  assert.deepEqual(byNamespace({ read: [], scale: [] }), {});
});
