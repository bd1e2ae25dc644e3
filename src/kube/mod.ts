/**
 * Everything the service knows of Kubernetes, and nothing of HTTP: `api/` (requests and watches), `cache/` (the
 * model), `informer/` (list+watch into the model), `writes/` (scale and the rollout operations, with their Events), and `client.ts`, which binds the API to the
 * seams the informer and the scaler consume. Its errors (`KubeError`) are mapped to HTTP statuses by `http/`.
 * @module
 */
export { KubeApiError, type KubeApiErrorKind } from "./api/mod.ts";
export {
  assessFreshness,
  assessRollout,
  type AutoscalerRef,
  type CacheStatus,
  type ChangeEvent,
  type DeploymentCache,
  type DeploymentRecord,
  type Freshness,
  type HistoryEntry,
  type HistorySource,
  isAtLeastVersion,
  isComparableVersion,
  isNewerVersion,
  MemoryCache,
  type RolloutStatus,
  type RolloutVerdict,
} from "./cache/mod.ts";
export { createKubeClient, loadKubeConfig } from "./client.ts";
export { EventHistory, InformerCache, type KubeSource } from "./informer/mod.ts";
export {
  type DeploymentPart,
  KubeError,
  type KubeErrorKind,
  PreconditionFailedError,
  type StateRefusal,
  StateRefusedError,
  UnknownPartError,
} from "./kube_error.ts";
export { isDns1123Label, isDns1123Subdomain } from "./names.ts";
export {
  createDeploymentWriter,
  createScaleEventRecorder,
  createScaler,
  type DeploymentApi,
  type DeploymentChange,
  type EventApi,
  type ScaleApi,
  type ScaleEventRecorder,
  type Scaler,
  type ScaleRequest,
  type ScaleState,
} from "./writes/mod.ts";
export type {
  DeploymentTarget,
  DeploymentWriter,
  ImageResult,
  OperationResult,
  PauseResult,
  RestartResult,
  UndoResult,
  WriteConditions,
} from "./writes/mod.ts";
