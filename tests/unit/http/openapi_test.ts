import assert from "node:assert/strict";
import { createApiRoutes } from "../../../src/handlers/routes.ts";
import { OPENAPI_DOCUMENT } from "../../../src/handlers/openapi.ts";
import { createCacheView } from "../../../src/handlers/cache_view.ts";
import { MemoryCache } from "../../../src/kube/cache/memory_cache.ts";
import type { Scaler } from "../../../src/kube/writes/scaler.ts";

const routes = createApiRoutes({
  view: createCacheView({ cache: new MemoryCache(), staleAfterMs: 120_000 }),
  scaler: {} as Scaler,
  maxReplicas: 1000,
});

/** "/api/v1/namespaces/:namespace/deployments" -> "/api/v1/namespaces/{namespace}/deployments" */
const toOpenApiPath = (path: string) => path.replaceAll(/:([A-Za-z]+)/g, "{$1}");

Deno.test("every route in the router table is documented in the OpenAPI document, and vice versa", () => {
  // A route with a query (a watch, a rollout wait) is a mode of the plain route's operation: OpenAPI has one per method and path.
  const fromRouter = routes.filter((r) => r.query === undefined).map((r) => `${r.method} ${toOpenApiPath(r.path)}`).sort();
  const fromDocument = Object.entries(OPENAPI_DOCUMENT.paths)
    .flatMap(([path, item]) =>
      Object.keys(item).filter((k) => ["get", "put", "post", "delete", "patch"].includes(k)).map((m) => `${m.toUpperCase()} ${path}`)
    )
    .sort();
  assert.deepEqual(fromRouter, fromDocument);
});

Deno.test("every route with a query is a documented value of a parameter of its operation", () => {
  const withQuery = routes.filter((r) => r.query !== undefined);
  assert.ok(withQuery.length >= 4, "the watches and the rollout waits");
  const document = OPENAPI_DOCUMENT as unknown as {
    paths: Record<string, Record<string, { parameters?: { $ref: string }[] }>>;
    components: { parameters: Record<string, { name: string; in: string; schema: { enum?: string[] } }> };
  };
  for (const route of withQuery) {
    const [name, value] = route.query!.split("=");
    const operation = document.paths[toOpenApiPath(route.path)][route.method.toLowerCase()];
    const parameters = (operation.parameters ?? []).map((p) => document.components.parameters[p.$ref.split("/").pop()!]);
    const parameter = parameters.find((p) => p.in === "query" && p.name === name);
    assert.ok(parameter, `${route.name}: ${route.method} ${route.path} documents no query parameter "${name}"`);
    assert.ok(parameter.schema.enum?.includes(value), `${route.name}: "${value}" is not a documented value of "${name}"`);
  }
});

Deno.test("the OpenAPI document is 3.1, resolves every $ref, and declares mutual TLS", () => {
  assert.equal(OPENAPI_DOCUMENT.openapi, "3.1.0");
  const text = JSON.stringify(OPENAPI_DOCUMENT);
  for (const [, ref] of text.matchAll(/"\$ref":"#\/([^"]+)"/g)) {
    // deno-lint-ignore no-explicit-any
    const target = ref.split("/").reduce((node: any, key) => node?.[key], OPENAPI_DOCUMENT);
    assert.ok(target, `dangling $ref #/${ref}`);
  }
  assert.equal(OPENAPI_DOCUMENT.components.securitySchemes.mutualTLS.type, "mutualTLS");
});

Deno.test("the documented PUT body limits match the validation (replicas 0..1000, no other fields)", () => {
  const schema = OPENAPI_DOCUMENT.components.schemas.ScaleRequest;
  assert.equal(schema.additionalProperties, false);
  assert.equal(schema.properties.replicas.minimum, 0);
  assert.equal(schema.properties.replicas.maximum, 1000);
});

Deno.test("GET /api/v1/openapi.json serves the document", async () => {
  const route = routes.find((r) => r.name === "openapi")!;
  const response = await route.handler(new Request("https://localhost/api/v1/openapi.json"), { remoteAddr: "x", params: {} });
  assert.equal(response.headers.get("content-type"), "application/json");
  assert.deepEqual(await response.json(), OPENAPI_DOCUMENT);
});
