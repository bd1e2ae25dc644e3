/**
 * No state changes on a read method: the cross-origin guard (http/cross_origin.ts) lets every GET, HEAD and OPTIONS
 * through, because a page on another site can make a browser send those with its client certificate.
 */
import assert from "node:assert/strict";
import { createApiRoutes } from "../../../src/handlers/routes.ts";
import { createCacheView } from "../../../src/handlers/cache_view.ts";
import { MemoryCache } from "../../../src/kube/cache/memory_cache.ts";
import type { DeploymentWriter, Scaler } from "../../../src/kube/mod.ts";
import type { Operation } from "../../../src/authz/operations.ts";
import type { StaticAssets } from "../../../src/files/mod.ts";

const ALL = new Set<Operation>(["scale", "restart", "pause", "undo", "image"]);
const NO_FILES: StaticAssets = { dir: "/none", get: () => undefined, names: [], totalBytes: 0 };

Deno.test("with every operation and the console on, each route of a read method takes only the read permission, and each write a write method", () => {
  const routes = createApiRoutes({
    view: createCacheView({ cache: new MemoryCache(), staleAfterMs: 60_000 }),
    scaler: {} as Scaler,
    writer: {} as DeploymentWriter,
    operations: ALL,
    maxReplicas: 1000,
    console: NO_FILES,
  });
  assert.ok(routes.some((r) => r.name === "console_page"), "the console's routes are in the table");
  const reads = new Set(["GET", "HEAD", "OPTIONS"]);
  const readWithWrite = routes.filter((r) => reads.has(r.method) && r.permission !== undefined && r.permission !== "read");
  assert.deepEqual(readWithWrite.map((r) => r.name), []);
  const writes = routes.filter((r) => !reads.has(r.method));
  assert.ok(writes.length >= 6, `the write routes: ${writes.map((r) => r.name).join(", ")}`);
  for (const r of writes) assert.ok(r.permission !== "read", `${r.name} (${r.method}) is a write, not a read`);
});
