/**
 * `scale NS/NAME N`: one PUT of the replica count, then, with --wait, the
 * rollout followed (rollout_follow.ts) until it completes at that count or
 * --timeout runs out (exit 1 with the Deployment's own reason).
 */
import type { ApiClient } from "./api_client.ts";
import type { Command } from "./args.ts";
import { formatJson, rolloutComplete, scaleSummary } from "./format.ts";
import type { CliIo, Clock } from "./output.ts";
import { followRollout } from "./rollout_follow.ts";

type ScaleCommand = Extract<Command, { kind: "scale" }>;

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
  // A complete rollout at another count means the cache has not seen our write yet (the PUT answered 202) or someone
  // else scaled since: the follower keeps waiting, and says so, rather than declare success for a count nobody asked for.
  const final = await followRollout(cmd, client, clock, progress, started + cmd.timeoutMs);
  io.out(cmd.output === "json" ? formatJson(final) : rolloutComplete(final, cmd.replicas));
}
