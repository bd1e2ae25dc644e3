/**
 * Runs a check whenever files may have changed: watches the directories that hold them, debounces the burst of
 * events one change makes, and re-runs the check on a slow poll in case the watch misses an event or its
 * directory goes away. Checks run one at a time, in order.
 *
 * Directories, not files, are watched because Kubernetes updates a Secret or ConfigMap volume by swapping a
 * `..data` symlink: the file paths never change, so a watch on them would see nothing.
 */
import type { Logger } from "../observability/mod.ts";

/** What a reload check found: nothing new, new content put in force, or new content refused (the old stays). */
export type ReloadOutcome = "unchanged" | "reloaded" | "invalid";

/** How a reloader notices changes; each reloader states its own default poll. */
export interface FileWatchTiming {
  /** Quiet time after the last file event before checking (default 500 ms). */
  debounceMs?: number;
  /** Check this often regardless of events (0 = never). */
  pollIntervalMs?: number;
  /** Watch the directories (default true); false leaves only the poll. */
  watch?: boolean;
}

export interface FileWatchOptions<T> extends FileWatchTiming {
  /** The files whose directories are watched. */
  paths: readonly string[];
  /** Re-reads the files and acts on what changed; its result is what {@link FileWatch.check} resolves to. */
  check(): Promise<T>;
  /** For log lines, e.g. "TLS files" or "policy file". */
  what: string;
  log: Logger;
}

export interface FileWatch<T> {
  /** Runs the check now (after any check already running). */
  check(): Promise<T>;
  /** Stops watching and polling; resolves when no check is running. */
  close(): Promise<void>;
}

export function dirnameOf(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash === -1 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}

export function watchFiles<T>(options: FileWatchOptions<T>): FileWatch<T> {
  const { log, what } = options;
  const debounceMs = options.debounceMs ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 60_000;
  const dirs = [...new Set(options.paths.map(dirnameOf))];
  let closed = false;
  let queue: Promise<unknown> = Promise.resolve();
  let debounce: ReturnType<typeof setTimeout> | undefined;
  let watcher: Deno.FsWatcher | undefined;
  let watching: Promise<void> | undefined;

  const check = (): Promise<T> => {
    const run = queue.then(() => options.check());
    queue = run.catch(() => {});
    return run;
  };

  const schedule = () => {
    if (closed) return;
    clearTimeout(debounce);
    debounce = setTimeout(() => {
      debounce = undefined;
      if (!closed) void check().catch((error) => log.error(`checking the ${what} failed`, { error }));
    }, debounceMs);
  };

  const startWatching = () => {
    if (closed || options.watch === false || watching || dirs.length === 0) return;
    try {
      watcher = Deno.watchFs(dirs, { recursive: false });
    } catch (error) {
      log.warn(`cannot watch the ${what} directories; relying on the periodic re-read`, { dirs, error, pollIntervalMs });
      return;
    }
    const active = watcher;
    watching = (async () => {
      try {
        for await (const event of active) {
          // Our own reads show up as "access" events; reacting to them would re-read forever.
          if (event.kind !== "access") schedule();
        }
        if (!closed) log.warn(`the ${what} directory watch ended; relying on the periodic re-read`, { dirs });
      } catch (error) {
        if (!closed) log.warn(`the ${what} directory watch failed; relying on the periodic re-read`, { dirs, error });
      } finally {
        if (watcher === active) watcher = undefined;
        watching = undefined;
      }
    })();
  };

  startWatching();
  const poll = pollIntervalMs > 0
    ? setInterval(() => {
      startWatching(); // a directory that went away and came back is watched again
      void check().catch((error) => log.error(`checking the ${what} failed`, { error }));
    }, pollIntervalMs)
    : undefined;
  log.debug(`watching the ${what}`, { dirs, debounceMs, pollIntervalMs });

  return {
    check,
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(debounce);
      clearInterval(poll);
      try {
        watcher?.close();
      } catch { /* already closed by the runtime */ }
      await watching;
      await queue;
    },
  };
}
