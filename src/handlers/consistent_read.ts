/**
 * Consistent reads across replicas, the Kubernetes way: a GET with
 * `?resourceVersion=N&resourceVersionMatch=NotOlderThan` is answered only
 * once this instance's cache has reached N, waiting at most
 * WRITE_SYNC_TIMEOUT. A client that passes the ETag of its PUT (which is the
 * resourceVersion the write created) therefore never reads an older value,
 * whichever replica answers.
 *
 * resourceVersions are opaque by the API conventions, but an etcd-backed API
 * server issues increasing integers (etcd revisions), and Kubernetes' own
 * watch cache compares them as integers for exactly this purpose: so N must
 * be a decimal integer (quotes and a W/ prefix, as in an ETag, are
 * accepted). As with the API server, `resourceVersion` alone means
 * NotOlderThan for a GET, "0" means "any", and `Exact` is refused: a cache
 * holds only the newest state. If the cache has not reached N in time the
 * answer is 504 with Retry-After, the status the API server itself gives
 * for a resourceVersion it has not reached ("Too large resource version").
 */
import { HttpError } from "../http/mod.ts";
import type { DeploymentCache } from "../kube/mod.ts";
import { isComparableVersion } from "../kube/mod.ts";

export const CONSISTENT_READ_PARAMS: readonly string[] = Object.freeze(["resourceVersion", "resourceVersionMatch"]);

/** The resourceVersion a read must not be older than, or undefined when the request sets none (or "0"). Throws 400. */
export function minResourceVersion(query: URLSearchParams): string | undefined {
  const raw = query.get("resourceVersion");
  const match = query.get("resourceVersionMatch");
  if (match !== null && match !== "NotOlderThan") {
    throw new HttpError(
      400,
      match === "Exact"
        ? `resourceVersionMatch=Exact is not supported: this service answers from a cache that holds only the newest state; use NotOlderThan`
        : `resourceVersionMatch must be NotOlderThan, got "${match.slice(0, 40)}"`,
    );
  }
  if (raw === null) {
    if (match !== null) throw new HttpError(400, `resourceVersionMatch=NotOlderThan needs resourceVersion=<the ETag of your write>`);
    return undefined;
  }
  // As a bare number, or as an ETag: "N" or W/"N".
  const etag = /^(?:W\/)?"([^"]*)"$/.exec(raw);
  const value = etag ? etag[1] : raw;
  if (!isComparableVersion(value)) {
    throw new HttpError(
      400,
      `resourceVersion must be a resourceVersion this API issued (a decimal integer, e.g. the ETag of a PUT), got "${raw.slice(0, 40)}"`,
    );
  }
  return value === "0" ? undefined : value;
}

/**
 * Resolves once the cache has reached `resourceVersion` (for `namespace`, or everywhere); throws 504 after
 * `timeoutMs`. Resolves at once when it has already: the common case, which costs no timer.
 */
export async function awaitResourceVersion(
  cache: DeploymentCache,
  resourceVersion: string,
  timeoutMs: number,
  options: { namespace?: string; signal?: AbortSignal } = {},
): Promise<void> {
  if (await cache.waitForResourceVersion(resourceVersion, timeoutMs, options)) return;
  const head = cache.changes.head;
  throw new HttpError(
    504,
    `this replica's cache has not reached resourceVersion ${resourceVersion} within ${timeoutMs} ms (WRITE_SYNC_TIMEOUT)${
      head ? `; it is at ${head}` : ""
    }: its watch of the Kubernetes API is behind or broken; retry, possibly on another replica`,
    { headers: { "retry-after": "1" } },
  );
}
