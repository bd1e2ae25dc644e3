/**
 * The rollout operations beside a scale: restart, pause and resume, set the image of one container, and undo to
 * an earlier revision, each with the guard rails of a scale. Every write is a PATCH of the Deployment that carries
 * the resourceVersion it was based on (optimistic concurrency), so a concurrent change is never overwritten
 * blindly; with If-Match a mismatch is a PreconditionFailedError, without it a conflict is retried on a fresh base.
 * A dry run has the API server run admission and validation (dryRun=All) and persist nothing.
 * Implemented by writes/deployment_writer.ts (`createDeploymentWriter`).
 *
 * An operation that finds the Deployment already as asked (resume of a running one, the image it already runs,
 * undo to the template in force) writes nothing and says so (`changed: false`): nothing happens that the request
 * did not need.
 */

/** Conditions and switches every operation takes, as PUT replicas does. */
export interface WriteConditions {
  /**
   * The resourceVersions the write is conditional on (from If-Match), or "*" for any; undefined when
   * unconditional. A mismatch is a PreconditionFailedError, never retried.
   */
  readonly ifMatch?: readonly string[] | "*";
  /** Validate the change with the API server (dryRun=All) without making it. */
  readonly dryRun?: boolean;
}

export interface DeploymentTarget {
  readonly namespace: string;
  readonly name: string;
}

/** What every operation answers. */
export interface OperationResult {
  /** False when the Deployment already was as asked: nothing was sent to the API server. */
  readonly changed: boolean;
  /** The Deployment's resourceVersion after the write (the current one when nothing changed or on a dry run). */
  readonly resourceVersion: string;
  /**
   * Whether this instance's cache has observed the write (read-your-writes); false on a dry run. When nothing
   * changed: whether the cache holds the version the answer is based on (the "already as asked" verdict is always
   * the API server's, so the cache may still be catching up with it).
   */
  readonly observed: boolean;
  /** The Deployment's uid, so an Event can point at exactly this object. */
  readonly uid?: string;
}

export interface RestartResult extends OperationResult {
  /** The pod template's kubectl.kubernetes.io/restartedAt annotation now (RFC 3339, seconds). */
  readonly restartedAt: string;
  /** Its value before, if the Deployment had been restarted before. */
  readonly previousRestartedAt?: string;
}

export interface PauseResult extends OperationResult {
  /** spec.paused now. */
  readonly paused: boolean;
}

export interface ImageResult extends OperationResult {
  readonly container: string;
  readonly image: string;
  readonly previousImage: string;
}

export interface UndoResult extends OperationResult {
  /** The revision in force before the undo. */
  readonly fromRevision: number;
  /** The revision whose pod template was restored (the controller then gives it the next revision number). */
  readonly toRevision: number;
  /** The images of the restored template: its containers, then its init containers. */
  readonly images: readonly { readonly container: string; readonly image: string }[];
}

export interface DeploymentWriter {
  /** kubectl rollout restart: sets the pod template's restartedAt annotation. A paused Deployment is refused (409). */
  restart(target: DeploymentTarget, conditions: WriteConditions): Promise<RestartResult>;
  /** kubectl rollout pause (`paused: true`) and resume (`paused: false`): spec.paused. */
  setPaused(target: DeploymentTarget, paused: boolean, conditions: WriteConditions): Promise<PauseResult>;
  /** kubectl set image for one named container (or init container); an unknown container is a 404 naming the known ones. */
  setImage(target: DeploymentTarget, container: string, image: string, conditions: WriteConditions): Promise<ImageResult>;
  /**
   * kubectl rollout undo [--to-revision N]: the pod template of revision `toRevision`, or of the previous revision
   * when undefined. A paused Deployment, or one with no previous revision, is refused (409); an unknown revision is
   * a 404 naming the known ones.
   */
  undo(target: DeploymentTarget, toRevision: number | undefined, conditions: WriteConditions): Promise<UndoResult>;
}
