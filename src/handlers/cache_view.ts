/**
 * Read access to the cache as handlers need it: refuses to answer before the
 * first sync (503 + Retry-After), and labels every answer with how fresh it
 * is, so stale data is never served without saying so.
 *
 * The label is the RFC 9211 Cache-Status header: `ttl` is the remaining
 * freshness in seconds and turns negative once the cache is stale, with
 * `detail` saying why. Stale answers also carry `Age`.
 */
import type { DeploymentCache } from "../kube/mod.ts";
import { assessFreshness, type Freshness } from "../kube/mod.ts";
import { HttpError } from "../http/mod.ts";

export interface CacheViewOptions {
  cache: DeploymentCache;
  staleAfterMs: number;
  now?: () => number;
}

export interface CacheView {
  readonly cache: DeploymentCache;
  freshness(): Freshness;
  /** Throws 503 before the first sync; otherwise the headers to attach to a read. */
  readHeaders(): Readonly<Record<string, string>>;
  /**
   * "This namespace is served and synced": throws 503 before the first sync (no namespace is known yet, so that is
   * "retry shortly", not "does not exist"), then 404 when the namespace does not exist or is not watched; otherwise
   * the headers to attach to a read of it. Every handler that reads or writes in one namespace starts here.
   */
  namespace(namespace: string): Readonly<Record<string, string>>;
}

export function createCacheView(options: CacheViewOptions): CacheView {
  const now = options.now ?? Date.now;
  const freshness = () => assessFreshness(options.cache.status(), now(), options.staleAfterMs);
  let live: { ttl: number; headers: Readonly<Record<string, string>> } = { ttl: -1, headers: {} };
  const readHeaders = (): Readonly<Record<string, string>> => {
    const f = freshness();
    if (f.state === "syncing") {
      throw new HttpError(503, `the Deployment cache is not ready yet (${f.reason}); retry shortly`, { headers: { "retry-after": "2" } });
    }
    const age = Math.floor(f.ageSeconds ?? 0);
    if (f.state === "live") {
      // Reused while the ttl stays the same (it changes once a second): this runs on every read.
      const ttl = Math.max(0, Math.floor(options.staleAfterMs / 1000) - age);
      if (ttl !== live.ttl) live = { ttl, headers: Object.freeze({ "cache-status": `replica-api; hit; ttl=${ttl}` }) };
      return live.headers;
    }
    return {
      "cache-status": `replica-api; hit; ttl=${-Math.max(1, age)}; detail="${quotable(f.reason ?? "stale")}"`,
      "age": String(age),
    };
  };
  return {
    cache: options.cache,
    freshness,
    readHeaders,
    namespace(namespace: string): Readonly<Record<string, string>> {
      const headers = readHeaders();
      if (!options.cache.hasNamespace(namespace)) {
        throw new HttpError(404, `namespace "${namespace}" does not exist or is not watched by this service`);
      }
      return headers;
    },
  };
}

/** The reason inside a quoted header parameter: no quotes, backslashes or control characters (they would break the field). */
function quotable(reason: string): string {
  // deno-lint-ignore no-control-regex -- matching control characters is the point
  return reason.replaceAll(/["\\]/g, "'").replaceAll(/[\x00-\x1f\x7f]/g, " ");
}
