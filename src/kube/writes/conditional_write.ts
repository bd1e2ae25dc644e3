/**
 * The guard rails every write shares (the scaler's and the rollout operations'), in one place:
 *
 * - optimistic concurrency: a write carries the resourceVersion it was based on, so it never overwrites a change
 *   it did not see;
 * - If-Match: a base at another version, or a conflict during the write, is a PreconditionFailedError, never
 *   retried: the caller decides what to do about the change;
 * - without If-Match, a conflict is retried on a fresh base after a jittered backoff;
 * - the base comes from this instance's cache when its version is acceptable, else from the API server; a
 *   decision to write nothing or to refuse is only ever taken on the API server's state, never on a cache that may
 *   lag (the cache is re-checked against it first);
 * - read-your-writes: the answer says whether this instance's cache has seen the write.
 */
import type { DeploymentCache, DeploymentRecord } from "../cache/mod.ts";
import { KubeApiError } from "../api/mod.ts";
import { PreconditionFailedError, StateRefusedError, UnknownPartError } from "../kube_error.ts";
import { type Backoff, createBackoff } from "../informer/mod.ts";
import type { DeploymentTarget, WriteConditions } from "./operations.ts";

export interface Versioned {
  readonly resourceVersion: string;
}

export interface ConditionalWriteOptions {
  cache: DeploymentCache;
  writeSyncTimeoutMs: number;
  /** Retries after a conflict when the caller gave no If-Match (default 5). */
  maxConflictRetries?: number;
  /** Delays between conflict retries; a new one per write (default: equal jitter from 20 ms, capped at 320 ms). */
  conflictBackoff?: () => Backoff;
  /** Waits `ms`; injectable so tests do not sleep. */
  sleep?: (ms: number) => Promise<void>;
}

/** How one operation reads its base and writes on it; `conditionalWrite` runs the steps with the guard rails. */
export interface WriteSteps<B extends Versioned, W extends Versioned> {
  /** The base from this instance's cache record; absent when a record cannot serve (undo needs the whole template). */
  fromCache?(record: DeploymentRecord): B;
  /** The base from the API server. */
  read(): Promise<B>;
  /**
   * Sends the write, conditional on `base.resourceVersion`, and answers the API server's result; undefined when
   * `base` already is as asked (nothing sent). A refusal (StateRefusedError, UnknownPartError) throws.
   */
  write(base: B): Promise<W | undefined>;
}

export interface WriteOutcome<B, W> {
  /** The state the write was based on (the final one, after retries). */
  readonly base: B;
  /** The API server's answer; undefined when nothing needed to change. */
  readonly written: W | undefined;
  /** Whether this instance's cache has seen the write (or, when nothing changed, the base); false on a dry run. */
  readonly observed: boolean;
}

/**
 * Why retries wait: conflicts come in bursts. kube-controller-manager rewrites the Deployment's status right after
 * every spec change, and another replica-api replica may be writing too; three immediate retries all lost under
 * load. Five retries that wait a little longer each, with jitter so two writers do not collide again in lockstep,
 * add at most ~620 ms.
 */
const defaultBackoff = () => createBackoff({ baseMs: 20, capMs: 320 });
const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export type ConditionalWrite = <B extends Versioned, W extends Versioned>(
  target: DeploymentTarget,
  conditions: WriteConditions,
  steps: WriteSteps<B, W>,
) => Promise<WriteOutcome<B, W>>;

export function createConditionalWrite(options: ConditionalWriteOptions): ConditionalWrite {
  const { cache } = options;
  const retries = options.maxConflictRetries ?? 5;
  const newBackoff = options.conflictBackoff ?? defaultBackoff;
  const wait = options.sleep ?? realSleep;

  return async function conditionalWrite<B extends Versioned, W extends Versioned>(
    target: DeploymentTarget,
    conditions: WriteConditions,
    steps: WriteSteps<B, W>,
  ): Promise<WriteOutcome<B, W>> {
    const { namespace, name } = target;
    const { ifMatch, dryRun } = conditions;
    /** The base: the cache's record when it holds a usable version (and `fresh` is not asked for), else the API server's. */
    const baseState = async (fresh: boolean): Promise<{ state: B; cached: boolean }> => {
      const record = fresh || !steps.fromCache ? undefined : cache.get(namespace, name);
      if (record && accepts(ifMatch, record.resourceVersion)) return { state: steps.fromCache!(record), cached: true };
      return { state: await steps.read(), cached: false };
    };

    let { state: base, cached } = await baseState(false);
    let backoff: Backoff | undefined;
    for (let conflicts = 0;;) {
      if (!accepts(ifMatch, base.resourceVersion)) {
        throw new PreconditionFailedError(
          `deployment "${namespace}/${name}" is at resourceVersion ${base.resourceVersion}, not an expected one`,
          base.resourceVersion,
        );
      }
      let written: W | undefined;
      try {
        written = await steps.write(base);
      } catch (error) {
        // A refusal taken on the cache's word may be out of date: the API server's state decides.
        if (cached && (error instanceof StateRefusedError || error instanceof UnknownPartError)) {
          ({ state: base, cached } = await baseState(true));
          continue;
        }
        if (!(error instanceof KubeApiError) || error.kind !== "Conflict") throw error;
        // Someone changed the Deployment since `base`. With If-Match that is the caller's precondition failing.
        if (ifMatch !== undefined && ifMatch !== "*") {
          throw new PreconditionFailedError(`deployment "${namespace}/${name}" changed during the write`, undefined, { cause: error });
        }
        if (conflicts++ >= retries) throw error;
        await wait((backoff ??= newBackoff()).next());
        ({ state: base, cached } = await baseState(true));
        continue;
      }
      if (written === undefined) {
        // "Already as asked" on the cache's word may be out of date too.
        if (cached) {
          ({ state: base, cached } = await baseState(true));
          continue;
        }
        // Nothing written; the answer is based on the API server's state, which the cache may not show yet.
        const seen = await cache.waitForVersion(namespace, name, base.resourceVersion, options.writeSyncTimeoutMs);
        return { base, written, observed: seen !== undefined };
      }
      // A dry run changed nothing, so there is no write for the cache to see.
      const seen = dryRun ? undefined : await cache.waitForVersion(namespace, name, written.resourceVersion, options.writeSyncTimeoutMs);
      return { base, written, observed: seen !== undefined };
    }
  };
}

/** Whether If-Match (a list of resourceVersions, "*" or none) admits a Deployment at `resourceVersion`. */
export function accepts(ifMatch: WriteConditions["ifMatch"], resourceVersion: string): boolean {
  return ifMatch === undefined || ifMatch === "*" || ifMatch.includes(resourceVersion);
}
