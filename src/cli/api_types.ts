/**
 * The API's documents as the CLI reads them (api/openapi.json): what the
 * typed calls of api_client.ts answer, and what format.ts prints.
 */

/** A Deployment as the API documents it (api/openapi.json, Deployment). */
export interface Deployment {
  readonly namespace: string;
  readonly name: string;
  readonly replicas: number;
  readonly readyReplicas: number;
  readonly availableReplicas: number;
  readonly resourceVersion: string;
  readonly autoscaler?: { readonly name: string; readonly minReplicas?: number; readonly maxReplicas: number };
}

/** Rollout progress as `?wait=rollout` reports it (`kubectl rollout status` rules). */
export interface Rollout {
  readonly complete: boolean;
  readonly generation?: number;
  readonly observedGeneration?: number;
  readonly replicas?: number;
  readonly updatedReplicas?: number;
  readonly readyReplicas?: number;
  readonly availableReplicas?: number;
  readonly reason?: string;
  readonly message?: string;
}

/** GET/PUT .../replicas bodies; `rollout` only with `?wait=rollout`, `previousReplicas` only on PUT. */
export interface ReplicasBody {
  readonly namespace: string;
  readonly name: string;
  readonly replicas: number;
  readonly readyReplicas?: number;
  readonly availableReplicas?: number;
  readonly previousReplicas?: number;
  readonly rollout?: Rollout;
}

/** The client certificate as the service read it (GET /api/v1/whoami, `identity`). */
export interface WhoamiIdentity {
  readonly cn: string;
  readonly organizations: readonly string[];
  /** Upper-case hex, as the policy's deniedFingerprints and the audit log show it. */
  readonly serialNumber: string;
  readonly fingerprint256: string;
  readonly issuer: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly expiresInSeconds: number;
}

/** GET /api/v1/whoami: who the service takes the caller for, and what the authorization policy lets it do where. */
export interface Whoami {
  readonly identity: WhoamiIdentity;
  /** The policy file the permissions come from; absent or null when the service runs without one. */
  readonly policy?: string | null;
  /** Why the identity is refused everything (e.g. a denied fingerprint); present only then. */
  readonly denied?: string;
  /** Per permission (read, scale, and later others): "*" for every namespace, or the sorted namespaces. */
  readonly permissions: Readonly<Record<string, "*" | readonly string[]>>;
  /** "*" (every namespace) and each named namespace, with the sorted permissions held there ("*" grants included). */
  readonly namespaces: Readonly<Record<string, readonly string[]>>;
}

/** One container's image, as the undo and revisions documents list them. */
export interface ContainerImage {
  readonly container: string;
  readonly image: string;
}

/** What every rollout operation answers (restart, pause, resume, set image, undo). */
export interface OperationBody {
  readonly namespace: string;
  readonly name: string;
  /** False when the Deployment already was as asked and nothing was written. */
  readonly changed: boolean;
  /** Present (true) on a dry run. */
  readonly dryRun?: boolean;
  /** Only with `?wait=rollout`; the CLI adds it to -o json after following the rollout itself. */
  readonly rollout?: Rollout;
}

/** POST .../restart: the pod template's kubectl.kubernetes.io/restartedAt annotation, now and before. */
export interface RestartBody extends OperationBody {
  readonly restartedAt: string;
  readonly previousRestartedAt?: string;
}

/** POST .../pause and .../resume: spec.paused now. */
export interface PauseBody extends OperationBody {
  readonly paused: boolean;
}

/** PUT .../containers/{container}/image. */
export interface ImageBody extends OperationBody {
  readonly container: string;
  readonly image: string;
  readonly previousImage: string;
}

/** POST .../undo: the revision in force before, the one whose template was restored, and its images. */
export interface UndoBody extends OperationBody {
  readonly fromRevision: number;
  readonly toRevision: number;
  readonly images: readonly ContainerImage[];
}

/** The answer of any one of the rollout operations. */
export type AnyOperationBody = RestartBody | PauseBody | ImageBody | UndoBody;

/** One entry of GET .../revisions: a ReplicaSet of the Deployment, as the cache keeps it. */
export interface Revision {
  readonly revision: number;
  readonly replicaSet: string;
  readonly images: readonly ContainerImage[];
  readonly changeCause?: string;
  /** RFC 3339. */
  readonly created: string;
  readonly current: boolean;
  readonly replicas: number;
}

/** GET .../revisions, ascending by revision. */
export interface RevisionsBody {
  readonly namespace: string;
  readonly name: string;
  readonly currentRevision?: number;
  readonly revisions: readonly Revision[];
}
