export type { CacheStatus, DeploymentCache } from "./cache.ts";
export type { DeploymentRecord } from "./deployment_record.ts";
export { assessFreshness, type Freshness } from "./freshness.ts";
export { InformerCache, type KubeSource } from "./informer_cache.ts";
export { MemoryCache } from "./memory_cache.ts";
export { createScaler, type ScaleApi, type Scaler, type ScaleState } from "./scaler.ts";
export { createKubeClient, loadKubeConfig } from "./client.ts";
export { KubeApiError } from "./kube_api_error.ts";
