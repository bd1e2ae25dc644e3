/**
 * GET and PUT of a Deployment's replica count, and the same two with
 * ?wait=rollout, each a route of its own (`get_replicas`, `put_replicas`,
 * `get_replicas_wait_rollout`, `put_replicas_wait_rollout`). GET is served
 * from the cache with the resourceVersion as ETag, and takes
 * ?resourceVersion=N (NotOlderThan) for reads consistent across replicas; PUT
 * goes through the Scaler (scale subresource, optimistic concurrency) and
 * answers once this instance's cache has seen the write (200), or 202 if it
 * has not within WRITE_SYNC_TIMEOUT. A Deployment that a
 * HorizontalPodAutoscaler scales is refused (409) unless the caller insists
 * (?force=true): the autoscaler would undo the change. ?dryRun=true has the
 * API server validate the change without making it. ?wait=rollout waits (on
 * the cache, see rollout_wait.ts) for the rollout to complete. Each scale is
 * recorded as a Kubernetes Event on the Deployment.
 */
import type { Handler } from "../http/mod.ts";
import { emptyResponse, jsonResponse, setResponseHeader, textResponse } from "../http/mod.ts";
import type { DeploymentRecord } from "../kube/mod.ts";
import { HttpError, noneMatch } from "../http/mod.ts";
import { readJsonBody } from "../http/mod.ts";
import { validateBooleanQuery, validateQuery } from "../http/mod.ts";
import { validateDeploymentName, validateNamespace, validateReplicasBody } from "./validation.ts";
import type { ClientIdentity, RequestContext } from "../http/mod.ts";
import type { Scaler, ScaleRequest } from "../kube/mod.ts";
import type { ScaleEventRecorder } from "../kube/mod.ts";
import type { AutoscalerRef } from "../kube/mod.ts";
import type { CacheView } from "./cache_view.ts";
import { awaitResourceVersion, CONSISTENT_READ_PARAMS, minResourceVersion } from "./consistent_read.ts";
import { parseWait, WAIT_PARAMS, waitForRollout } from "./rollout_wait.ts";
import { actorOf, ifMatchOf, writeSwitches, writeThenWait } from "./write_request.ts";
import { admitLongRequest, stopSignal } from "./long_requests.ts";
import { defaultStreamingDeps, type StreamingDeps } from "./streaming.ts";

/** On the routes without the wait, wait and timeout are known only to be refused with a reason (see parseWait). */
const GET_PARAMS: readonly string[] = Object.freeze([...WAIT_PARAMS, ...CONSISTENT_READ_PARAMS]);
/** PUT replicas: the switches force and dryRun (each "true" or "false"), and the rollout wait. */
const PUT_PARAMS: readonly string[] = Object.freeze(["force", "dryRun", ...WAIT_PARAMS]);

export interface ReplicasHandlerDeps {
  view: CacheView;
  scaler: Scaler;
  maxReplicas: number;
  /** Records each successful scale as a Kubernetes Event; none when undefined. */
  events?: ScaleEventRecorder;
  /** Rollout waits and NotOlderThan reads; defaults for tests. */
  streaming?: StreamingDeps;
}

export interface ReplicasHandlers {
  get: Handler;
  put: Handler;
  /** GET ?wait=rollout: the replicas once the rollout is complete (200), or its progress when the timeout runs out (202). */
  getWaitRollout: Handler;
  /** PUT ?wait=rollout: scale, then wait for the rollout of that write. */
  putWaitRollout: Handler;
}

export function createReplicasHandlers(
  { view, scaler, maxReplicas, events, streaming = defaultStreamingDeps() }: ReplicasHandlerDeps,
): ReplicasHandlers {
  const { cache } = view;
  const target = (request: Request, params: Readonly<Record<string, string>>, allowed: readonly string[]) => {
    const query = validateQuery(request.url, allowed);
    const namespace = validateNamespace(params.namespace);
    const name = validateDeploymentName(params.name);
    return { namespace, name, query };
  };

  /** The wait a route without one refuses: wait=rollout is routed to the wait routes, anything else is 400 here. */
  const noWait = (request: Request, query: URLSearchParams) => {
    if (parseWait(query)) throw new Error(`a replicas route without the wait got wait=rollout: ${request.url}`);
  };

  /** Resolves once the cache has reached the NotOlderThan version `min`, if the request set one. */
  const reached = (min: string | undefined, context: RequestContext, namespace: string) =>
    min === undefined
      ? undefined
      : awaitResourceVersion(cache, min, streaming.writeSyncTimeoutMs, { namespace, signal: context.closed?.() });

  const current = (request: Request, namespace: string, name: string) => {
    const headers = view.namespace(namespace);
    const record = cache.get(namespace, name);
    if (!record) throw new HttpError(404, `deployment "${namespace}/${name}" not found`);
    const etag = `"${record.resourceVersion}"`;
    if (noneMatch(request, record.resourceVersion)) return emptyResponse(304, { ...headers, etag });
    const response = textResponse(replicasText(record), "application/json", { headers });
    setResponseHeader(response, "etag", etag);
    return response;
  };

  /**
   * The GET answer's JSON, serialised once per record: records are frozen and replaced on every change, so the
   * text of one never goes stale. Held weakly, so it goes with its record. Saves an object and a JSON.stringify
   * per read (garbage that made reads slower the more connections were open).
   */
  const replicasTexts = new WeakMap<DeploymentRecord, string>();
  const replicasText = (record: DeploymentRecord): string => {
    let text = replicasTexts.get(record);
    if (text === undefined) {
      const body: Record<string, unknown> = {
        namespace: record.namespace,
        name: record.name,
        replicas: record.replicas,
        readyReplicas: record.readyReplicas,
        availableReplicas: record.availableReplicas,
      };
      if (record.autoscaler) body.autoscaler = record.autoscaler;
      replicasTexts.set(record, text = JSON.stringify(body));
    }
    return text;
  };

  /** Scales, and records who did it as a Kubernetes Event (best effort, never fails the write). */
  const scaleOnce = async (scaleRequest: ScaleRequest, client: ClientIdentity | undefined, autoscaler: AutoscalerRef | undefined) => {
    const result = await scaler.scale(scaleRequest);
    if (!scaleRequest.dryRun) {
      events?.scaled({
        namespace: scaleRequest.namespace,
        name: scaleRequest.name,
        uid: result.uid,
        from: result.previousReplicas,
        to: result.replicas,
        actor: actorOf(client),
        forcedPast: autoscaler?.name,
      });
    }
    return result;
  };

  /** The body every successful PUT answers with. */
  const putBody = (namespace: string, name: string, result: { replicas: number; previousReplicas: number }, autoscaler?: AutoscalerRef) => {
    const body: Record<string, unknown> = { namespace, name, replicas: result.replicas, previousReplicas: result.previousReplicas };
    if (autoscaler) body.autoscaler = autoscaler;
    return body;
  };

  /** PUT ?wait=rollout: scale, then wait for the rollout of that write (a state older than the write does not count). */
  const scaleAndWait = async (
    scaleRequest: ScaleRequest,
    context: RequestContext,
    autoscaler: AutoscalerRef | undefined,
    timeoutMs: number,
  ) => {
    const { namespace, name } = scaleRequest;
    const { result, rollout, status } = await writeThenWait(
      { cache, streaming },
      context,
      scaleRequest,
      timeoutMs,
      () => scaleOnce(scaleRequest, context.client, autoscaler),
    );
    return jsonResponse({ ...putBody(namespace, name, result, autoscaler), rollout }, {
      status,
      headers: { etag: `"${result.resourceVersion}"` },
    });
  };

  /**
   * Everything a PUT checks before it writes, in order: first what does not depend on the cache, so a malformed
   * request is 400 even before the first sync (a 503 would tell the client to retry a request that can never
   * succeed), then the namespace (503, 404) and the autoscaler (409).
   */
  const checkedScale = async (request: Request, context: RequestContext) => {
    const started = performance.now();
    const { namespace, name, query } = target(request, context.params, PUT_PARAMS);
    const force = validateBooleanQuery(query, "force");
    const { dryRun, wait } = writeSwitches(query);
    const ifMatch = await ifMatchOf(request);
    const replicas = validateReplicasBody(await readJsonBody(request), maxReplicas);
    view.namespace(namespace);
    const autoscaler = cache.get(namespace, name)?.autoscaler;
    if (autoscaler && !force) {
      throw new HttpError(
        409,
        `deployment "${namespace}/${name}" is scaled by HorizontalPodAutoscaler "${autoscaler.name}" (minReplicas ${autoscaler.minReplicas}, maxReplicas ${autoscaler.maxReplicas}), which would undo this change; change the autoscaler instead, or repeat the request with ?force=true`,
      );
    }
    const scaleRequest: ScaleRequest = { namespace, name, replicas, ifMatch, dryRun };
    return { scaleRequest, autoscaler, wait, started };
  };

  return {
    get(request, context) {
      const { namespace, name, query } = target(request, context.params, GET_PARAMS);
      if (query.size === 0) return current(request, namespace, name);
      noWait(request, query);
      const min = minResourceVersion(query);
      view.namespace(namespace); // 503 or 404 now, not after waiting for a version
      const waiting = reached(min, context, namespace);
      return waiting ? waiting.then(() => current(request, namespace, name)) : current(request, namespace, name);
    },

    /** First the cache reaches the NotOlderThan version, if one is given; then the rollout completes (or not). */
    async getWaitRollout(request, context) {
      const { namespace, name, query } = target(request, context.params, GET_PARAMS);
      const wait = parseWait(query);
      if (!wait) throw new Error(`the rollout wait route got a request without wait=rollout: ${request.url}`);
      const min = minResourceVersion(query);
      view.namespace(namespace);
      await reached(min, context, namespace);
      const end = admitLongRequest(streaming, context.client, "wait");
      try {
        const outcome = await waitForRollout(cache, namespace, name, {
          timeoutMs: wait.timeoutMs,
          signal: stopSignal(streaming, context.closed),
          shuttingDown: () => streaming.shutdown.aborted,
        });
        end(outcome.end);
        const r = outcome.record;
        const body: Record<string, unknown> = {
          namespace,
          name,
          replicas: r.replicas,
          readyReplicas: r.readyReplicas,
          availableReplicas: r.availableReplicas,
        };
        if (r.autoscaler) body.autoscaler = r.autoscaler;
        return jsonResponse(
          { ...body, rollout: outcome.rollout },
          { status: outcome.rollout.complete ? 200 : 202, headers: { ...view.readHeaders(), etag: `"${r.resourceVersion}"` } },
        );
      } finally {
        end("error"); // no-op when the outcome was recorded
      }
    },

    async put(request, context) {
      const { scaleRequest, autoscaler, wait } = await checkedScale(request, context);
      if (wait) throw new Error(`put_replicas got wait=rollout: ${request.url}`);
      const { namespace, name, dryRun } = scaleRequest;
      const result = await scaleOnce(scaleRequest, context.client, autoscaler);
      const body = putBody(namespace, name, result, autoscaler);
      // Nothing changed, so no ETag of a new version and no wait for the cache.
      if (dryRun) return jsonResponse({ ...body, dryRun: true });
      return jsonResponse(body, { status: result.observed ? 200 : 202, headers: { etag: `"${result.resourceVersion}"` } });
    },

    async putWaitRollout(request, context) {
      const { scaleRequest, autoscaler, wait, started } = await checkedScale(request, context);
      if (!wait) throw new Error(`the rollout wait route got a request without wait=rollout: ${request.url}`);
      // The timeout counts from the request's start, body and all.
      return await scaleAndWait(scaleRequest, context, autoscaler, wait.timeoutMs - (performance.now() - started));
    },
  };
}
