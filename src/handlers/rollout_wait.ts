/**
 * `?wait=rollout&timeout=60s` on the replicas endpoints: answer once the
 * Deployment's rollout is complete by `kubectl rollout status` rules (see
 * kube/rollout.ts), or, when the timeout runs out first, with the progress
 * so far and why it is not complete. The wait listens to the cache's change
 * feed: it never asks the API server anything.
 *
 * It ends early, answering what it has, when the service shuts down, and it
 * stops (nothing is written) when the client goes away.
 */
import { HttpError, ineffectiveParameter } from "../http/mod.ts";
import type { DeploymentCache } from "../kube/mod.ts";
import type { DeploymentRecord } from "../kube/mod.ts";
import { isAtLeastVersion } from "../kube/mod.ts";
import { assessRollout, type RolloutStatus, type RolloutVerdict } from "../kube/mod.ts";

export const WAIT_PARAMS: readonly string[] = Object.freeze(["wait", "timeout"]);
export const DEFAULT_WAIT_TIMEOUT_MS = 60_000;
export const MAX_WAIT_TIMEOUT_MS = 600_000;

/**
 * The wait a request asks for, or undefined. Throws 400 for anything but `wait=rollout` and a timeout of
 * `<int>ms|s|m` up to 10m, and for a timeout without wait: it would have no effect.
 */
export function parseWait(query: URLSearchParams): { timeoutMs: number } | undefined {
  const wait = query.get("wait");
  const timeout = query.get("timeout");
  if (wait === null) {
    if (timeout !== null) throw ineffectiveParameter("timeout", "without wait=rollout, the wait it bounds");
    return undefined;
  }
  if (wait !== "rollout") throw new HttpError(400, `wait must be "rollout", got "${wait.slice(0, 40)}"`);
  return { timeoutMs: timeout === null ? DEFAULT_WAIT_TIMEOUT_MS : parseTimeout(timeout) };
}

function parseTimeout(timeout: string): number {
  const match = /^(\d{1,9})(ms|s|m)$/.exec(timeout);
  if (!match) throw new HttpError(400, `timeout must be a whole number with a unit, e.g. 500ms, 60s or 5m; got "${timeout.slice(0, 40)}"`);
  const timeoutMs = Number(match[1]) * (match[2] === "ms" ? 1 : match[2] === "s" ? 1000 : 60_000);
  if (timeoutMs > MAX_WAIT_TIMEOUT_MS) throw new HttpError(400, `timeout must be at most 10m, got ${timeout}`);
  return timeoutMs;
}

/** The `rollout` member of a replicas answer. */
export interface RolloutBody {
  complete: boolean;
  generation: number;
  observedGeneration: number;
  replicas: number;
  updatedReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  reason?: string;
  message?: string;
}

export function rolloutBody(status: RolloutStatus, verdict: RolloutVerdict): RolloutBody {
  const body: RolloutBody = {
    complete: verdict.complete,
    generation: status.generation,
    observedGeneration: status.observedGeneration,
    replicas: status.replicas,
    updatedReplicas: status.updatedReplicas,
    readyReplicas: status.readyReplicas,
    availableReplicas: status.availableReplicas,
  };
  if (verdict.reason) body.reason = verdict.reason;
  if (verdict.message) body.message = verdict.message;
  return body;
}

export interface RolloutOutcome {
  readonly record: DeploymentRecord;
  readonly rollout: RolloutBody;
  /** Why the wait ended. */
  readonly end: "completed" | "timeout" | "client_closed" | "shutdown";
}

export interface WaitForRolloutOptions {
  timeoutMs: number;
  /** Client gone or shutdown. */
  signal: AbortSignal;
  /** Only judge a state at least this new (a PUT's own write): an older state is the rollout before the change. */
  atLeast?: string;
  /** Whether the signal means shutdown (answer) rather than client gone (nobody to answer). */
  shuttingDown: () => boolean;
}

/**
 * Waits for the rollout of `namespace/name` to complete. Throws 404 when the Deployment is (or becomes) absent.
 * Every path clears its timer, listener and subscription.
 */
export function waitForRollout(
  cache: DeploymentCache,
  namespace: string,
  name: string,
  options: WaitForRolloutOptions,
): Promise<RolloutOutcome> {
  const judge = (): { record: DeploymentRecord; rollout: RolloutBody } | undefined => {
    const record = cache.get(namespace, name);
    const status = cache.rollout(namespace, name);
    if (!record || !status) return undefined;
    const current = options.atLeast === undefined || isAtLeastVersion(record.resourceVersion, options.atLeast);
    const verdict = assessRollout(status);
    return {
      record,
      rollout: rolloutBody(
        status,
        current ? verdict : {
          complete: false,
          reason: "WriteNotObserved",
          message: `this replica's cache has not yet seen the write (resourceVersion ${options.atLeast})`,
        },
      ),
    };
  };
  const gone = () => new HttpError(404, `deployment "${namespace}/${name}" not found (deleted while waiting for its rollout)`);
  const first = judge();
  if (!first) return Promise.reject(gone());
  if (first.rollout.complete) return Promise.resolve({ ...first, end: "completed" });
  if (options.timeoutMs === 0) return Promise.resolve({ ...first, end: "timeout" });
  if (options.signal.aborted) return Promise.resolve({ ...first, end: options.shuttingDown() ? "shutdown" : "client_closed" });

  return new Promise((resolve, reject) => {
    let last = first;
    const finish = (end: RolloutOutcome["end"] | "deleted") => {
      clearTimeout(timer);
      unsubscribe();
      options.signal.removeEventListener("abort", onAbort);
      if (end === "deleted") reject(gone());
      else resolve({ ...last, end });
    };
    const onAbort = () => finish(options.shuttingDown() ? "shutdown" : "client_closed");
    const unsubscribe = cache.changes.subscribe((event) => {
      if (event.record.namespace !== namespace || event.record.name !== name) return;
      if (event.type === "DELETED") return finish("deleted");
      const now = judge();
      if (!now) return finish("deleted");
      last = now;
      if (now.rollout.complete) finish("completed");
    });
    const timer = setTimeout(() => finish("timeout"), options.timeoutMs);
    options.signal.addEventListener("abort", onAbort, { once: true });
  });
}
