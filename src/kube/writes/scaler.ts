/**
 * Sets a Deployment's replica count through the scale subresource with
 * optimistic concurrency: every patch carries the resourceVersion it was based
 * on, so `previousReplicas` is exactly the value we replaced and a concurrent
 * change is never overwritten blindly.
 */
import { type ConditionalWriteOptions, createConditionalWrite } from "./conditional_write.ts";

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

export interface ScalerOptions extends ConditionalWriteOptions {
  api: ScaleApi;
}

export function createScaler(options: ScalerOptions): Scaler {
  const { api } = options;
  const conditionalWrite = createConditionalWrite(options);
  return {
    async scale(req) {
      const { base, written, observed } = await conditionalWrite(req, req, {
        fromCache: (record): ScaleState => ({ replicas: record.replicas, resourceVersion: record.resourceVersion }),
        read: () => api.readScale(req.namespace, req.name),
        // Always sent, even for the count in force: a scale has always answered with the API server's verdict.
        write: (base) => api.patchScale(req.namespace, req.name, req.replicas, base.resourceVersion, { dryRun: req.dryRun }),
      });
      const patched = written!; // the write step never answers "nothing to do"
      return {
        previousReplicas: base.replicas,
        replicas: patched.replicas,
        resourceVersion: patched.resourceVersion,
        observed,
        uid: patched.uid,
      };
    },
  };
}
