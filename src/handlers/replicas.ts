/**
 * GET and PUT of a Deployment's replica count. GET is served from the cache
 * with the resourceVersion as ETag; PUT goes through the Scaler (scale
 * subresource, optimistic concurrency) and answers once this instance's cache
 * has seen the write (200), or 202 if it has not within WRITE_SYNC_TIMEOUT.
 * A Deployment that a HorizontalPodAutoscaler scales is refused (409) unless
 * the caller insists (?force=true): the autoscaler would undo the change.
 * ?dryRun=true has the API server validate the change without making it.
 * Each scale is recorded as a Kubernetes Event on the Deployment.
 */
import type { Handler } from "../http/types.ts";
import { emptyResponse, jsonResponse, setResponseHeader } from "../http/response.ts";
import { HttpError } from "../http/http_error.ts";
import { readJsonBody } from "../http/body.ts";
import {
  validateBooleanQuery,
  validateDeploymentName,
  validateNamespace,
  validateQuery,
  validateReplicasBody,
} from "../http/validation.ts";
import type { ClientIdentity } from "../http/types.ts";
import type { Scaler, ScaleRequest } from "../kube/scaler.ts";
import type { ScaleEventRecorder } from "../kube/scale_events.ts";
import type { CacheView } from "./cache_view.ts";

/** GET replicas takes no query parameters. */
const NO_QUERY: readonly string[] = Object.freeze([]);
/** PUT replicas: switches, each "true" or "false". */
const PUT_QUERY: readonly string[] = Object.freeze(["force", "dryRun"]);

export interface ReplicasHandlerDeps {
  view: CacheView;
  scaler: Scaler;
  maxReplicas: number;
  /** Records each successful scale as a Kubernetes Event; none when undefined. */
  events?: ScaleEventRecorder;
}

export interface ReplicasHandlers {
  get: Handler;
  put: Handler;
}

export function createReplicasHandlers({ view, scaler, maxReplicas, events }: ReplicasHandlerDeps): ReplicasHandlers {
  const { cache } = view;

  const target = (request: Request, params: Readonly<Record<string, string>>) => {
    validateQuery(request.url, NO_QUERY);
    const namespace = validateNamespace(params.namespace);
    const name = validateDeploymentName(params.name);
    return { namespace, name };
  };

  return {
    get(request, { params }) {
      const { namespace, name } = target(request, params);
      const headers = view.readHeaders();
      if (!cache.hasNamespace(namespace)) {
        throw new HttpError(404, `namespace "${namespace}" does not exist or is not watched by this service`);
      }
      const record = cache.get(namespace, name);
      if (!record) throw new HttpError(404, `deployment "${namespace}/${name}" not found`);
      const etag = `"${record.resourceVersion}"`;
      const body: Record<string, unknown> = {
        namespace,
        name,
        replicas: record.replicas,
        readyReplicas: record.readyReplicas,
        availableReplicas: record.availableReplicas,
      };
      if (record.autoscaler) body.autoscaler = record.autoscaler;
      if (noneMatch(request, record.resourceVersion)) return emptyResponse(304, { ...headers, etag });
      const response = jsonResponse(body, { headers });
      setResponseHeader(response, "etag", etag);
      return response;
    },

    async put(request, { params, client }) {
      // First everything that does not depend on the cache, so a malformed request is 400 even before the
      // first sync: a 503 would tell the client to retry a request that can never succeed.
      const query = validateQuery(request.url, PUT_QUERY);
      const namespace = validateNamespace(params.namespace);
      const name = validateDeploymentName(params.name);
      const force = validateBooleanQuery(query, "force");
      const dryRun = validateBooleanQuery(query, "dryRun");
      const ifMatchHeader = request.headers.get("if-match");
      const ifMatch = ifMatchHeader === null ? undefined : parseEntityTags(ifMatchHeader);
      if (ifMatch === null) {
        await request.body?.cancel().catch(() => {});
        throw new HttpError(400, `If-Match must be "*" or a list of quoted ETags, e.g. If-Match: "12345"`);
      }
      const replicas = validateReplicasBody(await readJsonBody(request), maxReplicas);
      // Before the first sync no namespace is known yet: that is "retry shortly" (503), not "does not exist" (404).
      view.readHeaders();
      if (!cache.hasNamespace(namespace)) {
        throw new HttpError(404, `namespace "${namespace}" does not exist or is not watched by this service`);
      }
      const autoscaler = cache.get(namespace, name)?.autoscaler;
      if (autoscaler && !force) {
        throw new HttpError(
          409,
          `deployment "${namespace}/${name}" is scaled by HorizontalPodAutoscaler "${autoscaler.name}" (minReplicas ${autoscaler.minReplicas}, maxReplicas ${autoscaler.maxReplicas}), which would undo this change; change the autoscaler instead, or repeat the request with ?force=true`,
        );
      }
      const scaleRequest: ScaleRequest = { namespace, name, replicas, ifMatch, dryRun };
      const result = await scaler.scale(scaleRequest);
      const body: Record<string, unknown> = { namespace, name, replicas: result.replicas, previousReplicas: result.previousReplicas };
      if (autoscaler) body.autoscaler = autoscaler;
      // Nothing changed, so no ETag of a new version, no wait for the cache and no Event.
      if (dryRun) return jsonResponse({ ...body, dryRun: true });
      events?.scaled({
        namespace,
        name,
        uid: result.uid,
        from: result.previousReplicas,
        to: result.replicas,
        actor: actorOf(client),
        forcedPast: autoscaler?.name,
      });
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

/**
 * If-None-Match uses the weak comparison (RFC 9110 13.1.2): W/"x" matches "x", and "*" matches any current
 * representation. A malformed header is ignored, as the RFC allows for conditional GETs.
 */
export function noneMatch(request: Request, resourceVersion: string): boolean {
  const tags = parseEntityTags(request.headers.get("if-none-match"));
  if (tags === "*") return true;
  if (!tags) return false;
  return tags.some((tag) => (tag.startsWith("W/") ? tag.slice(2) : tag) === resourceVersion);
}

/**
 * Parses If-Match / If-None-Match: "*" or a comma-separated list of entity
 * tags. Quoted tags are standard; bare tokens are accepted for convenience on
 * the command line. Weak tags (W/"…") never match a strong comparison, so they
 * are kept with their prefix. Returns null when the header is malformed,
 * undefined when absent.
 */
export function parseEntityTags(header: string | null): readonly string[] | "*" | null | undefined {
  if (header === null) return undefined;
  const value = header.trim();
  if (value === "*") return "*";
  const tags: string[] = [];
  for (const part of value.split(",")) {
    const tag = part.trim();
    const quoted = /^(W\/)?"([\x21\x23-\x7e]*)"$/.exec(tag);
    if (quoted) tags.push(quoted[1] ? `W/${quoted[2]}` : quoted[2]);
    else if (/^[A-Za-z0-9._-]+$/.test(tag)) tags.push(tag);
    else return null;
  }
  return tags.length ? tags : null;
}
