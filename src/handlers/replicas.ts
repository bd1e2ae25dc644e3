/**
 * GET and PUT of a Deployment's replica count. GET is served from the cache
 * with the resourceVersion as ETag; PUT goes through the Scaler (scale
 * subresource, optimistic concurrency) and answers once this instance's cache
 * has seen the write (200), or 202 if it has not within WRITE_SYNC_TIMEOUT.
 * A Deployment that a HorizontalPodAutoscaler scales is refused (409) unless
 * the caller insists (?force=true): the autoscaler would undo the change.
 * ?dryRun=true has the API server validate the change without making it.
 * ?wait=rollout waits (on the cache) for the rollout to complete; GET also
 * takes ?resourceVersion=N (NotOlderThan) for reads consistent across replicas.
 * Each scale is recorded as a Kubernetes Event on the Deployment.
 */
import type { Handler } from "../http/mod.ts";
import { emptyResponse, jsonResponse, setResponseHeader, textResponse } from "../http/mod.ts";
import type { DeploymentRecord } from "../kube/mod.ts";
import { HttpError, noneMatch, parseEntityTags } from "../http/mod.ts";
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
import { admitLongRequest, stopSignal } from "./long_requests.ts";
import { defaultStreamingDeps, type StreamingDeps } from "./streaming.ts";

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

  /** GET with ?wait=rollout and/or NotOlderThan: first the cache reaches the version, then the rollout completes (or not). */
  const getWaiting = async (request: Request, context: RequestContext, namespace: string, name: string, query: URLSearchParams) => {
    const wait = parseWait(query);
    const min = minResourceVersion(query);
    view.namespace(namespace); // 503 or 404 now, not after waiting for a version
    if (min !== undefined) {
      await awaitResourceVersion(cache, min, streaming.writeSyncTimeoutMs, { namespace, signal: context.closed?.() });
    }
    if (!wait) return current(request, namespace, name);
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
  };

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
    // Admitted before the write: a refused wait must not leave a change behind that the client thinks failed.
    const end = admitLongRequest(streaming, context.client, "wait");
    try {
      const result = await scaleOnce(scaleRequest, context.client, autoscaler);
      const { namespace, name } = scaleRequest;
      const outcome = await waitForRollout(cache, namespace, name, {
        timeoutMs: Math.max(0, Math.round(timeoutMs)),
        signal: stopSignal(streaming, context.closed),
        shuttingDown: () => streaming.shutdown.aborted,
        atLeast: result.resourceVersion,
      });
      end(outcome.end);
      return jsonResponse(
        { ...putBody(namespace, name, result, autoscaler), rollout: outcome.rollout },
        { status: result.observed && outcome.rollout.complete ? 200 : 202, headers: { etag: `"${result.resourceVersion}"` } },
      );
    } finally {
      end("error");
    }
  };

  return {
    get(request, context) {
      const { namespace, name, query } = target(request, context.params, GET_PARAMS);
      if (query.size !== 0) return getWaiting(request, context, namespace, name, query);
      return current(request, namespace, name);
    },

    async put(request, context) {
      const started = performance.now();
      // First everything that does not depend on the cache, so a malformed request is 400 even before the
      // first sync: a 503 would tell the client to retry a request that can never succeed.
      const { namespace, name, query } = target(request, context.params, PUT_PARAMS);
      const force = validateBooleanQuery(query, "force");
      const dryRun = validateBooleanQuery(query, "dryRun");
      const wait = parseWait(query);
      if (wait && dryRun) {
        throw new HttpError(400, "dryRun=true changes nothing, so there is no rollout to wait for: drop wait=rollout or dryRun");
      }
      const ifMatchHeader = request.headers.get("if-match");
      const ifMatch = ifMatchHeader === null ? undefined : parseEntityTags(ifMatchHeader);
      if (ifMatch === null) {
        await request.body?.cancel().catch(() => {});
        throw new HttpError(400, `If-Match must be "*" or a list of quoted ETags, e.g. If-Match: "12345"`);
      }
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
      if (wait) return await scaleAndWait(scaleRequest, context, autoscaler, wait.timeoutMs - (performance.now() - started));
      const result = await scaleOnce(scaleRequest, context.client, autoscaler);
      const body = putBody(namespace, name, result, autoscaler);
      // Nothing changed, so no ETag of a new version and no wait for the cache.
      if (dryRun) return jsonResponse({ ...body, dryRun: true });
      return jsonResponse(body, { status: result.observed ? 200 : 202, headers: { etag: `"${result.resourceVersion}"` } });
    },
  };
}

/** The caller as an Event note names it: "CN=alice (O=sre, O=oncall)". */
export function actorOf(client: ClientIdentity | undefined): string {
  if (!client) return "an unauthenticated client";
  const cn = `CN=${client.cn || "(none)"}`;
  return client.organizations.length ? `${cn} (${client.organizations.map((o) => `O=${o}`).join(", ")})` : cn;
}
