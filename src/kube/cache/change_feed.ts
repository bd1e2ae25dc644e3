/**
 * What changed in the cache, for the two kinds of listener that need more
 * than the current state: live watch streams (which also resume from a
 * bounded history) and requests waiting for a rollout or a resourceVersion.
 *
 * Positions are resourceVersions. They are opaque by the API conventions,
 * but every etcd-backed API server issues increasing integers (etcd
 * revisions), so, like client-go's reflector and the watch cache, the feed
 * compares them as integers. An event's position is the object's
 * resourceVersion for a watch event, and the list's resourceVersion for a
 * difference found by a relist (after the watch broke or expired): a relist
 * also clears the history, because what happened between the old and the
 * new list is unknown, so a client further behind than that must list again
 * (410 Gone), as with the API server itself.
 */
import type { DeploymentRecord } from "./deployment_record.ts";
import { isAtLeastVersion, isComparableVersion, isNewerVersion } from "./resource_version.ts";
import type { RolloutStatus } from "./rollout.ts";

export type ChangeType = "ADDED" | "MODIFIED" | "DELETED";

export interface ChangeEvent {
  readonly type: ChangeType;
  /** The Deployment after the change (for DELETED: its last state). */
  readonly record: DeploymentRecord;
  /** Its rollout progress after the change, when known. */
  readonly rollout?: RolloutStatus;
  /** The feed position (resourceVersion) of this event; see the module comment. */
  readonly position: string;
}

export type ChangeListener = (event: ChangeEvent) => void;

/** Read side of the feed, as handlers see it. */
export interface ChangeFeed {
  /** Called synchronously for every change from now on; returns the unsubscribe. A throwing listener is dropped, never propagated. */
  subscribe(listener: ChangeListener): () => void;
  /**
   * The events after `position`, oldest first, or undefined when the history
   * no longer reaches back that far (the caller answers 410 Gone). A position
   * ahead of the feed (from another replica whose cache is ahead) gives [].
   */
  since(position: string): readonly ChangeEvent[] | undefined;
  /** The position of the newest event, list or bookmark seen; undefined before the first list. */
  readonly head: string | undefined;
  /** Events kept for resuming, at most. */
  readonly capacity: number;
}

export const DEFAULT_HISTORY_SIZE = 1000;

/** The feed's write side, owned by a cache. */
export class ChangeLog implements ChangeFeed {
  readonly capacity: number;
  #history: ChangeEvent[] = [];
  /** Ring buffer start. */
  #start = 0;
  /** Events after this position are all in #history; undefined: nothing can be resumed yet. */
  #floor: string | undefined;
  #head: string | undefined;
  #listeners = new Set<ChangeListener>();
  #onListenerError: (error: unknown) => void;

  constructor(options: { capacity?: number; onListenerError?: (error: unknown) => void } = {}) {
    this.capacity = options.capacity ?? DEFAULT_HISTORY_SIZE;
    if (!(Number.isSafeInteger(this.capacity) && this.capacity >= 1)) throw new RangeError(`capacity must be ≥ 1, got ${this.capacity}`);
    this.#onListenerError = options.onListenerError ?? (() => {});
  }

  get head(): string | undefined {
    return this.#head;
  }

  subscribe(listener: ChangeListener): () => void {
    // Wrapped so the same function may subscribe twice and each unsubscribe removes its own entry.
    const entry: ChangeListener = (event) => listener(event);
    this.#listeners.add(entry);
    return () => void this.#listeners.delete(entry);
  }

  since(position: string): readonly ChangeEvent[] | undefined {
    if (this.#floor === undefined || !isInteger(position) || !isAtLeastVersion(position, this.#floor)) return undefined;
    const out: ChangeEvent[] = [];
    const n = this.#history.length;
    for (let i = 0; i < n; i++) {
      const event = this.#history[(this.#start + i) % n];
      if (isAfter(event.position, position)) out.push(event);
    }
    return out;
  }

  /** A relist (or the first list) at `position`: the history starts again from there. */
  relisted(position: string): void {
    this.#history = [];
    this.#start = 0;
    this.#floor = isInteger(position) ? position : undefined;
    this.#advance(position);
  }

  /** The cache has seen `position` (a watch started there, or a bookmark): nothing changed, but the feed is current up to it. */
  progressed(position: string): void {
    this.#advance(position);
  }

  publish(event: ChangeEvent): void {
    // Events at the floor (the differences a list found) are never replayed: resuming starts after the floor.
    if (isInteger(event.position) && this.#floor !== undefined && isAfter(event.position, this.#floor)) {
      if (this.#history.length < this.capacity) {
        this.#history.push(event);
      } else {
        // The oldest event falls out: a client that has not seen it can no longer resume.
        const oldest = this.#history[this.#start];
        this.#history[this.#start] = event;
        this.#start = (this.#start + 1) % this.capacity;
        if (isAfter(oldest.position, this.#floor)) this.#floor = oldest.position;
      }
    } else if (!isInteger(event.position)) {
      // Positions we cannot order make resuming meaningless; say so rather than replay out of order.
      this.#floor = undefined;
    }
    this.#advance(event.position);
    for (const listener of [...this.#listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.#listeners.delete(listener);
        this.#onListenerError(error);
      }
    }
  }

  #advance(position: string): void {
    if (this.#head === undefined || !isInteger(position) || !isInteger(this.#head) || isAfter(position, this.#head)) this.#head = position;
  }
}

const isInteger = isComparableVersion;
const isAfter = isNewerVersion;
