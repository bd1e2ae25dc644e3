/**
 * The API itself: one fetch-style handler per route, built by factories from the dependencies they are given, and
 * the route table that names them. Handlers read the cache through a view and write through the scaler; they never
 * see the Kubernetes client.
 * @module
 */
export { createCacheView } from "./cache_view.ts";
export { createApiRoutes, createProbeRoutes } from "./routes.ts";
export { STREAM_DEFAULTS, type StreamingDeps } from "./streaming.ts";
