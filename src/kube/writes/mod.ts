/**
 * Writes: the scaler (a conditional PATCH of the scale subresource), the rollout operations (restart, pause, set
 * image, undo: conditional PATCHes of the Deployment), their shared guard rails (conditional_write.ts: If-Match,
 * conflict retries, read-your-writes) and the who-did-what Events.
 * @module
 */
export { createScaleEventRecorder, type DeploymentChange, type EventApi, type ScaleEventRecorder } from "./scale_events.ts";
export { createDeploymentWriter, type DeploymentWriterOptions } from "./deployment_writer.ts";
export { type DeploymentApi, PATCH_CONTENT_TYPES, type PatchType } from "./deployment_api.ts";
export { createScaler, type ScaleApi, type Scaler, type ScaleRequest, type ScaleState } from "./scaler.ts";
export type {
  DeploymentTarget,
  DeploymentWriter,
  ImageResult,
  OperationResult,
  PauseResult,
  RestartResult,
  UndoResult,
  WriteConditions,
} from "./operations.ts";
