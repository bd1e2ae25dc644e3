/**
 * The audit record: one JSON object per security-relevant decision or change
 * (every write attempt, and refused reads), shaped so it can be shipped to a
 * SIEM and queried without knowing our log format. It says who (the verified
 * certificate), what (action and target), and how it ended.
 *
 * Log it with `log.info("audit", buildAuditRecord(...))`: the logger writes
 * the fields as they are, so the line carries `"audit": true` to filter on.
 */
import type { ClientIdentity } from "../http/mod.ts";
import { type Permission, PERMISSIONS } from "./policy.ts";

/**
 * What was done or attempted: a permission's name, except that the `pause` permission covers two actions, and
 * "paused" and "resumed" must not read the same in an audit trail.
 */
export type AuditAction = Permission | "resume";

/**
 * - `denied`: authorization refused it (403), or a limit did (429).
 * - `allowed`: authorized; used when no more specific outcome is recorded.
 * - `succeeded`: the change is done and observed (200).
 * - `accepted`: the API server took the change but this instance has not observed it yet (202).
 * - `failed`: the request was authorized but did not succeed (4xx/5xx after authorization).
 */
export type AuditOutcome = "allowed" | "denied" | "succeeded" | "failed" | "accepted";

export interface AuditTarget {
  /** A namespace, or "*" for a list across all namespaces. */
  readonly namespace: string;
  /** The Deployment; absent for list reads. */
  readonly name?: string;
}

/** What the caller knows about the event; {@link buildAuditRecord} adds the time and checks the values. */
export interface AuditEvent {
  readonly identity: ClientIdentity;
  readonly action: AuditAction;
  readonly target: AuditTarget;
  readonly outcome: AuditOutcome;
  /** The HTTP status answered. */
  readonly status: number;
  readonly replicasBefore?: number;
  readonly replicasAfter?: number;
  /**
   * What the Deployment had before and has after a change other than a scale, in words: an image reference,
   * `revision 3`, `paused=false`, a restartedAt time. Absent when unknown (a refusal, a failure, a first restart's
   * `before`). Equal when nothing changed.
   */
  readonly before?: string;
  readonly after?: string;
  /** Why it was denied or failed, in words (the problem detail). */
  readonly reason?: string;
  /** The caller asked to scale past a HorizontalPodAutoscaler (?force=true). */
  readonly forced?: boolean;
  /** The caller asked for a dry run (?dryRun=true): nothing was changed. */
  readonly dryRun?: boolean;
  readonly requestId: string;
}

/** One audit log line: the event as given, marked as audit, timed, with the identity reduced to plain fields. */
export type AuditRecord = Omit<AuditEvent, "identity"> & {
  readonly audit: true;
  /** ISO 8601, UTC. */
  readonly time: string;
  readonly identity: { readonly cn: string; readonly organizations: readonly string[]; readonly fingerprint256: string };
};

const ACTIONS: readonly string[] = [...PERMISSIONS, "resume"];
const OUTCOMES: readonly string[] = ["allowed", "denied", "succeeded", "failed", "accepted"];
/** Reasons may quote API server messages; a bound keeps one record from flooding the audit trail. */
export const MAX_REASON_LENGTH = 1000;

function bounded(text: string): string {
  return text.length > MAX_REASON_LENGTH ? text.slice(0, MAX_REASON_LENGTH) + "…" : text;
}

function checkText(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "string") throw new TypeError(`audit: ${name} must be a string, got ${typeof value}`);
}

function checkReplicas(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
    throw new TypeError(`audit: ${name} must be a non-negative integer, got ${value}`);
  }
}

/**
 * Builds one audit record. Optional fields that are undefined are left out,
 * so every record of a kind has the same keys. Throws TypeError for values
 * that would make a misleading record (a bug in the caller, not in the request).
 */
export function buildAuditRecord(event: AuditEvent, now: () => Date = () => new Date()): AuditRecord {
  if (!ACTIONS.includes(event.action)) throw new TypeError(`audit: unknown action ${JSON.stringify(event.action)}`);
  if (!OUTCOMES.includes(event.outcome)) throw new TypeError(`audit: unknown outcome ${JSON.stringify(event.outcome)}`);
  if (!Number.isInteger(event.status) || event.status < 100 || event.status > 599) {
    throw new TypeError(`audit: status must be an HTTP status code, got ${event.status}`);
  }
  checkReplicas("replicasBefore", event.replicasBefore);
  checkReplicas("replicasAfter", event.replicasAfter);
  checkText("before", event.before);
  checkText("after", event.after);
  const { identity, target } = event;
  const record: Record<string, unknown> = {
    audit: true,
    time: now().toISOString(),
    identity: Object.freeze({
      cn: identity.cn,
      organizations: Object.freeze([...identity.organizations]),
      fingerprint256: identity.fingerprint256,
    }),
    action: event.action,
    target: Object.freeze(target.name === undefined ? { namespace: target.namespace } : { namespace: target.namespace, name: target.name }),
    outcome: event.outcome,
    status: event.status,
  };
  if (event.replicasBefore !== undefined) record.replicasBefore = event.replicasBefore;
  if (event.replicasAfter !== undefined) record.replicasAfter = event.replicasAfter;
  // Bounded like the reason: they echo what the client sent (an image reference), which the handler bounds, but
  // one record must never flood the trail whatever a handler lets through.
  if (event.before !== undefined) record.before = bounded(event.before);
  if (event.after !== undefined) record.after = bounded(event.after);
  if (event.forced) record.forced = true;
  if (event.dryRun) record.dryRun = true;
  if (event.reason !== undefined) record.reason = bounded(event.reason);
  record.requestId = event.requestId;
  return Object.freeze(record) as unknown as AuditRecord;
}
