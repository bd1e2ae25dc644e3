/**
 * Sets a Deployment's replica count through the scale subresource with
 * optimistic concurrency: every patch carries the resourceVersion it was based
 * on, so `previousReplicas` is exactly the value we replaced and a concurrent
 * change is never overwritten blindly.
 */
import type { DeploymentCache } from "../cache/mod.ts";
import { KubeApiError } from "../api/mod.ts";
import { PreconditionFailedError } from "../kube_error.ts";
import { type Backoff, createBackoff } from "../informer/mod.ts";

export interface ScaleState {
  readonly replicas: number;
  readonly resourceVersion: string;
  /** The Deployment's uid (the scale subresource carries it), so an Event can point at exactly this object. */
  readonly uid?: string;
}

/** The two scale-subresource calls we make; client-node backs it in production, a fake in tests. */
export interface ScaleApi {
  readScale(namespace: string, name: string): Promise<ScaleState>;
  /**
   * Merge PATCH of spec.replicas, with metadata.resourceVersion as a precondition. With `dryRun` the API server
   * runs admission and validation (dryRun=All) and persists nothing.
   */
  patchScale(
    namespace: string,
    name: string,
    replicas: number,
    resourceVersion: string,
    options?: { dryRun?: boolean },
  ): Promise<ScaleState>;
}

export interface ScaleRequest {
  readonly namespace: string;
  readonly name: string;
  readonly replicas: number;
  /**
   * The resourceVersions the write is conditional on (from If-Match), or "*" for any; undefined when unconditional.
   * A mismatch is a PreconditionFailedError, never retried: the caller decides what to do about the change.
   */
  readonly ifMatch?: readonly string[] | "*";
  /** Validate the change with the API server (dryRun=All) without making it. */
  readonly dryRun?: boolean;
}

export interface ScaleResult {
  readonly previousReplicas: number;
  readonly replicas: number;
  readonly resourceVersion: string;
  /** Whether this instance's cache has observed the write (read-your-writes); always false for a dry run. */
  readonly observed: boolean;
  readonly uid?: string;
}

export interface Scaler {
  scale(request: ScaleRequest): Promise<ScaleResult>;
}

export interface ScalerOptions {
  api: ScaleApi;
  cache: DeploymentCache;
  writeSyncTimeoutMs: number;
  /** Retries after a conflict when the caller gave no If-Match (default 5). */
  maxConflictRetries?: number;
  /** Delays between conflict retries; a new one per write (default: equal jitter from 20 ms, capped at 320 ms). */
  conflictBackoff?: () => Backoff;
  /** Waits `ms`; injectable so tests do not sleep. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Why retries wait: conflicts come in bursts. kube-controller-manager rewrites the Deployment's status right after
 * every spec change, and another replica-api replica may be writing too; three immediate retries all lost under
 * load. Five retries that wait a little longer each, with jitter so two writers do not collide again in lockstep,
 * add at most ~620 ms.
 */
const conflictBackoff = () => createBackoff({ baseMs: 20, capMs: 320 });
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createScaler(options: ScalerOptions): Scaler {
  const { api, cache } = options;
  const retries = options.maxConflictRetries ?? 5;
  const newBackoff = options.conflictBackoff ?? conflictBackoff;
  const wait = options.sleep ?? sleep;

  /** The state to base the patch on: the cache when it holds a usable version, else the API server. */
  async function baseState(req: ScaleRequest, preferCache: boolean): Promise<ScaleState> {
    const cached = cache.get(req.namespace, req.name);
    if (preferCache && cached && acceptable(req.ifMatch, cached.resourceVersion)) {
      return { replicas: cached.replicas, resourceVersion: cached.resourceVersion };
    }
    return await api.readScale(req.namespace, req.name);
  }

  return {
    async scale(req) {
      let base = await baseState(req, true);
      let backoff: Backoff | undefined;
      for (let attempt = 0;; attempt++) {
        if (!acceptable(req.ifMatch, base.resourceVersion)) {
          throw new PreconditionFailedError(
            `deployment "${req.namespace}/${req.name}" is at resourceVersion ${base.resourceVersion}, not an expected one`,
            base.resourceVersion,
          );
        }
        let patched: ScaleState;
        try {
          patched = await api.patchScale(req.namespace, req.name, req.replicas, base.resourceVersion, { dryRun: req.dryRun });
        } catch (error) {
          if (!(error instanceof KubeApiError) || error.kind !== "Conflict") throw error;
          // Someone changed the Deployment since `base`. With If-Match that is the caller's precondition failing.
          if (req.ifMatch !== undefined && req.ifMatch !== "*") {
            throw new PreconditionFailedError(`deployment "${req.namespace}/${req.name}" changed during the write`, undefined, {
              cause: error,
            });
          }
          if (attempt >= retries) throw error;
          await wait((backoff ??= newBackoff()).next());
          base = await baseState(req, false);
          continue;
        }
        // A dry run changed nothing, so there is no write for the cache to see.
        const seen = req.dryRun
          ? undefined
          : await cache.waitForVersion(req.namespace, req.name, patched.resourceVersion, options.writeSyncTimeoutMs);
        return {
          previousReplicas: base.replicas,
          replicas: patched.replicas,
          resourceVersion: patched.resourceVersion,
          observed: seen !== undefined,
          uid: patched.uid,
        };
      }
    },
  };
}

function acceptable(ifMatch: ScaleRequest["ifMatch"], resourceVersion: string): boolean {
  return ifMatch === undefined || ifMatch === "*" || ifMatch.includes(resourceVersion);
}
