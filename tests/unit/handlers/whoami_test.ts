/** GET /api/v1/whoami through the app, without sockets: the verified identity and what the policy lets it do. */
import assert from "node:assert/strict";
import { createApp, createRouter, type RequestContext } from "../../../src/http/mod.ts";
import { createApiRoutes, createCacheView } from "../../../src/handlers/mod.ts";
import { byNamespace } from "../../../src/handlers/whoami.ts";
import { MemoryCache } from "../../../src/kube/mod.ts";
import { createScaler, type ScaleApi } from "../../../src/kube/mod.ts";
import { allowAll, createAuthorizer, createReloadableAuthorizer, type Operation, parsePolicy } from "../../../src/authz/mod.ts";
import { createWhoamiHandler } from "../../../src/handlers/whoami.ts";
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
    { subjects: [{ group: "sre" }], permissions: { restart: ["team-a"], image: ["*"] }, images: ["registry.internal/*"] },
    { subjects: [{ cn: "alice" }], permissions: { image: ["team-b"] }, images: ["ghcr.io/acme/*"] },
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
    permissions: { read: ["team-a", "team-b"], scale: "*", restart: ["team-a"], pause: [], undo: [], image: "*" },
    namespaces: { "*": ["scale", "image"], "team-a": ["read", "scale", "restart", "image"], "team-b": ["read", "scale", "image"] },
    imagePatterns: { "*": ["registry.internal/*"], "team-b": ["registry.internal/*", "ghcr.io/acme/*"] },
    operations: ["scale"],
  });
});

/** The handler alone, with the operations the server has enabled. */
function whoami(operations?: ReadonlySet<Operation>, authorizer = allowAll()) {
  const handler = createWhoamiHandler({ authorizer, operations, now: () => NOW });
  return async () => {
    const response = await handler(new Request("https://localhost/api/v1/whoami"), {
      remoteAddr: "127.0.0.1:1",
      params: {},
      client: alice,
    });
    return await response.json();
  };
}

Deno.test("whoami lists the operations the server has enabled, in their one order, scale alone by default", async () => {
  assert.deepEqual((await whoami()()).operations, ["scale"], "the OPERATIONS default");
  assert.deepEqual((await whoami(new Set<Operation>(["image", "scale", "pause"]))()).operations, ["scale", "pause", "image"]);
  assert.deepEqual((await whoami(new Set<Operation>())()).operations, [], "OPERATIONS=none: a read-only server");
});

Deno.test("whoami shows what the policy grants even for operations the server has not enabled", async () => {
  const body = await whoami(new Set<Operation>(["scale"]))();
  assert.deepEqual(body.permissions, { read: "*", scale: "*", restart: "*", pause: "*", undo: "*", image: "*" });
  assert.deepEqual(body.namespaces, { "*": ["read", "scale", "restart", "pause", "undo", "image"] });
  assert.deepEqual(body.imagePatterns, { "*": ["*"] }, "no policy: any image everywhere");
});

Deno.test("whoami tells a denied certificate why, and grants it nothing", async () => {
  const body = await (await app().get({ ...alice, fingerprint256: DENIED.toLowerCase() })).json();
  assert.match(body.denied, /deniedFingerprints/);
  assert.deepEqual(body.permissions, { read: [], scale: [], restart: [], pause: [], undo: [], image: [] });
  assert.deepEqual(body.namespaces, {});
  assert.deepEqual(body.imagePatterns, {});
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
  assert.deepEqual(body.permissions, { read: ["x"], scale: [], restart: [], pause: [], undo: [], image: [] });
  assert.deepEqual(body.imagePatterns, {});
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
  assert.deepEqual(
    byNamespace({ read: ["a"], scale: [], restart: "*", pause: ["a"], undo: [], image: ["b"] }),
    { "*": ["restart"], a: ["read", "restart", "pause"], b: ["restart", "image"] },
    "in the order of PERMISSIONS",
  );
});
