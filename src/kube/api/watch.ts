/**
 * The one seam through which the informer watches: client-node's ListWatch calls it, the reflector decorates it,
 * deno_watch.ts implements it on Deno's fetch, and tests fake it.
 */

// deno-lint-ignore no-explicit-any
type KubeObject = any;

/**
 * The shape of client-node's Watch, which ListWatch calls. It resolves once the request is answered, with a handle that aborts it.
 */
export interface WatchLike {
  watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    callback: (phase: string, apiObj: KubeObject, watchObj?: unknown) => void,
    done: (err: unknown) => void,
  ): Promise<{ abort(): void }>;
}
