/**
 * The rollout operations (`restart`, `pause`, `resume`, `undo`, `set-image`): one write, its outcome in one line,
 * then, with --wait, the rollout of that write followed (rollout_follow.ts) until it completes or --timeout runs out.
 * The wait reads no state older than the write: the write's ETag is its resourceVersion, and the follower asks for
 * nothing older, so a rollout complete before the write cannot end it.
 */
import type { ApiAnswer, ApiClient } from "./api_client.ts";
import type { AnyOperationBody } from "./api_types.ts";
import type { OperationCommand } from "./args.ts";
import { formatJson, operationSummary, rolloutComplete } from "./format.ts";
import type { CliIo, Clock } from "./output.ts";
import { followRollout } from "./rollout_follow.ts";

export async function operationCommand(cmd: OperationCommand, client: ApiClient, io: CliIo, clock: Clock): Promise<void> {
  const started = clock.now();
  const answer = await write(cmd, client);
  const summary = operationSummary(cmd.kind, answer.body, { dryRun: cmd.dryRun, status: answer.status });
  if (!cmd.wait) {
    io.out(cmd.output === "json" ? formatJson(answer.body) : summary);
    return;
  }
  // With -o json, stdout carries only the final document; progress goes to stderr.
  const progress = cmd.output === "json" ? io.err : io.out;
  progress(summary);
  const followed = { namespace: cmd.namespace, name: cmd.name, timeoutMs: cmd.timeoutMs, notOlderThan: answer.etag };
  const final = await followRollout(followed, client, clock, progress, started + cmd.timeoutMs);
  // The document the write would have answered with ?wait=rollout: its own fields and the rollout's.
  io.out(cmd.output === "json" ? formatJson({ ...answer.body, rollout: final.rollout }) : rolloutComplete(final));
}

function write(cmd: OperationCommand, client: ApiClient): Promise<ApiAnswer<AnyOperationBody>> {
  const options = { ifMatch: cmd.ifMatch, dryRun: cmd.dryRun };
  switch (cmd.kind) {
    case "restart":
      return client.restart(cmd.namespace, cmd.name, options);
    case "pause":
    case "resume":
      return client.setPaused(cmd.namespace, cmd.name, cmd.kind === "pause", options);
    case "set-image":
      return client.setImage(cmd.namespace, cmd.name, cmd.container, cmd.image, options);
    case "undo":
      return client.undo(cmd.namespace, cmd.name, cmd.toRevision, options);
  }
}
