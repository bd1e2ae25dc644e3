/**
 * The scaler's failures in its own terms: a precondition that does not hold is a PreconditionFailedError, an API
 * server failure stays a KubeApiError of its kind. How either looks on the wire is tested in tests/unit/http.
 */
import assert from "node:assert/strict";
import { createScaler, type ScaleApi, type ScaleState } from "../../../../src/kube/writes/scaler.ts";
import { createBackoff } from "../../../../src/kube/informer/backoff.ts";
import { MemoryCache } from "../../../../src/kube/cache/memory_cache.ts";
import { KubeApiError } from "../../../../src/kube/api/kube_api_error.ts";
import { KubeError, PreconditionFailedError } from "../../../../src/kube/kube_error.ts";

const WEB = { namespace: "prod", name: "web", replicas: 3, readyReplicas: 3, availableReplicas: 3, resourceVersion: "100" };
const conflict = () => new KubeApiError(409, 'Operation cannot be fulfilled on deployments.apps "web": the object has been modified');

/** The scale subresource at `state`; each patch fails with the next of `failures` while any are left. */
function fakeApi(state: ScaleState, failures: Error[] = []) {
  const calls: string[] = [];
  const api: ScaleApi = {
    readScale() {
      calls.push("readScale");
      return Promise.resolve(state);
    },
    patchScale(_namespace, _name, replicas, resourceVersion) {
      calls.push(`patchScale@${resourceVersion}`);
      const failure = failures.shift();
      if (failure) return Promise.reject(failure);
      return Promise.resolve({ replicas, resourceVersion: String(Number(resourceVersion) + 1) });
    },
  };
  return { api, calls };
}

/** Conflict retries sleep through `slept` (recorded, not waited); the backoff's jitter is fixed at its top. */
function scalerWith(api: ScaleApi, maxConflictRetries?: number, slept: number[] = []) {
  const cache = new MemoryCache();
  cache.put(WEB);
  return createScaler({
    api,
    cache,
    writeSyncTimeoutMs: 0,
    maxConflictRetries,
    conflictBackoff: () => createBackoff({ baseMs: 20, capMs: 320, random: () => 1 }),
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
  });
}

Deno.test("scale with a resourceVersion the Deployment does not have throws PreconditionFailed naming the current one", async () => {
  const { api, calls } = fakeApi({ replicas: 3, resourceVersion: "100" });
  const error = await scalerWith(api).scale({ namespace: "prod", name: "web", replicas: 5, ifMatch: ["99"] }).then(
    () => assert.fail("scaled despite a stale precondition"),
    (e) => e,
  );
  assert.ok(error instanceof PreconditionFailedError, String(error));
  assert.equal(error.kind, "PreconditionFailed");
  assert.equal(error.currentResourceVersion, "100");
  assert.match(error.message, /prod\/web.*100/);
  // The cache's version is re-checked against the API server before giving up.
  assert.deepEqual(calls, ["readScale"]);
});

Deno.test("scale with a precondition that the API server reports as a conflict throws PreconditionFailed, not retried", async () => {
  const apiConflict = conflict();
  const { api, calls } = fakeApi({ replicas: 3, resourceVersion: "100" }, [apiConflict]);
  const error = await scalerWith(api).scale({ namespace: "prod", name: "web", replicas: 5, ifMatch: ["100"] }).catch((e) => e);
  assert.ok(error instanceof PreconditionFailedError, String(error));
  assert.equal(error.currentResourceVersion, undefined, "the API server did not say what the Deployment became");
  assert.equal(error.cause, apiConflict);
  assert.deepEqual(calls, ["patchScale@100"]);
});

Deno.test("scale without a precondition retries conflicts, then rethrows the API server's Conflict", async () => {
  const { api, calls } = fakeApi({ replicas: 3, resourceVersion: "100" }, [conflict(), conflict(), conflict()]);
  const error = await scalerWith(api, 2).scale({ namespace: "prod", name: "web", replicas: 5 }).catch((e) => e);
  assert.ok(error instanceof KubeApiError, String(error));
  assert.equal(error.kind, "Conflict");
  assert.deepEqual(calls, ["patchScale@100", "readScale", "patchScale@100", "readScale", "patchScale@100"]);
});

Deno.test("scale waits longer before each conflict retry, and not at all when the first write lands", async () => {
  const slept: number[] = [];
  const { api, calls } = fakeApi({ replicas: 3, resourceVersion: "100" }, [conflict(), conflict(), conflict()]);
  const result = await scalerWith(api, undefined, slept).scale({ namespace: "prod", name: "web", replicas: 5 });
  assert.equal(result.replicas, 5);
  assert.equal(calls.filter((c) => c.startsWith("patchScale")).length, 4, "three conflicts, then the write");
  assert.deepEqual(slept, [20, 40, 80], "a growing wait before each re-read, none after the success");

  const quiet: number[] = [];
  await scalerWith(fakeApi({ replicas: 3, resourceVersion: "100" }).api, undefined, quiet).scale({
    namespace: "prod",
    name: "web",
    replicas: 4,
  });
  assert.deepEqual(quiet, []);
});

Deno.test("scale gives up after five conflict retries by default, within about 620 ms of waiting", async () => {
  const slept: number[] = [];
  const failures = Array.from({ length: 10 }, conflict);
  const { api, calls } = fakeApi({ replicas: 3, resourceVersion: "100" }, failures);
  const error = await scalerWith(api, undefined, slept).scale({ namespace: "prod", name: "web", replicas: 5 }).catch((e) => e);
  assert.ok(error instanceof KubeApiError && error.kind === "Conflict", String(error));
  assert.equal(calls.filter((c) => c.startsWith("patchScale")).length, 6);
  assert.deepEqual(slept, [20, 40, 80, 160, 320]);
});

Deno.test("scale passes API server failures other than a conflict through as they are", async () => {
  const forbidden = new KubeApiError(403, "cannot patch resource deployments/scale", "Forbidden");
  const { api, calls } = fakeApi({ replicas: 3, resourceVersion: "100" }, [forbidden]);
  const error = await scalerWith(api).scale({ namespace: "prod", name: "web", replicas: 5 }).catch((e) => e);
  assert.equal(error, forbidden);
  assert.ok(error instanceof KubeError);
  assert.deepEqual(calls, ["patchScale@100"]);
});

Deno.test("KubeApiError classifies the API server's status into a kind", () => {
  const kinds: [number, string][] = [
    [0, "Unreachable"],
    [401, "Forbidden"],
    [403, "Forbidden"],
    [404, "NotFound"],
    [408, "Timeout"],
    [409, "Conflict"],
    [412, "Unknown"],
    [422, "Invalid"],
    [429, "TooManyRequests"],
    [500, "Unknown"],
    [503, "Unavailable"],
    [504, "Timeout"],
  ];
  assert.deepEqual(kinds.map(([status]) => [status, new KubeApiError(status, "m").kind]), kinds);
});
