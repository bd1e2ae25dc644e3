import assert from "node:assert/strict";
import { createCacheView } from "../../../src/handlers/cache_view.ts";
import { HttpError } from "../../../src/http/http_error.ts";
import { MemoryCache } from "../../../src/kube/cache/memory_cache.ts";

const T0 = 1_700_000_000_000;

function statusOf(fn: () => unknown): number | "ok" {
  try {
    fn();
    return "ok";
  } catch (error) {
    assert.ok(error instanceof HttpError, String(error));
    return error.status;
  }
}

Deno.test("view.namespace() is 503 before the first sync, even for a namespace that will exist: no namespace is known yet", () => {
  const cache = new MemoryCache({ namespaces: ["prod"], status: { synced: false, connected: false, lastContactAt: undefined } });
  const view = createCacheView({ cache, staleAfterMs: 120_000, now: () => T0 });
  assert.equal(statusOf(() => view.namespace("prod")), 503);
  assert.equal(statusOf(() => view.namespace("nope")), 503);
});

Deno.test("view.namespace() is 404 for a namespace that does not exist or is not watched, and the read headers otherwise", () => {
  const cache = new MemoryCache({ namespaces: ["prod"], status: { lastContactAt: T0 } });
  const view = createCacheView({ cache, staleAfterMs: 120_000, now: () => T0 + 1_500 });
  assert.equal(statusOf(() => view.namespace("nope")), 404);
  assert.deepEqual(view.namespace("prod"), view.readHeaders());
  assert.equal(view.namespace("prod")["cache-status"], "replica-api; hit; ttl=119");
});
