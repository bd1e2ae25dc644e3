/**
 * How far each watch of the cache has got, as a resourceVersion, and
 * requests waiting for one to get far enough: the NotOlderThan reads, which
 * must never answer from a cache that has not yet seen a write the caller
 * made through another replica. Positions compare as integers (see
 * change_feed.ts); a position that is not one never satisfies a wait.
 */
import { isAtLeastVersion, isComparableVersion } from "./resource_version.ts";

interface Waiter {
  readonly scopes: readonly string[];
  readonly target: string;
  readonly done: (reached: boolean) => void;
}

export class VersionGate {
  #positions = new Map<string, string>();
  #waiters = new Set<Waiter>();

  /** The watch for `scope` (a namespace, or "*" for all) has seen `position`. */
  advance(scope: string, position: string): void {
    const current = this.#positions.get(scope);
    if (current !== undefined && isComparableVersion(current) && isComparableVersion(position) && !isAtLeastVersion(position, current)) {
      return; // never backwards: a late event from a slower stream must not undo progress
    }
    this.#positions.set(scope, position);
    for (const waiter of [...this.#waiters]) if (this.reached(waiter.scopes, waiter.target)) waiter.done(true);
  }

  position(scope: string): string | undefined {
    return this.#positions.get(scope);
  }

  /** Every scope has reached `target`. */
  reached(scopes: readonly string[], target: string): boolean {
    if (!isComparableVersion(target)) return false;
    for (const scope of scopes) {
      const position = this.#positions.get(scope);
      if (position === undefined || !isComparableVersion(position) || !isAtLeastVersion(position, target)) return false;
    }
    return true;
  }

  /** Resolves true once every scope has reached `target`, false after `timeoutMs` or when `signal` aborts. */
  wait(scopes: readonly string[], target: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.reached(scopes, target)) return Promise.resolve(true);
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => waiter.done(false);
      const waiter: Waiter = {
        scopes,
        target,
        done: (reached) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          this.#waiters.delete(waiter);
          resolve(reached);
        },
      };
      const timer = setTimeout(() => waiter.done(false), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** Waiters right now (for tests and metrics: every wait must end). */
  get waiting(): number {
    return this.#waiters.size;
  }
}
