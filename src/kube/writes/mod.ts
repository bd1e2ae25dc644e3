/**
 * Writes: the scaler (a conditional PATCH of the scale subresource, conflict retries, read-your-writes) and the
 * "who scaled" Events it records.
 * @module
 */
export { createScaleEventRecorder, type EventApi, type ScaleEventRecorder } from "./scale_events.ts";
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
