/**
 * `scale NS/NAME N`: one PUT of the replica count, then, with --wait, the
 * rollout followed through `GET .../replicas?wait=rollout` in short slices so
 * progress can be shown as it happens, until it completes or --timeout runs
 * out (exit 1 with the Deployment's own reason).
 */
import type { ApiClient } from "./api_client.ts";
import type { ReplicasBody } from "./api_types.ts";
import type { Command } from "./args.ts";
import { ApiError, CliFailure, ConnectionError, errorMessage } from "./errors.ts";
import { formatJson, rolloutProgress, rolloutReason, scaleSummary } from "./format.ts";
import type { CliIo, Clock } from "./output.ts";

type ScaleCommand = Extract<Command, { kind: "scale" }>;

/** Longest single `?wait=rollout` request: progress is reported at least this often. */
export const PROGRESS_SLICE_MS = 5_000;
/** Pause between polls when the API answers at once (e.g. complete, but not yet at our count). */
const MIN_POLL_INTERVAL_MS = 500;
/** Pause before asking again after a passing failure (a replica restarting, a rate limit). */
const RETRY_INTERVAL_MS = 1_000;

export async function scaleCommand(cmd: ScaleCommand, client: ApiClient, io: CliIo, clock: Clock): Promise<void> {
  const started = clock.now();
  const put = await client.scale(cmd.namespace, cmd.name, cmd.replicas, { ifMatch: cmd.ifMatch, dryRun: cmd.dryRun, force: cmd.force });
  const summary = scaleSummary(put.body, { dryRun: cmd.dryRun, status: put.status });
  if (!cmd.wait) {
    io.out(cmd.output === "json" ? formatJson(put.body) : summary);
    return;
  }
  // With -o json, stdout carries only the final document; progress goes to stderr.
  const progress = cmd.output === "json" ? io.err : io.out;
  progress(summary);
  const final = await waitForRollout(cmd, client, clock, progress, started + cmd.timeoutMs);
  if (cmd.output === "json") io.out(formatJson(final));
  else {io.out(
      `${cmd.namespace}/${cmd.name}: rollout complete, ${
        final.rollout?.availableReplicas ?? final.availableReplicas
      } of ${cmd.replicas} available`,
    );}
}

/**
 * Polls until the API reports the rollout complete at the requested count. A complete rollout at another count
 * means the cache has not seen our write yet (the PUT answered 202) or someone else scaled since: keep waiting,
 * and say so in the progress line, rather than declare success for a count nobody asked for.
 */
async function waitForRollout(
  cmd: ScaleCommand,
  client: ApiClient,
  clock: Clock,
  progress: (line: string) => void,
  deadline: number,
): Promise<ReplicasBody> {
  let lastLine = "";
  let last: ReplicasBody | undefined;
  for (;;) {
    const remaining = deadline - clock.now();
    if (remaining <= 0) throw timedOut(cmd, last);
    const asked = clock.now();
    let answer;
    try {
      answer = await client.replicas(cmd.namespace, cmd.name, Math.min(remaining, PROGRESS_SLICE_MS));
    } catch (error) {
      // The scale has happened; a replica of the service restarting or a rate limit must not end the wait early.
      if (!passing(error)) throw error;
      const line = `${cmd.namespace}/${cmd.name}: ${errorMessage(error)}; asking again`;
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
    const line = rolloutProgress(answer.body, rollout, cmd.replicas);
    if (line !== lastLine) progress(line);
    lastLine = line;
    if (answer.status === 200 && rollout.complete && answer.body.replicas === cmd.replicas) return answer.body;
    const elapsed = clock.now() - asked;
    if (elapsed < MIN_POLL_INTERVAL_MS) await clock.sleep(Math.min(MIN_POLL_INTERVAL_MS - elapsed, Math.max(0, deadline - clock.now())));
  }
}

function passing(error: unknown): boolean {
  if (error instanceof ConnectionError) return error.retryable;
  return error instanceof ApiError && (error.status === 429 || error.status === 502 || error.status === 503 || error.status === 504);
}

function timedOut(cmd: ScaleCommand, last: ReplicasBody | undefined): CliFailure {
  let message = `timed out after ${cmd.timeoutMs / 1000} s waiting for the rollout of ${cmd.namespace}/${cmd.name}`;
  if (last?.rollout) {
    const r = last.rollout;
    message += `: ${r.updatedReplicas ?? 0} updated, ${r.readyReplicas ?? 0} ready, ${
      r.availableReplicas ?? 0
    } available of ${cmd.replicas}`;
    const why = rolloutReason(r);
    if (why) message += `; ${why}`;
  }
  return new CliFailure(message);
}
