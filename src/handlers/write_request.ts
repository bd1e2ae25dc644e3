/**
 * What every write of the API shares, whatever it changes (replicas, the image, a restart…): the If-Match
 * precondition, the dryRun and wait switches, and the wait for the rollout of the write itself. One copy, so a
 * scale and a set image refuse the same mistakes with the same words.
 */
import { type ClientIdentity, HttpError, parseEntityTags, type RequestContext, validateBooleanQuery } from "../http/mod.ts";
import type { DeploymentCache } from "../kube/mod.ts";
import { parseWait, type RolloutBody, waitForRollout } from "./rollout_wait.ts";
import { admitLongRequest, stopSignal } from "./long_requests.ts";
import type { StreamingDeps } from "./streaming.ts";

/** The If-Match header as resourceVersions, "*", or undefined when absent; 400 when it is not a list of ETags. */
export async function ifMatchOf(request: Request): Promise<readonly string[] | "*" | undefined> {
  const header = request.headers.get("if-match");
  if (header === null) return undefined;
  const tags = parseEntityTags(header);
  if (tags === null) {
    await request.body?.cancel().catch(() => {});
    throw new HttpError(400, `If-Match must be "*" or a list of quoted ETags, e.g. If-Match: "12345"`);
  }
  return tags;
}

export interface WriteSwitches {
  readonly dryRun: boolean;
  /** The rollout wait asked for, if any. */
  readonly wait?: { readonly timeoutMs: number };
}

/**
 * ?dryRun and ?wait=rollout[&timeout]: each exactly once and well-formed (the query was validated against the
 * route's parameters before). A dry run changes nothing, so there is no rollout to wait for.
 */
export function writeSwitches(query: URLSearchParams): WriteSwitches {
  const dryRun = validateBooleanQuery(query, "dryRun");
  const wait = parseWait(query);
  if (wait && dryRun) {
    throw new HttpError(400, "dryRun=true changes nothing, so there is no rollout to wait for: drop wait=rollout or dryRun");
  }
  return { dryRun, wait };
}

export interface WrittenVersion {
  /** The Deployment's resourceVersion after the write. */
  readonly resourceVersion: string;
  /** Whether this instance's cache has seen it (read-your-writes). */
  readonly observed: boolean;
}

/**
 * Makes a write, then waits for the rollout of that write (a state older than the write does not count): 200 when
 * the cache has seen the write and the rollout is complete, 202 with the progress when the time runs out. The
 * wait's slot is taken before the write, so a refused wait never leaves behind a change the client thinks failed.
 */
export async function writeThenWait<R extends WrittenVersion>(
  deps: { cache: DeploymentCache; streaming: StreamingDeps },
  context: RequestContext,
  target: { namespace: string; name: string },
  timeoutMs: number,
  write: () => Promise<R>,
): Promise<{ result: R; rollout: RolloutBody; status: 200 | 202 }> {
  const { cache, streaming } = deps;
  const end = admitLongRequest(streaming, context.client, "wait");
  try {
    const result = await write();
    const outcome = await waitForRollout(cache, target.namespace, target.name, {
      timeoutMs: Math.max(0, Math.round(timeoutMs)),
      signal: stopSignal(streaming, context.closed),
      shuttingDown: () => streaming.shutdown.aborted,
      atLeast: result.resourceVersion,
    });
    end(outcome.end);
    return { result, rollout: outcome.rollout, status: result.observed && outcome.rollout.complete ? 200 : 202 };
  } finally {
    end("error"); // no-op when the outcome was recorded
  }
}

/** The caller as an Event note names it: "CN=alice (O=sre, O=oncall)". */
export function actorOf(client: ClientIdentity | undefined): string {
  if (!client) return "an unauthenticated client";
  const cn = `CN=${client.cn || "(none)"}`;
  return client.organizations.length ? `${cn} (${client.organizations.map((o) => `O=${o}`).join(", ")})` : cn;
}
