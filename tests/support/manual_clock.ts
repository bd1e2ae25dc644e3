/** A clock that only moves when the test says so; timers run in due order on advance(). */
import type { Clock, TimerId } from "../../src/kube/informer/clock.ts";

export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 1_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerId {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + ms, fn });
    return id as unknown as TimerId;
  }

  clearTimeout(id: TimerId): void {
    this.#timers.delete(id as unknown as number);
  }

  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward, running every timer that falls due, and lets their promises settle. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      const due = [...this.#timers.entries()].filter(([, t]) => t.at <= target).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      this.#timers.delete(due[0]);
      this.#now = Math.max(this.#now, due[1].at);
      due[1].fn();
      await settle();
    }
    this.#now = target;
    await settle();
  }
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise((r) => setTimeout(r, 0));
}
