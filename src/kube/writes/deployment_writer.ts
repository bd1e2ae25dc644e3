/**
 * The rollout operations (see operations.ts), each a conditional PATCH of the Deployment run through the same
 * guard rails as a scale (conditional_write.ts): restart, pause and resume, set image and undo, with kubectl's
 * semantics. Restart, pause/resume and set image are strategic-merge patches that carry metadata.resourceVersion;
 * undo is a JSON patch that replaces the pod template and the annotations with those of the revision's
 * ReplicaSet, read from the API server, and replaces metadata.resourceVersion with the one it was based on.
 */
import {
  type ContainerImage,
  controllingDeployment,
  type DeploymentCache,
  type DeploymentRecord,
  parseRevision,
  type ReplicaSetRecord,
  RESTARTED_AT_ANNOTATION,
  REVISION_ANNOTATION,
  toRecord,
} from "../cache/mod.ts";
import { KubeApiError } from "../api/mod.ts";
import { StateRefusedError, UnknownPartError } from "../kube_error.ts";
import { type ConditionalWriteOptions, createConditionalWrite, type Versioned } from "./conditional_write.ts";
import type { DeploymentApi, DeploymentObject, PodTemplateJson } from "./deployment_api.ts";
import type { DeploymentTarget, DeploymentWriter, WriteConditions } from "./operations.ts";
import { previousRevision, rollbackAnnotations, sameTemplate, templateWithoutHash } from "./rollback.ts";

export interface DeploymentWriterOptions extends ConditionalWriteOptions {
  api: DeploymentApi;
  /** Undo picks its revision from here: a cache that watches ReplicaSets (`revisions()` defined). */
  cache: DeploymentCache;
  /** The restartedAt a restart sets; injectable so tests know it. */
  now?: () => Date;
}

/** What restart, pause and set image base their patch on: the cache's record, or the API server's Deployment. */
interface TemplateBase extends Versioned {
  readonly uid?: string;
  readonly paused: boolean;
  readonly containers: readonly ContainerImage[];
  readonly restartedAt?: string;
}

/** An undo's base: always the API server's Deployment, whose whole template is compared and replaced. */
interface UndoBase extends Versioned {
  readonly uid?: string;
  readonly paused: boolean;
  readonly revision?: number;
  readonly template?: PodTemplateJson;
  readonly annotations?: Record<string, string>;
}

interface Written extends Versioned {
  readonly uid?: string;
}

export function createDeploymentWriter(options: DeploymentWriterOptions): DeploymentWriter {
  const { api, cache } = options;
  const now = options.now ?? (() => new Date());
  const conditionalWrite = createConditionalWrite(options);

  const templateSteps = (target: DeploymentTarget) => ({
    fromCache: (record: DeploymentRecord): TemplateBase => templateBase(record),
    read: async (): Promise<TemplateBase> => templateBase(recordOf(target, await api.readDeployment(target.namespace, target.name))),
  });

  /** A strategic-merge patch conditional on `base`; its answer reduced to what the result needs. */
  const strategic = async (target: DeploymentTarget, conditions: WriteConditions, base: Versioned, spec: unknown): Promise<Written> => {
    const patch = { metadata: { resourceVersion: base.resourceVersion }, spec };
    return written(await api.patchDeployment(target.namespace, target.name, patch, { type: "strategic", dryRun: conditions.dryRun }));
  };

  /** The resourceVersion to answer with: the new one, or the current one when nothing changed or on a dry run. */
  const versionOf = (conditions: WriteConditions, base: Versioned, result: Written | undefined) =>
    result && !conditions.dryRun ? result.resourceVersion : base.resourceVersion;

  return {
    async restart(target, conditions) {
      let restartedAt = "";
      const { base, written: result, observed } = await conditionalWrite(target, conditions, {
        ...templateSteps(target),
        write: (base) => {
          if (base.paused) throw paused(target, "a restart");
          restartedAt = restartTime(now(), base.restartedAt);
          return strategic(target, conditions, base, {
            template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: restartedAt } } },
          });
        },
      });
      return {
        changed: true,
        resourceVersion: versionOf(conditions, base, result),
        observed,
        uid: result?.uid ?? base.uid,
        restartedAt,
        ...(base.restartedAt ? { previousRestartedAt: base.restartedAt } : {}),
      };
    },

    async setPaused(target, paused, conditions) {
      const { base, written: result, observed } = await conditionalWrite(target, conditions, {
        ...templateSteps(target),
        write: (base) => base.paused === paused ? Promise.resolve(undefined) : strategic(target, conditions, base, { paused }),
      });
      return {
        changed: result !== undefined,
        resourceVersion: versionOf(conditions, base, result),
        observed,
        uid: result?.uid ?? base.uid,
        paused,
      };
    },

    async setImage(target, container, image, conditions) {
      let previousImage = "";
      const { base, written: result, observed } = await conditionalWrite(target, conditions, {
        ...templateSteps(target),
        write: (base) => {
          const current = base.containers.find((c) => c.name === container);
          if (!current) throw unknownContainer(target, container, base.containers);
          previousImage = current.image;
          if (current.image === image) return Promise.resolve(undefined);
          // Strategic merge: the list merges by name, so only this container's image changes (kubectl set image).
          const list = current.init ? "initContainers" : "containers";
          return strategic(target, conditions, base, { template: { spec: { [list]: [{ name: container, image }] } } });
        },
      });
      return {
        changed: result !== undefined,
        resourceVersion: versionOf(conditions, base, result),
        observed,
        uid: result?.uid ?? base.uid,
        container,
        image,
        previousImage,
      };
    },

    async undo(target, toRevision, conditions) {
      const revisionsOf = () => {
        const revisions = cache.revisions?.(target.namespace, target.name);
        if (revisions === undefined) throw new Error("undo needs a cache that watches ReplicaSets (replicaSets: true)");
        return revisions;
      };
      let chosen: { fromRevision: number; toRevision: number; images: readonly ContainerImage[] } | undefined;
      const { base, written: result, observed } = await conditionalWrite(target, conditions, {
        read: async () => undoBase(await api.readDeployment(target.namespace, target.name)),
        write: async (base) => {
          if (base.paused) throw paused(target, "an undo");
          // The index filters by the cached Deployment's uid; the API server's is the one that counts.
          const revisions = revisionsOf().filter((r) => base.uid === undefined || r.ownerUid === base.uid);
          const current = base.revision ?? Math.max(0, ...revisions.map((r) => r.revision));
          const wanted = chooseRevision(target, revisions, current, toRevision);
          const replicaSet = await readRevision(api, target, wanted, base.uid);
          const template = templateWithoutHash(replicaSet.spec?.template ?? {});
          chosen = { fromRevision: current, toRevision: wanted.revision, images: wanted.containers };
          if (sameTemplate(template, base.template)) return undefined;
          const patch = [
            { op: "replace", path: "/spec/template", value: template },
            // "add" replaces too, and also works on a Deployment without annotations, where "replace" would fail.
            {
              op: base.annotations ? "replace" : "add",
              path: "/metadata/annotations",
              value: rollbackAnnotations(base.annotations, replicaSet.metadata?.annotations),
            },
            { op: "replace", path: "/metadata/resourceVersion", value: base.resourceVersion },
          ];
          return written(await api.patchDeployment(target.namespace, target.name, patch, { type: "json", dryRun: conditions.dryRun }));
        },
      });
      return {
        changed: result !== undefined,
        resourceVersion: versionOf(conditions, base, result),
        observed,
        uid: result?.uid ?? base.uid,
        fromRevision: chosen!.fromRevision,
        toRevision: chosen!.toRevision,
        images: chosen!.images.map((c) => ({ container: c.name, image: c.image })),
      };
    },
  };
}

function recordOf(target: DeploymentTarget, obj: DeploymentObject): DeploymentRecord {
  const record = toRecord(obj);
  if (!record) throw new Error(`the API server answered deployment "${target.namespace}/${target.name}" without name or namespace`);
  return record;
}

function templateBase(record: DeploymentRecord): TemplateBase {
  return {
    resourceVersion: record.resourceVersion,
    uid: record.uid,
    paused: record.paused ?? false,
    containers: record.containers ?? [],
    restartedAt: record.restartedAt,
  };
}

function undoBase(obj: DeploymentObject): UndoBase {
  return {
    resourceVersion: obj.metadata?.resourceVersion ?? "",
    uid: obj.metadata?.uid || undefined,
    paused: obj.spec?.paused === true,
    revision: parseRevision(obj.metadata?.annotations?.[REVISION_ANNOTATION]),
    template: obj.spec?.template,
    annotations: obj.metadata?.annotations,
  };
}

function written(obj: DeploymentObject): Written {
  return { resourceVersion: obj.metadata?.resourceVersion ?? "", uid: obj.metadata?.uid || undefined };
}

/**
 * kubectl's restartedAt (RFC 3339, seconds), but always later than the one in force: two restarts within a
 * second would otherwise write the same value, and the second would silently restart nothing.
 */
export function restartTime(now: Date, previous: string | undefined): string {
  const seconds = Math.floor(now.getTime() / 1000);
  const before = previous ? Math.floor(Date.parse(previous) / 1000) : NaN;
  const at = Number.isNaN(before) || seconds > before ? seconds : before + 1;
  return new Date(at * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

function paused(target: DeploymentTarget, what: string): StateRefusedError {
  return new StateRefusedError(
    target.namespace,
    target.name,
    "paused",
    `deployment "${target.namespace}/${target.name}" is paused, so ${what} would wait unseen until it is resumed; resume it first`,
  );
}

function unknownContainer(target: DeploymentTarget, container: string, containers: readonly ContainerImage[]): UnknownPartError {
  const apps = containers.filter((c) => !c.init).map((c) => `"${c.name}"`);
  const inits = containers.filter((c) => c.init).map((c) => `"${c.name}"`);
  const known = [apps.length ? `containers ${apps.join(", ")}` : "", inits.length ? `init containers ${inits.join(", ")}` : ""]
    .filter(Boolean).join("; ");
  return new UnknownPartError(
    target.namespace,
    target.name,
    "container",
    container,
    containers.map((c) => c.name),
    `deployment "${target.namespace}/${target.name}" has no container "${container}"; it has ${known || "none"}`,
  );
}

/** The revision to restore: the one asked for, or kubectl's previous one (the highest below the current). */
function chooseRevision(
  target: DeploymentTarget,
  revisions: readonly ReplicaSetRecord[],
  current: number,
  toRevision: number | undefined,
): ReplicaSetRecord {
  const id = `deployment "${target.namespace}/${target.name}"`;
  if (toRevision !== undefined) {
    const found = revisions.find((r) => r.revision === toRevision);
    if (found) return found;
    const known = revisions.map((r) => String(r.revision));
    throw new UnknownPartError(
      target.namespace,
      target.name,
      "revision",
      String(toRevision),
      known,
      `${id} has no revision ${toRevision}; ${known.length ? `its revisions are ${known.join(", ")}` : "it has no revisions yet"}`,
    );
  }
  const previous = previousRevision(revisions, current);
  if (previous) return previous;
  throw new StateRefusedError(
    target.namespace,
    target.name,
    "no-previous-revision",
    `${id} has no revision before ${
      current || "the current one"
    } to undo to (ReplicaSets of older revisions are gone, or there never were any)`,
  );
}

/** The revision's ReplicaSet from the API server, checked to still be that revision of this Deployment. */
async function readRevision(api: DeploymentApi, target: DeploymentTarget, wanted: ReplicaSetRecord, uid: string | undefined) {
  const gone = (why: string) =>
    new UnknownPartError(
      target.namespace,
      target.name,
      "revision",
      String(wanted.revision),
      [],
      `deployment "${target.namespace}/${target.name}" no longer has revision ${wanted.revision}: ReplicaSet ${wanted.name} ${why}`,
    );
  let replicaSet;
  try {
    replicaSet = await api.readReplicaSet(target.namespace, wanted.name);
  } catch (error) {
    if (error instanceof KubeApiError && error.kind === "NotFound") throw gone("was deleted");
    throw error;
  }
  const owner = controllingDeployment(replicaSet);
  if (!owner || owner.name !== target.name || (uid !== undefined && owner.uid !== uid)) throw gone("is not controlled by it");
  if (parseRevision(replicaSet.metadata?.annotations?.[REVISION_ANNOTATION]) !== wanted.revision) throw gone("has another revision now");
  return replicaSet;
}
