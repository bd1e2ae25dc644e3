/**
 * `?detail=true` on the lists and the GET of one Deployment, driven without sockets over a MemoryCache: the detail
 * fields and the rollout object of the wait=rollout answers appear only when asked for, and the plain bodies stay
 * byte-for-byte what they were.
 */
import assert from "node:assert/strict";
import { createApp } from "../../../src/http/app.ts";
import { createRouter } from "../../../src/http/router.ts";
import type { RequestContext } from "../../../src/http/types.ts";
import { createApiRoutes } from "../../../src/handlers/routes.ts";
import { createCacheView } from "../../../src/handlers/cache_view.ts";
import { detailBody } from "../../../src/handlers/deployment_detail.ts";
import { MemoryCache } from "../../../src/kube/cache/memory_cache.ts";
import { toRecord } from "../../../src/kube/cache/deployment_record.ts";
import { type RolloutSource, toRolloutStatus } from "../../../src/kube/cache/rollout.ts";
import type { Scaler } from "../../../src/kube/writes/scaler.ts";
import { createLogger } from "../../../src/observability/logger.ts";

const CONTEXT: RequestContext = { remoteAddr: "127.0.0.1:1", params: {}, client: { cn: "alice", organizations: [], fingerprint256: "AA" } };

/** A Deployment mid-rollout: paused, revision 4, one init container, restarted once, two of three replicas updated. */
const WEB: RolloutSource = {
  metadata: {
    namespace: "prod",
    name: "web",
    resourceVersion: "100",
    uid: "u-1",
    generation: 7,
    annotations: { "deployment.kubernetes.io/revision": "4" },
  },
  spec: {
    replicas: 3,
    paused: true,
    template: {
      metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": "2026-12-07T18:00:00Z" } },
      spec: { containers: [{ name: "app", image: "nginx:1.27" }], initContainers: [{ name: "migrate", image: "tool:2" }] },
    },
  },
  status: { observedGeneration: 7, replicas: 4, updatedReplicas: 2, readyReplicas: 3, availableReplicas: 3 },
};
/** A plain, finished Deployment without revision or restart. */
const API: RolloutSource = {
  metadata: { namespace: "prod", name: "api", resourceVersion: "101", generation: 1 },
  spec: { replicas: 1, template: { spec: { containers: [{ name: "api", image: "api:1" }] } } },
  status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 },
};

function harness() {
  const cache = new MemoryCache({ namespaces: ["prod"] });
  for (const obj of [WEB, API]) cache.put(toRecord(obj)!, toRolloutStatus(obj));
  const view = createCacheView({ cache, staleAfterMs: 120_000 });
  const app = createApp({
    router: createRouter(createApiRoutes({ view, scaler: {} as Scaler, maxReplicas: 1000 })),
    log: createLogger({ sink: () => {} }),
    accessLog: false,
  });
  const send = (path: string) => Promise.resolve(app(new Request(`https://localhost${path}`), CONTEXT));
  return { cache, send };
}

async function text(response: Response, status = 200): Promise<string> {
  const body = await response.text();
  assert.equal(response.status, status, body);
  return body;
}

const WEB_DETAIL = {
  namespace: "prod",
  name: "web",
  replicas: 3,
  readyReplicas: 3,
  availableReplicas: 3,
  resourceVersion: "100",
  paused: true,
  containers: [{ name: "app", image: "nginx:1.27" }, { name: "migrate", image: "tool:2", init: true }],
  revision: 4,
  restartedAt: "2026-12-07T18:00:00Z",
  rollout: {
    complete: false,
    generation: 7,
    observedGeneration: 7,
    replicas: 4,
    updatedReplicas: 2,
    readyReplicas: 3,
    availableReplicas: 3,
    reason: "UpdatedReplicasPending",
    message: "2 of 3 new replicas have been updated",
  },
};
const API_DETAIL = {
  namespace: "prod",
  name: "api",
  replicas: 1,
  readyReplicas: 1,
  availableReplicas: 1,
  resourceVersion: "101",
  paused: false,
  containers: [{ name: "api", image: "api:1" }],
  rollout: {
    complete: true,
    generation: 1,
    observedGeneration: 1,
    replicas: 1,
    updatedReplicas: 1,
    readyReplicas: 1,
    availableReplicas: 1,
  },
};

Deno.test("GET of one Deployment with detail=true adds paused, revision, containers, restartedAt and the rollout", async () => {
  const { send } = harness();
  const response = await send("/api/v1/namespaces/prod/deployments/web?detail=true");
  const etag = response.headers.get("etag");
  assert.deepEqual(JSON.parse(await text(response)), WEB_DETAIL);
  assert.equal(etag, `"100"`, "the ETag is the same as without detail");
});

Deno.test("detail leaves revision and restartedAt out when the Deployment has none, and a finished rollout has no reason", async () => {
  const { send } = harness();
  assert.deepEqual(JSON.parse(await text(await send("/api/v1/namespaces/prod/deployments/api?detail=true"))), API_DETAIL);
});

Deno.test("both lists with detail=true carry the detailed form of every item", async () => {
  const { send } = harness();
  for (
    const path of [
      "/api/v1/deployments?detail=true",
      "/api/v1/deployments?namespace=prod&detail=true",
      "/api/v1/namespaces/prod/deployments?detail=true",
    ]
  ) {
    assert.deepEqual(JSON.parse(await text(await send(path))), { items: [API_DETAIL, WEB_DETAIL] }, path);
  }
});

Deno.test("without detail, or with detail=false, every body is byte-for-byte the plain one", async () => {
  const { send } = harness();
  const plainWeb = `{"namespace":"prod","name":"web","replicas":3,"readyReplicas":3,"availableReplicas":3,"resourceVersion":"100"}`;
  const plainApi = `{"namespace":"prod","name":"api","replicas":1,"readyReplicas":1,"availableReplicas":1,"resourceVersion":"101"}`;
  for (const suffix of ["", "?detail=false"]) {
    assert.equal(await text(await send(`/api/v1/namespaces/prod/deployments/web${suffix}`)), plainWeb);
    assert.equal(await text(await send(`/api/v1/namespaces/prod/deployments${suffix}`)), `{"items":[${plainApi},${plainWeb}]}`);
    assert.equal(await text(await send(`/api/v1/deployments${suffix}`)), `{"items":[${plainApi},${plainWeb}]}`);
  }
});

Deno.test("a detailed list follows a change: the rollout is the one stored with the new record", async () => {
  const { cache, send } = harness();
  await text(await send("/api/v1/namespaces/prod/deployments?detail=true"));
  const done: RolloutSource = {
    ...WEB,
    metadata: { ...WEB.metadata, resourceVersion: "102" },
    status: { ...WEB.status, replicas: 3, updatedReplicas: 3 },
  };
  cache.put(toRecord(done)!, toRolloutStatus(done));
  const body = JSON.parse(await text(await send("/api/v1/namespaces/prod/deployments?detail=true")));
  assert.equal(body.items[1].resourceVersion, "102");
  assert.equal(body.items[1].rollout.complete, true);
  assert.equal(body.items[1].rollout.updatedReplicas, 3);
});

Deno.test("detail must be exactly true or false", async (t) => {
  const { send } = harness();
  for (const path of ["/api/v1/deployments", "/api/v1/namespaces/prod/deployments", "/api/v1/namespaces/prod/deployments/web"]) {
    for (const value of ["1", "TRUE", "", "yes"]) {
      await t.step(`${path}?detail=${value}`, async () => {
        const body = JSON.parse(await text(await send(`${path}?detail=${value}`), 400));
        assert.match(body.detail, /query parameter "detail" must be "true" or "false"/);
      });
    }
  }
});

Deno.test("detailBody() leaves rollout out when the cache has no progress for the Deployment", () => {
  const record = toRecord(API)!;
  const body = detailBody(record, undefined);
  assert.equal("rollout" in body, false);
  assert.equal(body.paused, false);
});
