/**
 * Routes are data: (method, URLPattern pathname, handler, name). The router
 * decides 404 and 405-with-Allow once, for every route, so handlers never do.
 * GET routes also answer HEAD.
 *
 * A route may also name a query parameter value (`query: "watch=true"`): a
 * mode of a resource that is an endpoint of its own (its own handler, and its
 * own name in metrics and logs) under the URL of the plain one. The router
 * tries such routes before the plain route of the same method and path.
 */
import type { Handler, RequestContext } from "./types.ts";
import { HttpError } from "./http_error.ts";
import { compilePathPattern, type PathPattern } from "./path_pattern.ts";

export type Method = "GET" | "PUT" | "POST" | "DELETE" | "PATCH";

export interface Route {
  readonly method: Method;
  /** URLPattern pathname syntax, e.g. /api/v1/namespaces/:namespace/deployments */
  readonly path: string;
  /** A stable name for logs and metrics (cardinality stays bounded). */
  readonly name: string;
  readonly handler: Handler;
  /** What the client's certificate must be granted (authz policy); undefined = any authenticated client. */
  readonly permission?: string;
  /**
   * `name=value`: this route serves the requests of its method and path whose query has that value for that
   * parameter (its first value: the handler refuses a repeated one). Needs a plain route of the same method and
   * path, which serves every other request there.
   */
  readonly query?: string;
}

export interface RouteMatch {
  readonly route: Route;
  readonly params: Record<string, string>;
}

export interface Router {
  readonly routes: readonly Route[];
  /**
   * Finds the route; throws HttpError 404 or 405 (with Allow), the one {@link refusal} returns. `url`, the request's
   * whole URL, lets a route with a `query` match; without it only plain routes do.
   */
  match(method: string, pathname: string, url?: string): RouteMatch;
  /**
   * The answer for a request no route serves: 405 with Allow naming the methods the path has, or 404 when no route
   * has the path. `match` throws it; the transport sends it for methods it cannot hand to a handler (TRACE,
   * CONNECT), so both refuse in the same words. Meant for a method the path does not have.
   */
  refusal(method: string, pathname: string): HttpError;
  /** Matches and runs the handler with path params in the context. */
  handle(request: Request, context: RequestContext, match?: RouteMatch): Response | Promise<Response>;
}

export function createRouter(routes: readonly Route[]): Router {
  // Group by path so one pattern test serves every method of a resource. Routes with a query are kept apart, by
  // the plain route they refine: matching finds the plain route (remembered, see memo) and then looks at the query.
  const byPath = new Map<string, { pattern: PathPattern; routes: Route[] }>();
  const refinements = new Map<string, QueryRoute[]>();
  for (const route of routes) {
    if (route.query !== undefined) {
      const key = `${route.method} ${route.path}`;
      const [name, value, ...rest] = route.query.split("=");
      if (!name || value === undefined || rest.length) {
        throw new Error(`route ${route.name}: query must be "name=value", got "${route.query}"`);
      }
      const list = refinements.get(key) ?? [];
      if (list.some((q) => q.name === name && q.value === value)) throw new Error(`duplicate route ${key}?${route.query}`);
      refinements.set(key, [...list, { name, value, route }]);
      continue;
    }
    let entry = byPath.get(route.path);
    if (!entry) {
      entry = { pattern: compilePathPattern(route.path), routes: [] };
      byPath.set(route.path, entry);
    }
    if (entry.routes.some((r) => r.method === route.method)) {
      throw new Error(`duplicate route ${route.method} ${route.path}`);
    }
    entry.routes.push(route);
  }
  const byPlainRoute = new Map<Route, readonly QueryRoute[]>();
  for (const [key, list] of refinements) {
    const plain = routes.find((r) => r.query === undefined && `${r.method} ${r.path}` === key);
    if (!plain) throw new Error(`route ${list[0].route.name} (${key}?${list[0].route.query}) needs a plain route ${key}`);
    byPlainRoute.set(plain, Object.freeze(list));
  }
  const groups = [...byPath.values()];
  // Candidates by segment count, in table order; patterns without a fixed count are tried for every path.
  const bySegmentCount = new Map<number, typeof groups>();
  const counts = new Set(groups.map((g) => g.pattern.segmentCount).filter((n) => n !== undefined));
  for (const n of counts) bySegmentCount.set(n, groups.filter((g) => g.pattern.segmentCount === undefined || g.pattern.segmentCount === n));
  const unfixed = groups.filter((g) => g.pattern.segmentCount === undefined);

  // Matches already made, by method and path: the routes never change, so the same request line always finds the
  // same route and parameters. Saves the split, the pattern test and the decoding on every repeated read (most of
  // them), and their garbage. Bounded: emptied when full, so paths that never repeat cost a little more than before.
  const memo = new Map<string, Map<string, RouteMatch>>();
  let memoSize = 0;

  function match(method: string, pathname: string, url?: string): RouteMatch {
    const found = matchPath(method, pathname);
    // Only the few plain routes that have refinements, and only requests with a query, look further.
    const refined = url === undefined ? undefined : byPlainRoute.get(found.route);
    if (refined === undefined || !url!.includes("?")) return found;
    const query = new URL(url!).searchParams;
    for (const q of refined) {
      if (query.get(q.name) === q.value) return Object.freeze({ route: q.route, params: found.params });
    }
    return found;
  }

  function matchPath(method: string, pathname: string): RouteMatch {
    const wanted = method === "HEAD" ? "GET" : method;
    const known = memo.get(wanted)?.get(pathname);
    if (known !== undefined) return known;
    const found = matchUncached(method, wanted, pathname);
    if (pathname.length <= MEMO_MAX_PATH) {
      if (memoSize >= MEMO_MAX_ENTRIES) {
        memo.clear();
        memoSize = 0;
      }
      let byPath = memo.get(wanted);
      if (byPath === undefined) memo.set(wanted, byPath = new Map());
      byPath.set(pathname, found);
      memoSize++;
    }
    return found;
  }

  function matchUncached(method: string, wanted: string, pathname: string): RouteMatch {
    // A broader pattern (/x/:id) must not hide a narrower one (/x/search) that has the method: look at every
    // matching path before deciding on 405, and offer the union of their methods in Allow.
    let matchedRoutes: Route[] | undefined;
    const segments = pathname.split("/");
    for (const group of bySegmentCount.get(segments.length) ?? unfixed) {
      const raw = group.pattern.exec(pathname, segments);
      if (!raw) continue;
      let route: Route | undefined;
      for (const r of group.routes) if (r.method === wanted) route = r;
      if (!route) {
        (matchedRoutes ??= []).push(...group.routes);
        continue;
      }
      // exec() returns a fresh object: decode in place rather than copy. Frozen: the match is shared (see memo).
      for (const key in raw) raw[key] = safeDecode(raw[key]);
      return Object.freeze({ route, params: Object.freeze(raw) });
    }
    throw refused(method, pathname, matchedRoutes);
  }

  function refusal(method: string, pathname: string): HttpError {
    const segments = pathname.split("/");
    const matched = (bySegmentCount.get(segments.length) ?? unfixed).filter((g) => g.pattern.exec(pathname, segments));
    return refused(method, pathname, matched.length ? matched.flatMap((g) => g.routes) : undefined);
  }

  return {
    routes,
    match,
    refusal,
    /** Not async: a synchronous handler's Response passes straight through (see app.ts). */
    handle(request, context, found) {
      const { route, params } = found ?? match(request.method, new URL(request.url).pathname, request.url);
      // A literal of known shape, not a spread: the context is often a frozen per-connection object, which a spread
      // copies on a slow path (measured ~1 µs per request in a CPU profile).
      return route.handler(request, { client: context.client, remoteAddr: context.remoteAddr, params, closed: context.closed });
    },
  };
}

/** A route with a query, under the plain route it refines. */
interface QueryRoute {
  readonly name: string;
  readonly value: string;
  readonly route: Route;
}

/** How many matches the router remembers, and the longest path it remembers one for (see the memo in match()). */
const MEMO_MAX_ENTRIES = 4096;
const MEMO_MAX_PATH = 512;

function allowed(routes: readonly Route[]): string {
  const methods = new Set<string>(routes.map((r) => r.method));
  if (methods.has("GET")) methods.add("HEAD");
  return [...methods].sort().join(", ");
}

/** 405 with Allow when some routes have the path (`matched`), else 404: decided here only. */
function refused(method: string, pathname: string, matched: readonly Route[] | undefined): HttpError {
  if (matched === undefined) return new HttpError(404, `no such endpoint: ${pathname}`);
  const allow = allowed(matched);
  return new HttpError(405, `${method} is not supported on ${pathname}; allowed: ${allow}`, { headers: { allow } });
}

/** Percent-decoding a malformed escape must be a 400, not a crash. */
function safeDecode(value: string): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    throw new HttpError(400, `malformed percent-encoding in path segment "${value.slice(0, 80)}"`);
  }
}
