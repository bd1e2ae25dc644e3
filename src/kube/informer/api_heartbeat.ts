/**
 * Notices within seconds that the API server has stopped answering, however
 * the connection failed.
 *
 * Why: a watch only learns that its connection is gone from the connection
 * itself. A kube-apiserver that exits closes it (FIN or RST) and the watch
 * fails at once, but a silent network partition (packets dropped, no FIN, no
 * RST: a cut link, a firewall change, a node that vanished) leaves it waiting
 * for data that never comes; until this heartbeat only the reflector's stall
 * watchdog noticed, after about 95 s, and reads said "fresh" all along.
 *
 * How: a cheap request (GET /version, readable by every authenticated user
 * through the default system:public-info-viewer role) every `intervalMs` on
 * a fresh connection, with a `timeoutMs` deadline. Any HTTP answer counts,
 * whatever its status: it proves the path to the API server works. So does
 * every list and watch event (`otherContactAt`), so a busy API server that
 * answers the probe slowly is not mistaken for an unreachable one. When
 * nothing has been heard for `unreachableAfterMs`, `onUnreachable` runs once
 * (the cache abandons its watches and restarts them) and
 * {@link ApiHeartbeat.silentFor} reports the silence, which the cache turns
 * into "stale" and readiness 503 on the next request, not the next tick.
 */
import type { Clock, TimerId } from "./clock.ts";
import type { Logger } from "../../observability/mod.ts";

/** What a heartbeat request got: the API server's HTTP status. It rejects when there was no answer. */
export type HeartbeatProbe = (signal: AbortSignal) => Promise<number>;

export interface ApiHeartbeatOptions {
  probe: HeartbeatProbe;
  /** Pause between the end of one probe and the start of the next. */
  intervalMs: number;
  /** A probe without an answer after this long is aborted and counts as failed. */
  timeoutMs: number;
  /** Nothing heard for this long means unreachable; must exceed intervalMs + timeoutMs (see loadConfig). */
  unreachableAfterMs: number;
  /** The latest other sign of life from the API server (list or watch event), epoch ms. */
  otherContactAt?: () => number | undefined;
  /** Called once each time the API server becomes unreachable; called again only after it answered in between. */
  onUnreachable: (reason: string) => void;
  /** Called when the API server answers again after onUnreachable. */
  onReachable?: () => void;
  /** Each probe's outcome: the HTTP status, "timeout" or "error"; and how long it took. */
  observe?: (status: string, seconds: number) => void;
  clock: Clock;
  log: Logger;
}

export class ApiHeartbeat {
  #o: ApiHeartbeatOptions;
  #log: Logger;
  #answeredAt: number;
  #lastFailure: string | undefined;
  #unreachable = false;
  #refusedLogged = false;
  #probeTimer: TimerId | undefined;
  #deadline: TimerId | undefined;
  #inFlight: AbortController | undefined;
  #running = false;

  constructor(options: ApiHeartbeatOptions) {
    this.#o = options;
    this.#log = options.log.child({ component: "api_heartbeat" });
    // Counted from creation: the first probe must be given its chance before anything is declared.
    this.#answeredAt = options.clock.now();
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#answeredAt = Math.max(this.#answeredAt, this.#o.clock.now());
    this.#armDeadline(this.#o.unreachableAfterMs);
    this.#tick();
  }

  stop(): void {
    this.#running = false;
    if (this.#probeTimer !== undefined) this.#o.clock.clearTimeout(this.#probeTimer);
    if (this.#deadline !== undefined) this.#o.clock.clearTimeout(this.#deadline);
    this.#probeTimer = this.#deadline = undefined;
    this.#inFlight?.abort();
  }

  /** The last time anything was heard from the API server (probe answer, list or watch event), epoch ms. */
  answeredAt(otherContactAt = this.#o.otherContactAt?.()): number {
    return otherContactAt !== undefined && otherContactAt > this.#answeredAt ? otherContactAt : this.#answeredAt;
  }

  /**
   * How long the API server has been silent, when that is longer than unreachableAfterMs; undefined while it
   * answers. Computed from the clock, so it turns at the bound exactly, whatever the probe schedule. A caller
   * that already knows the latest list/watch contact passes it (this runs on every read).
   */
  silentFor(now: number, otherContactAt?: number): number | undefined {
    if (!this.#running) return undefined;
    const silent = now - this.answeredAt(otherContactAt ?? this.#o.otherContactAt?.());
    return silent > this.#o.unreachableAfterMs ? silent : undefined;
  }

  /** Why the last probe failed, for the readiness reason. */
  get lastFailure(): string | undefined {
    return this.#lastFailure;
  }

  #tick(): void {
    this.#probeTimer = undefined;
    if (!this.#running) return;
    const controller = new AbortController();
    this.#inFlight = controller;
    const started = this.#o.clock.now();
    let timedOut = false;
    const timer = this.#o.clock.setTimeout(() => {
      timedOut = true;
      controller.abort(new Error(`no answer within ${this.#o.timeoutMs} ms`));
    }, this.#o.timeoutMs);
    let outcome: Promise<number>;
    try {
      outcome = this.#o.probe(controller.signal);
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then(
      (status) => this.#answered(status, started),
      (error) => this.#failed(timedOut ? `no answer within ${this.#o.timeoutMs} ms` : describe(error), timedOut, started),
    ).finally(() => {
      this.#o.clock.clearTimeout(timer);
      if (this.#inFlight === controller) this.#inFlight = undefined;
      if (this.#running) this.#probeTimer = this.#o.clock.setTimeout(() => this.#tick(), this.#o.intervalMs);
    });
  }

  #answered(status: number, started: number): void {
    if (!this.#running) return;
    const now = this.#o.clock.now();
    this.#o.observe?.(String(status), (now - started) / 1000);
    this.#answeredAt = now;
    this.#lastFailure = undefined;
    if ((status === 401 || status === 403) && !this.#refusedLogged) {
      // Still an answer, so still a heartbeat; but worth knowing (RBAC without system:public-info-viewer).
      this.#refusedLogged = true;
      this.#log.warn("the API server refuses the heartbeat request; its answers still count as signs of life", { status });
    }
    if (this.#unreachable) {
      this.#unreachable = false;
      this.#log.info("the Kubernetes API answers again");
      this.#o.onReachable?.();
    }
  }

  #failed(reason: string, timedOut: boolean, started: number): void {
    if (!this.#running) return;
    this.#o.observe?.(timedOut ? "timeout" : "error", (this.#o.clock.now() - started) / 1000);
    this.#lastFailure = reason;
    this.#log.debug("heartbeat failed", { reason });
  }

  /** Fires when nothing may have been heard for unreachableAfterMs; re-arms itself for the remainder otherwise. */
  #armDeadline(ms: number): void {
    this.#deadline = this.#o.clock.setTimeout(() => {
      this.#deadline = undefined;
      if (!this.#running) return;
      const silent = this.#o.clock.now() - this.answeredAt();
      const remaining = this.#o.unreachableAfterMs - silent;
      if (remaining >= 0) return this.#armDeadline(Math.max(remaining + 1, 100));
      if (!this.#unreachable) {
        this.#unreachable = true;
        const reason = `no answer from the Kubernetes API for ${(silent / 1000).toFixed(1)} s` +
          (this.#lastFailure ? ` (${this.#lastFailure})` : "");
        this.#log.warn("the Kubernetes API is unreachable; abandoning the watches", { silentMs: silent, lastFailure: this.#lastFailure });
        this.#o.onUnreachable(reason);
      }
      // Checked again one bound later; onUnreachable runs again only after an answer in between.
      this.#armDeadline(this.#o.unreachableAfterMs);
    }, ms);
  }
}

function describe(error: unknown): string {
  const e = error as { message?: string; cause?: { code?: string; message?: string } };
  const cause = e?.cause?.code ?? e?.cause?.message;
  return [String(e?.message ?? error).split("\n")[0], cause ? `(${cause})` : undefined].filter(Boolean).join(" ");
}
