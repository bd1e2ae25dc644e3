/**
 * The per-request checks of the mTLS API, in one place and in a fixed order:
 * the client's rate limit (429), then authorization (403), then the cap on
 * concurrent requests (503). The rate limit comes first so that probing for
 * what one may do is limited too; the concurrency slot is taken last so that
 * refused requests never hold one. Refusals of writes, and refusals by the
 * policy, are written to the audit trail; so is the end of every admitted
 * write (the end that {@link RequestGuard.admit} returns), with what it
 * changed.
 */
import { type ClientIdentity, type GuardedRequest, HttpError, type RequestGuard } from "../http/mod.ts";
import type { Logger } from "../observability/mod.ts";
import type { ConcurrencyLimiter } from "../limits/mod.ts";
import type { RateLimiter } from "../limits/mod.ts";
import type { Authorizer } from "./authorizer.ts";
import { type Permission, PERMISSIONS } from "./policy.ts";
import { type AuditAction, type AuditEvent, type AuditOutcome, buildAuditRecord } from "./audit.ts";
import { who } from "./_who.ts";

export interface RequestGuardOptions {
  authorizer: Authorizer;
  /** Per-certificate limit for GET and HEAD; undefined = none. */
  reads?: RateLimiter;
  /** Per-certificate limit for every other method; undefined = none. */
  writes?: RateLimiter;
  /** Cap on requests in progress; undefined = none. */
  concurrency?: ConcurrencyLimiter;
  /** Audit records are logged at info with msg "audit". */
  log: Logger;
  /** Counters (ServiceMetrics has both); `identity` is the client CN. */
  metrics?: {
    authzDenied(identity: string, permission: string): void;
    rateLimited(identity: string, limit: string): void;
  };
  now?: () => Date;
}

const NOTHING_TO_RELEASE = () => {};

/** 2/s, 30/min, 10/h: the unit in which the rate is a whole number, as it was most likely configured. */
function describeRate(perSecond: number): string {
  for (const [unit, seconds] of [["s", 1], ["min", 60], ["h", 3600]] as const) {
    const count = perSecond * seconds;
    if (Math.abs(count - Math.round(count)) < 1e-9) return `${Math.round(count)}/${unit}`;
  }
  return `${perSecond.toPrecision(3)}/s`;
}

/**
 * What the caller asked for, as the handler understands it: exactly "true" (anything else is a 400 there). Every
 * write takes ?dryRun; only a scale takes ?force (elsewhere it is a 400, and "forced" would say what did not happen).
 */
function writeFlags(url: string | undefined, action: AuditAction): { forced?: boolean; dryRun?: boolean } {
  if (!url?.includes("?")) return {};
  const query = new URL(url).searchParams;
  return {
    forced: (action === "scale" && query.get("force") === "true") || undefined,
    dryRun: query.get("dryRun") === "true" || undefined,
  };
}

/** The routes of a resume: the `pause` permission covers them, but the audit trail must tell a resume from a pause. */
const RESUME_ROUTES: ReadonlySet<string> = new Set(["resume_deployment", "resume_deployment_wait_rollout"]);

function actionOf(request: GuardedRequest): AuditAction {
  if (request.permission === undefined) return isReadMethod(request.method) ? "read" : "scale";
  if (request.permission === "pause" && request.route !== undefined && RESUME_ROUTES.has(request.route)) return "resume";
  return request.permission as AuditAction;
}

/**
 * What a successful write changed, from its response body, in the record's terms: replica counts for a scale,
 * `before`/`after` words for the others. One place that knows every operation's body, so a new operation is one
 * more case here and not another copy of the audit path. A value of an unexpected type is left out rather than
 * guessed at.
 */
function changeOf(action: AuditAction, body: Record<string, unknown>): Partial<AuditEvent> {
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  const revision = (value: unknown) => (Number.isSafeInteger(value) ? `revision ${value}` : undefined);
  const count = (value: unknown) => (Number.isSafeInteger(value) && (value as number) >= 0 ? value as number : undefined);
  switch (action) {
    case "scale":
      return { replicasBefore: count(body.previousReplicas), replicasAfter: count(body.replicas) };
    case "image":
      return { before: text(body.previousImage), after: text(body.image) };
    case "undo":
      return { before: revision(body.fromRevision), after: revision(body.toRevision) };
    case "restart":
      return { before: text(body.previousRestartedAt), after: text(body.restartedAt) };
    case "pause":
    case "resume": {
      // The body says where it is now and whether it moved; where it was follows from the two.
      if (typeof body.paused !== "boolean") return {};
      const before = typeof body.changed === "boolean" ? `paused=${body.changed ? !body.paused : body.paused}` : undefined;
      return { before, after: `paused=${body.paused}` };
    }
    case "read":
      return {};
  }
}

function isReadMethod(method: string): boolean {
  return method === "GET" || method === "HEAD";
}

export function createRequestGuard(options: RequestGuardOptions): RequestGuard {
  const { authorizer, log, metrics } = options;
  const now = options.now ?? (() => new Date());

  const audit = (request: GuardedRequest, client: ClientIdentity, outcome: AuditOutcome, status: number, extra: Partial<AuditEvent>) => {
    try {
      log.info(
        "audit",
        buildAuditRecord({
          identity: client,
          action: actionOf(request),
          target: request.name === undefined
            ? { namespace: request.namespace ?? "*" }
            : { namespace: request.namespace ?? "*", name: request.name },
          outcome,
          status,
          requestId: request.requestId,
          ...extra,
        }, now) as unknown as Record<string, unknown>,
      );
    } catch (error) {
      // An audit bug must be loud, but must not turn a refusal into a 500 or let a request through.
      log.error("audit record could not be built", { error, requestId: request.requestId });
    }
  };

  return {
    admit(request) {
      const client = request.client;
      if (!client) return NOTHING_TO_RELEASE;
      const read = isReadMethod(request.method);

      const limiter = read ? options.reads : options.writes;
      const decision = limiter?.take(client.fingerprint256);
      if (decision && !decision.allowed) {
        const kind = read ? "read" : "write";
        metrics?.rateLimited(client.cn, kind);
        const detail = `rate limit for ${kind}s exceeded for this client certificate (${describeRate(limiter!.ratePerSecond)}, bursts of ${
          limiter!.burst
        }); retry in ${decision.retryAfterSeconds} s`;
        // Reads are not audited: a client over its read limit would otherwise flood the audit trail.
        if (!read) audit(request, client, "denied", 429, { reason: detail });
        throw new HttpError(429, detail, { headers: { "retry-after": String(decision.retryAfterSeconds) } });
      }

      if (request.permission) {
        // Route tables name permissions as plain strings; one the policy does not know must never pass unchecked.
        if (!(PERMISSIONS as readonly string[]).includes(request.permission)) {
          throw new Error(`route requires unknown permission "${request.permission}"`);
        }
        const permission = request.permission as Permission;
        const action = actionOf(request);
        const namespace = request.namespace ?? (permission === "read" ? undefined : "*");
        // A list across namespaces is filtered to what the client may read; when that is nothing, an empty
        // list would read as "there are no Deployments", so it is refused instead.
        const readable = namespace === undefined ? authorizer.readableNamespaces(client) : "*";
        const readsNothing = readable !== "*" && readable.size === 0;
        if (readsNothing || (namespace !== undefined && !authorizer.can(client, permission, namespace))) {
          metrics?.authzDenied(client.cn, permission);
          const where = readsNothing ? "in any namespace" : namespace === "*" ? "in every namespace" : `in namespace "${namespace}"`;
          const needs = action === permission ? "" : ` (that takes the ${permission} permission)`;
          const detail = `${who(client)} may not ${action} ${where}${needs}`;
          audit(request, client, "denied", 403, { reason: detail });
          throw new HttpError(403, detail);
        }
      }

      let release = NOTHING_TO_RELEASE;
      if (options.concurrency) {
        const acquired = options.concurrency.tryAcquire();
        if (!acquired) {
          throw new HttpError(503, `the server is handling its maximum of ${options.concurrency.max} requests; retry shortly`, {
            headers: { "retry-after": "1" },
          });
        }
        release = acquired;
      }
      // Refusals were audited above; a write's outcome is audited once its response is made.
      if (request.permission === undefined || request.permission === "read") return release;
      return (response) => {
        release();
        return auditOutcome(request, client, response);
      };
    },
  };

  /**
   * The audit record of an admitted write, from its response: 200 succeeded (with what changed), 202 accepted,
   * 403 denied (the handler's own policy check: an image outside the client's patterns, counted as a policy
   * refusal like the guard's), anything else failed (with the problem detail as reason). Reads a clone of the
   * body; the response is untouched.
   */
  async function auditOutcome(request: GuardedRequest, client: ClientIdentity, response: Response): Promise<void> {
    let body: Record<string, unknown> = {};
    try {
      const parsed = await response.clone().json();
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) body = parsed;
    } catch { /* no JSON body: the record goes without the details */ }
    const action = actionOf(request);
    const flags = writeFlags(request.url, action);
    if (response.status === 200 || response.status === 202) {
      audit(request, client, response.status === 200 ? "succeeded" : "accepted", response.status, { ...changeOf(action, body), ...flags });
      return;
    }
    const reason = typeof body.detail === "string" ? body.detail : undefined;
    if (response.status === 403) {
      metrics?.authzDenied(client.cn, request.permission ?? action);
      audit(request, client, "denied", 403, { reason, ...flags });
    } else {
      audit(request, client, "failed", response.status, { reason, ...flags });
    }
  }
}
