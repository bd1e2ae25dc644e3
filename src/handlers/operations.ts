/**
 * The rollout operations beside a scale, each a route of its own under the Deployment:
 *
 * - `POST …/restart`: kubectl rollout restart (the pod template's restartedAt annotation);
 * - `POST …/pause` and `POST …/resume`: spec.paused;
 * - `PUT …/containers/{container}/image`: kubectl set image of one container, the image checked against the
 *   reference grammar and against the image patterns the client's policy rules allow;
 * - `POST …/undo`: kubectl rollout undo, to the previous revision or to `{"toRevision": N}`;
 * - `GET …/revisions`: the rollout history, from the cache (trimmed ReplicaSets), never from the API server.
 *
 * Every write has a scale's guard rails: its own permission (the guard, before the handler), If-Match (412),
 * ?dryRun=true, ?wait=rollout, read-your-writes (200 once this instance's cache has seen the write, else 202), an
 * audit line (the guard, from the answer) and a who-did-what Event. The writes themselves are the writer's
 * (kube/writes/); this file only turns requests into its calls and its results into answers.
 */
import type { ClientIdentity, Handler, RequestContext } from "../http/mod.ts";
import { HttpError, jsonResponse, readJsonBody, readOptionalJsonBody, validateQuery } from "../http/mod.ts";
import type { DeploymentTarget, DeploymentWriter, OperationResult, WriteConditions } from "../kube/mod.ts";
import type { DeploymentChange, ScaleEventRecorder } from "../kube/mod.ts";
import type { CacheView } from "./cache_view.ts";
import { WAIT_PARAMS } from "./rollout_wait.ts";
import { actorOf, ifMatchOf, writeSwitches, writeThenWait } from "./write_request.ts";
import { defaultStreamingDeps, type StreamingDeps } from "./streaming.ts";
import {
  validateContainerName,
  validateDeploymentName,
  validateImageBody,
  validateImageReference,
  validateNamespace,
  validateUndoBody,
} from "./validation.ts";
import { describeImageRefusal, type ImageDecision } from "../authz/mod.ts";

/** What the policy says about one image: the patterns of the client's rules are named when it is refused. */
export type ImageVerdict = ImageDecision;

export interface OperationHandlerDeps {
  view: CacheView;
  writer: DeploymentWriter;
  /** Records each change as a Kubernetes Event on the Deployment; none when undefined. */
  events?: ScaleEventRecorder;
  /** The image patterns of the client's policy rules; default: every image is allowed (no policy). */
  imageAllowed?: (client: ClientIdentity, namespace: string, image: string) => ImageVerdict;
  /** Rollout waits; defaults for tests. */
  streaming?: StreamingDeps;
}

export interface OperationHandlers {
  restart: Handler;
  restartWaitRollout: Handler;
  pause: Handler;
  resume: Handler;
  resumeWaitRollout: Handler;
  setImage: Handler;
  setImageWaitRollout: Handler;
  undo: Handler;
  undoWaitRollout: Handler;
  revisions: Handler;
}

/** Every write takes dryRun and the rollout wait; a route whose write cannot roll out refuses the wait with a reason. */
const WRITE_PARAMS: readonly string[] = Object.freeze(["dryRun", ...WAIT_PARAMS]);

/** One operation, as the shared flow below needs it. */
interface Operation<I, R extends OperationResult> {
  /** Reads and checks what the request asks for: the body, path parameters beyond namespace and name. */
  input(request: Request, context: RequestContext, target: DeploymentTarget): Promise<I>;
  /** 400 when a rollout wait makes no sense for this write (pause). */
  refuseWait?: string;
  write(target: DeploymentTarget, input: I, conditions: WriteConditions): Promise<R>;
  /** The answer's fields beyond namespace, name and changed. */
  body(result: R): Record<string, unknown>;
  /** The Event of a change that happened (not for a dry run, not when nothing changed). */
  change(target: DeploymentTarget, result: R): DistributiveOmit<DeploymentChange, "actor">;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

export function createOperationHandlers(deps: OperationHandlerDeps): OperationHandlers {
  const { view, writer, events } = deps;
  const streaming = deps.streaming ?? defaultStreamingDeps();
  const { cache } = view;

  /**
   * The flow every write shares, in order: what does not depend on the cache first (query, If-Match, body), so a
   * malformed request is 400 even before the first sync; then the namespace (503, 404) and the Deployment (404);
   * then the write, its Event, and with the wait the rollout of that write.
   */
  const operation = <I, R extends OperationResult>(op: Operation<I, R>) => (waitRoute: boolean): Handler => {
    return async (request, context) => {
      const started = performance.now();
      const query = validateQuery(request.url, WRITE_PARAMS);
      const target = { namespace: validateNamespace(context.params.namespace), name: validateDeploymentName(context.params.name) };
      const { dryRun, wait } = writeSwitches(query);
      if (wait && op.refuseWait) throw new HttpError(400, op.refuseWait);
      if (Boolean(wait) !== waitRoute) throw new Error(`route and wait=rollout disagree: ${request.url}`);
      const ifMatch = await ifMatchOf(request);
      const input = await op.input(request, context, target);
      view.namespace(target.namespace);
      if (!cache.get(target.namespace, target.name)) {
        throw new HttpError(404, `deployment "${target.namespace}/${target.name}" not found`);
      }
      const conditions: WriteConditions = { ifMatch, dryRun };
      const writeOnce = async () => {
        const result = await op.write(target, input, conditions);
        if (result.changed && !dryRun) {
          events?.changed({ ...op.change(target, result), actor: actorOf(context.client) } as DeploymentChange);
        }
        return result;
      };
      const fields = (result: R) => ({ namespace: target.namespace, name: target.name, changed: result.changed, ...op.body(result) });
      if (wait) {
        // The timeout counts from the request's start, body and all.
        const { result, rollout, status } = await writeThenWait(
          { cache, streaming },
          context,
          target,
          wait.timeoutMs - (performance.now() - started),
          writeOnce,
        );
        return jsonResponse({ ...fields(result), rollout }, { status, headers: { etag: `"${result.resourceVersion}"` } });
      }
      const result = await writeOnce();
      // Nothing changed, so no ETag of a new version and no wait for the cache.
      if (dryRun) return jsonResponse({ ...fields(result), dryRun: true });
      return jsonResponse(fields(result), { status: result.observed ? 200 : 202, headers: { etag: `"${result.resourceVersion}"` } });
    };
  };

  const restart = operation({
    input: (request) => noBody(request),
    write: (target, _input, conditions) => writer.restart(target, conditions),
    body: (r) => ({ restartedAt: r.restartedAt, ...(r.previousRestartedAt ? { previousRestartedAt: r.previousRestartedAt } : {}) }),
    change: (target, r) => ({ kind: "restart", ...target, uid: r.uid, restartedAt: r.restartedAt }),
  });

  const paused = (value: boolean) =>
    operation({
      input: (request) => noBody(request),
      refuseWait: value
        ? "a paused Deployment does not roll out, so there is nothing to wait for: drop wait=rollout (resume?wait=rollout waits for the rollout a resume starts)"
        : undefined,
      write: (target, _input, conditions) => writer.setPaused(target, value, conditions),
      body: (r) => ({ paused: r.paused }),
      change: (target, r) => ({ kind: value ? "pause" : "resume", ...target, uid: r.uid }),
    });

  const setImage = operation({
    async input(request, context, target) {
      const container = validateContainerName(context.params.container);
      const image = validateImageReference(validateImageBody(await readJsonBody(request)));
      const client = context.client;
      const verdict: ImageVerdict = client && deps.imageAllowed ? deps.imageAllowed(client, target.namespace, image) : { allowed: true };
      if (!verdict.allowed) throw new HttpError(403, describeImageRefusal(client!, target.namespace, image, verdict.patterns));
      return { container, image };
    },
    write: (target, input, conditions) => writer.setImage(target, input.container, input.image, conditions),
    body: (r) => ({ container: r.container, image: r.image, previousImage: r.previousImage }),
    change: (target, r) => ({ kind: "image", ...target, uid: r.uid, container: r.container, from: r.previousImage, to: r.image }),
  });

  const undo = operation({
    input: async (request) => validateUndoBody(await readOptionalJsonBody(request, `{"toRevision": 2}`)),
    write: (target, toRevision, conditions) => writer.undo(target, toRevision, conditions),
    body: (r) => ({ fromRevision: r.fromRevision, toRevision: r.toRevision, images: r.images }),
    change: (target, r) => ({
      kind: "undo",
      ...target,
      uid: r.uid,
      fromRevision: r.fromRevision,
      toRevision: r.toRevision,
      images: r.images,
    }),
  });

  return {
    restart: restart(false),
    restartWaitRollout: restart(true),
    pause: paused(true)(false),
    resume: paused(false)(false),
    resumeWaitRollout: paused(false)(true),
    setImage: setImage(false),
    setImageWaitRollout: setImage(true),
    undo: undo(false),
    undoWaitRollout: undo(true),

    revisions(request, context) {
      validateQuery(request.url, []);
      const namespace = validateNamespace(context.params.namespace);
      const name = validateDeploymentName(context.params.name);
      const headers = view.namespace(namespace);
      const record = cache.get(namespace, name);
      if (!record) throw new HttpError(404, `deployment "${namespace}/${name}" not found`);
      const revisions = cache.revisions?.(namespace, name);
      if (revisions === undefined) {
        throw new HttpError(
          501,
          "the rollout history needs the ReplicaSet cache, which runs only when the undo operation is enabled on this replica-api (OPERATIONS); enable it with the chart value operations: [..., undo]",
        );
      }
      return jsonResponse({
        namespace,
        name,
        ...(record.revision === undefined ? {} : { currentRevision: record.revision }),
        revisions: revisions.map((r) => ({
          revision: r.revision,
          current: r.revision === record.revision,
          replicaSet: r.name,
          images: r.containers.map((c) => ({ container: c.name, image: c.image })),
          ...(r.changeCause === undefined ? {} : { changeCause: r.changeCause }),
          created: r.created,
          replicas: r.replicas,
        })),
      }, { headers });
    },
  };
}

/** restart, pause and resume take no body: none, an empty one or `{}`. Anything else would be ignored, so it is refused. */
async function noBody(request: Request): Promise<void> {
  const body = await readOptionalJsonBody(request, "{}");
  if (body === undefined) return;
  if (typeof body !== "object" || body === null || Array.isArray(body) || Object.keys(body).length > 0) {
    throw new HttpError(400, "this operation takes no body: send none, or {}");
  }
}
