/**
 * One list+watch of one resource path, built on client-node's ListWatch and
 * hardened against its known weaknesses (see shared/notes/client-node-informer.md):
 *
 * - ListWatch stops for good on any error but 410: we restart it ourselves with
 *   capped, jittered backoff, and count restarts.
 * - It never asks for bookmarks or a server-side timeout: our watch decorator
 *   adds allowWatchBookmarks and timeoutSeconds, so a quiet cluster still shows
 *   signs of life and a silently dead stream is noticed.
 * - It has no "synced" or "connected" signal: we track both, and the time of
 *   the last contact, from what passes through the list and watch we inject.
 * - Exceptions in event handlers would escape into the watch's line parser:
 *   every handler call is guarded and logged.
 * - Errors thrown before a watch starts (no context, auth plugin failure) reject
 *   start() or surface on reconnect with nobody awaiting: both are caught here.
 * - Its store keeps whole objects: we hand it trimmed objects, so the memory
 *   cost per Deployment is a few fields.
 */
// Their own modules, not the package root, which would load client-node's whole generated API (see kubeconfig.ts).
import { ListWatch } from "@kubernetes/client-node/dist/cache.js";
import { ADD, DELETE, ERROR, UPDATE } from "@kubernetes/client-node/dist/informer.js";
import type { Watch } from "@kubernetes/client-node/dist/watch.js";
import type { Backoff } from "./backoff.ts";
import type { Clock, TimerId } from "./clock.ts";
import type { Logger } from "../../observability/mod.ts";
import { listAllPages, type ListResult, type PagedList } from "../api/mod.ts";
import type { WatchLike } from "../api/mod.ts";

// deno-lint-ignore no-explicit-any
type KubeObject = any;

export interface ReflectorEvents {
  /** Counts events by watch event type (ADDED, MODIFIED, DELETED, BOOKMARK, ERROR). */
  event?(type: string): void;
  relist?(): void;
  gone?(): void;
  restart?(): void;
  /** A watch request was answered: "200", or the HTTP status / "error" when it failed. */
  watchRequest?(status: string, seconds: number): void;
}

export interface ReflectorOptions {
  /** For logs, e.g. "deployments" or "namespaces". */
  name: string;
  path: string;
  /** Called once per page (see list_pager.ts); a source may ignore the page and answer everything at once. */
  list: PagedList;
  /** Objects per list page; default 500, as client-go's reflector. */
  listPageSize?: number;
  watch: WatchLike;
  onUpsert: (obj: KubeObject) => void;
  onRemove: (obj: KubeObject) => void;
  /** Reduces an object to what onUpsert/onRemove need before ListWatch stores it. */
  trim: (obj: KubeObject) => KubeObject;
  watchTimeoutSeconds: number;
  /**
   * A connected watch with no sign of life for this long is abandoned and restarted. A healthy watch hears
   * from the API server at least every watchTimeoutSeconds (the server closes it and we reconnect), so this
   * only fires when a stream hangs without closing: a network partition where no FIN ever arrives, or, with
   * client-node's Watch (the fallback, see client.ts), a SIGKILLed kube-apiserver, after which undici's
   * response body in Deno neither ends nor errors and abort() does not release it.
   */
  stallAfterMs: number;
  backoff: Backoff;
  clock: Clock;
  log: Logger;
  events?: ReflectorEvents;
  /**
   * How far the cache has got, as a resourceVersion: "listed" when a list returned (the differences it
   * found are applied right after, before the watch starts), "watching" when a watch starts from it,
   * "event" after an event (bookmarks included) has been applied.
   */
  onResourceVersion?: (resourceVersion: string, phase: "listed" | "watching" | "event") => void;
}

export interface ReflectorStatus {
  readonly synced: boolean;
  readonly connected: boolean;
  readonly lastContactAt: number | undefined;
  readonly error: string | undefined;
  readonly restarts: number;
}

export class Reflector {
  #o: ReflectorOptions;
  #lw: ListWatch<KubeObject>;
  #synced = false;
  #connected = false;
  #lastContactAt: number | undefined;
  #error: string | undefined;
  #restarts = 0;
  #restartTimer: TimerId | undefined;
  #watchdog: TimerId | undefined;
  #stopped = false;
  /** Bumped when a watch is abandoned: whatever an older watch reports afterwards is about a stream nobody reads. */
  #generation = 0;
  #log: Logger;

  constructor(options: ReflectorOptions) {
    this.#o = options;
    this.#log = options.log.child({ informer: options.name });
    // autoStart=false: start() is awaited inside try, so early errors cannot become unhandled rejections.
    // Its reconnect delays run on our clock, so tests need not wait real seconds.
    const delayFn = (ms: number) => new Promise<void>((resolve) => options.clock.setTimeout(resolve, ms));
    this.#lw = new ListWatch(options.path, this.#decoratedWatch() as unknown as Watch, () => this.#list(), false, undefined, undefined, {
      delayFn,
    });
    this.#lw.on(ADD, (obj) => this.#guard("add", () => options.onUpsert(obj)));
    this.#lw.on(UPDATE, (obj) => this.#guard("update", () => options.onUpsert(obj)));
    this.#lw.on(DELETE, (obj) => this.#guard("delete", () => options.onRemove(obj)));
    this.#lw.on(ERROR, (err) => this.#failed(err));
  }

  status(): ReflectorStatus {
    return {
      synced: this.#synced,
      connected: this.#connected,
      lastContactAt: this.#lastContactAt,
      error: this.#error,
      restarts: this.#restarts,
    };
  }

  /** Starts listing and watching. Resolves after the first attempt, successful or not; failures restart in the background. */
  async start(): Promise<void> {
    this.#stopped = false;
    this.#armWatchdog();
    try {
      await this.#lw.start();
    } catch (error) {
      this.#failed(error);
    }
  }

  /**
   * Gives up on the current watch, if one is connected, and restarts list+watch after the usual backoff: for
   * when the API server is known to be unreachable (api_heartbeat.ts) or the watch has been silent too long.
   */
  abandon(reason: string): void {
    if (this.#stopped || !this.#connected) return;
    this.#generation++;
    // Stop aborts what can be aborted; the restart opens a fresh watch from the last resourceVersion.
    this.#lw.stop().catch(() => {});
    this.#failed(new Error(reason));
  }

  /** Restarts at once if a restart is waiting out its backoff (the API server answers again). */
  retryNow(): void {
    if (this.#stopped || this.#restartTimer === undefined) return;
    this.#o.clock.clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    this.#o.backoff.reset();
    this.start();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#restartTimer !== undefined) this.#o.clock.clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    if (this.#watchdog !== undefined) this.#o.clock.clearTimeout(this.#watchdog);
    this.#watchdog = undefined;
    await this.#lw.stop();
    this.#connected = false;
  }

  async #list(): Promise<ListResult> {
    const started = this.#o.clock.now();
    // Pages are trimmed as they arrive; ListWatch gets the whole list at once, so it syncs and diffs as before.
    const result = await listAllPages(this.#o.list, this.#o.trim, { pageSize: this.#o.listPageSize, log: this.#log });
    this.#contact();
    this.#o.events?.relist?.();
    const resourceVersion = result.resourceVersion;
    if (resourceVersion) {
      this.#guard("listed", () => this.#o.onResourceVersion?.(resourceVersion, "listed"));
    }
    this.#log.info("listed", {
      items: result.items.length,
      pages: result.pages,
      resourceVersion,
      durationMs: this.#o.clock.now() - started,
    });
    return { metadata: { resourceVersion }, items: result.items };
  }

  #decoratedWatch(): WatchLike {
    return {
      watch: async (path, queryParams, callback, done) => {
        // ListWatch checks `stopped` before its reconnect delay, not after: a watch can be requested after stop().
        if (this.#stopped) return { abort() {} };
        // ListWatch only watches after a successful list, so from here on the store holds a full snapshot.
        this.#synced = true;
        const generation = this.#generation;
        let failed = false;
        let failedStatus: string | undefined;
        // Set once ListWatch aborts this watch (on stop, or after the watchdog abandoned it). What the watch reports
        // after that is about a stream nobody reads: passed on, it would make ListWatch abort its next watch and
        // report a failure we caused ourselves. (Deno's fetch watch does report its abort; undici's never did.)
        let abandonedByAbort = false;
        const abandoned = () => abandonedByAbort || generation !== this.#generation;
        const onEvent = (phase: string, obj: KubeObject, raw?: unknown) => {
          if (abandoned()) return;
          this.#contact();
          this.#o.events?.event?.(phase);
          if (phase === "ERROR") {
            if (obj?.code === 410) {
              this.#o.events?.gone?.();
              this.#log.info("watch expired (410 Gone); relisting when the stream closes", { message: obj?.message });
            } else {
              this.#log.warn("watch error event", { code: obj?.code, message: obj?.message });
            }
          }
          this.#guard("event", () => {
            const passed = phase === "ADDED" || phase === "MODIFIED" || phase === "DELETED" ? this.#o.trim(obj) : obj;
            return callback(phase, passed, raw);
          });
          if (phase !== "ERROR") {
            this.#guard("progress", () => {
              const version = obj?.metadata?.resourceVersion;
              if (typeof version === "string" && version) this.#o.onResourceVersion?.(version, "event");
            });
          }
        };
        const onDone = (err: unknown) => {
          if (abandoned()) return;
          if (err) {
            const code = (err as { statusCode?: number }).statusCode;
            if (code === 410) {
              this.#o.events?.gone?.();
              this.#log.info("watch expired (410 Gone); relisting");
            } else if ((err as Error).name !== "TimeoutError") {
              failed = true;
              failedStatus = code ? String(code) : undefined;
            } else {
              this.#log.info("watch idle for too long; reconnecting");
            }
          }
          // doneHandler is async and may throw before it reaches its own try (e.g. auth errors on reconnect).
          Promise.resolve()
            .then(() => done(err))
            .catch((error) => this.#failed(error));
        };
        const params = { ...queryParams, allowWatchBookmarks: true, timeoutSeconds: this.#o.watchTimeoutSeconds };
        const from = queryParams.resourceVersion;
        if (typeof from === "string" && from) this.#guard("progress", () => this.#o.onResourceVersion?.(from, "watching"));
        const requested = this.#o.clock.now();
        let handle: { abort(): void };
        try {
          handle = await this.#o.watch.watch(path, params, onEvent, onDone);
        } catch (error) {
          this.#o.events?.watchRequest?.("error", (this.#o.clock.now() - requested) / 1000);
          throw error;
        }
        this.#o.events?.watchRequest?.(failed ? (failedStatus ?? "error") : "200", (this.#o.clock.now() - requested) / 1000);
        if (generation !== this.#generation || this.#stopped) {
          // Abandoned (it hung in a partition) or stopped while the request was pending: nobody will read this one,
          // and ListWatch, already stopped, would never abort it; left open, its connection would outlive stop().
          abandonedByAbort = true;
          handle.abort();
          return { abort() {} };
        }
        if (!failed && !this.#stopped) {
          // The API server accepted the watch: we are current as of the list or the last event.
          const wasConnected = this.#connected;
          this.#connected = true;
          this.#error = undefined;
          this.#contact();
          this.#o.backoff.reset();
          if (!wasConnected) this.#log.info("watching", { resourceVersion: queryParams.resourceVersion });
        }
        return {
          abort: () => {
            abandonedByAbort = true;
            handle.abort();
          },
        };
      },
    };
  }

  #contact(): void {
    this.#lastContactAt = this.#o.clock.now();
  }

  /** Checks periodically that a connected watch is still heard from; see stallAfterMs. */
  #armWatchdog(): void {
    if (this.#watchdog !== undefined) return;
    const period = Math.max(1000, Math.floor(this.#o.stallAfterMs / 4));
    const tick = () => {
      this.#watchdog = undefined;
      if (this.#stopped) return;
      const silentMs = this.#lastContactAt === undefined ? 0 : this.#o.clock.now() - this.#lastContactAt;
      if (this.#connected && silentMs > this.#o.stallAfterMs) {
        this.#log.warn("watch silent for too long; abandoning it and restarting", { silentMs });
        this.abandon(`watch stalled: no data for ${Math.round(silentMs / 1000)} s`);
      }
      this.#watchdog = this.#o.clock.setTimeout(tick, period);
    };
    this.#watchdog = this.#o.clock.setTimeout(tick, period);
  }

  /** Runs a handler; a throw or a rejected promise is logged, never propagated into the watch stream. */
  #guard(what: string, fn: () => unknown): void {
    const report = (error: unknown) => this.#log.error("informer event handler failed; event skipped", { what, error });
    try {
      const result = fn();
      if (result instanceof Promise) result.catch(report);
    } catch (error) {
      report(error);
    }
  }

  /** ListWatch has stopped after an error: note it and schedule our own restart. */
  #failed(error: unknown): void {
    if (this.#stopped) return;
    this.#connected = false;
    this.#error = describe(error);
    if (this.#restartTimer !== undefined) return;
    const delay = this.#o.backoff.next();
    this.#restarts++;
    this.#o.events?.restart?.();
    this.#log.warn("list/watch failed; restarting", { error: this.#error, retryInMs: delay, restarts: this.#restarts });
    this.#restartTimer = this.#o.clock.setTimeout(() => {
      this.#restartTimer = undefined;
      if (this.#stopped) return;
      this.start();
    }, delay);
  }
}

/** A short, log-friendly cause without stack or response bodies (which may be large). */
export function describe(error: unknown): string {
  if (error && typeof error === "object") {
    const e = error as {
      statusCode?: number;
      status?: number;
      code?: number | string;
      message?: string;
      cause?: { code?: string; message?: string };
    };
    // statusCode: watch errors; status: KubeApiError from a list; code: a Status object.
    const status = e.statusCode ?? (typeof e.status === "number" ? e.status : undefined) ??
      (typeof e.code === "number" ? e.code : undefined);
    const cause = e.cause?.code ?? e.cause?.message;
    const message = (e.message ?? String(error)).split("\n")[0];
    return [status ? `HTTP ${status}` : undefined, message, cause ? `(${cause})` : undefined].filter(Boolean).join(" ");
  }
  return String(error);
}
