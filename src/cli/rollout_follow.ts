/**
 * Following a rollout after a write (`scale --wait`, `restart --wait`, `set-image --wait`, ...): the rollout is read
 * through `GET .../replicas?wait=rollout` in short slices so progress can be shown as it happens, until it completes
 * or the deadline passes (a CliFailure with the Deployment's own reason). The write has happened by then, so a passing
 * failure (a replica of the service restarting, a rate limit) only makes it ask again.
 */
import type { ApiClient } from "./api_client.ts";
import type { ReplicasBody } from "./api_types.ts";
import { ApiError, CliFailure, ConnectionError, errorMessage } from "./errors.ts";
import { rolloutProgress, rolloutReason } from "./format.ts";
import type { Clock } from "./output.ts";

/** Longest single `?wait=rollout` request: progress is reported at least this often. */
export const PROGRESS_SLICE_MS = 5_000;
/** Pause between polls when the API answers at once (e.g. complete, but not yet at our count). */
const MIN_POLL_INTERVAL_MS = 500;
/** Pause before asking again after a passing failure (a replica restarting, a rate limit). */
const RETRY_INTERVAL_MS = 1_000;

/** Whose rollout, and how to tell it from a state before the write. */
export interface FollowedRollout {
  readonly namespace: string;
  readonly name: string;
  /** What --timeout allowed in all; named in the message when it runs out. */
  readonly timeoutMs: number;
  /**
   * The write's resourceVersion (its ETag), passed as `resourceVersion` (NotOlderThan): the answering replica first
   * catches up with the write, so a "complete" from before it cannot end the wait.
   */
  readonly notOlderThan?: string;
  /** scale: the count asked for. A rollout complete at another count is not this one (someone else scaled since). */
  readonly replicas?: number;
}

/** Polls until the API reports the rollout complete (and, for a scale, at the requested count); returns that answer. */
export async function followRollout(
  target: FollowedRollout,
  client: ApiClient,
  clock: Clock,
  progress: (line: string) => void,
  deadline: number,
): Promise<ReplicasBody> {
  const notOlderThan = target.notOlderThan === undefined ? undefined : bareVersion(target.notOlderThan);
  let lastLine = "";
  let last: ReplicasBody | undefined;
  for (;;) {
    const remaining = deadline - clock.now();
    if (remaining <= 0) throw timedOut(target, last);
    const asked = clock.now();
    let answer;
    try {
      answer = await client.replicas(target.namespace, target.name, {
        waitRolloutMs: Math.min(remaining, PROGRESS_SLICE_MS),
        notOlderThan,
      });
    } catch (error) {
      // The write has happened; a replica of the service restarting or a rate limit must not end the wait early.
      if (!passing(error)) throw error;
      const line = `${target.namespace}/${target.name}: ${errorMessage(error)}; asking again`;
      if (line !== lastLine) progress(line);
      lastLine = line;
      const retryAfter = error instanceof ApiError && error.retryAfterSeconds !== undefined ? error.retryAfterSeconds * 1000 : 0;
      await clock.sleep(Math.min(Math.max(RETRY_INTERVAL_MS, retryAfter), Math.max(0, deadline - clock.now())));
      continue;
    }
    const rollout = answer.body.rollout;
    if (rollout === undefined) {
      throw new CliFailure("the API did not report rollout progress (GET .../replicas?wait=rollout needs a newer replica-api)");
    }
    last = answer.body;
    const line = rolloutProgress(answer.body, rollout, target.replicas);
    if (line !== lastLine) progress(line);
    lastLine = line;
    const atCount = target.replicas === undefined || answer.body.replicas === target.replicas;
    if (answer.status === 200 && rollout.complete && atCount) return answer.body;
    const elapsed = clock.now() - asked;
    if (elapsed < MIN_POLL_INTERVAL_MS) await clock.sleep(Math.min(MIN_POLL_INTERVAL_MS - elapsed, Math.max(0, deadline - clock.now())));
  }
}

/** The resourceVersion inside an ETag ("901" or W/"901" → 901): what `?resourceVersion=` takes. */
function bareVersion(etag: string): string {
  return /^(?:W\/)?"([^"]*)"$/.exec(etag)?.[1] ?? etag;
}

/** Worth asking again: the service is restarting, overloaded or behind, not refusing. */
function passing(error: unknown): boolean {
  if (error instanceof ConnectionError) return error.retryable;
  return error instanceof ApiError && (error.status === 429 || error.status === 502 || error.status === 503 || error.status === 504);
}

function timedOut(target: FollowedRollout, last: ReplicasBody | undefined): CliFailure {
  let message = `timed out after ${target.timeoutMs / 1000} s waiting for the rollout of ${target.namespace}/${target.name}`;
  if (last?.rollout) {
    const r = last.rollout;
    message += `: ${r.updatedReplicas ?? 0} updated, ${r.readyReplicas ?? 0} ready, ${r.availableReplicas ?? 0} available of ${
      target.replicas ?? last.replicas
    }`;
    const why = rolloutReason(r);
    if (why) message += `; ${why}`;
  }
  return new CliFailure(message);
}
