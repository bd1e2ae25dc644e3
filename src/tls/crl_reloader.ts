/**
 * Revocation lists reloaded while the service runs: watches TLS_CLIENT_CRL_FILE's files (a Secret or ConfigMap
 * volume in Kubernetes) and, when their content changes, builds a new list and hands it to `apply`, which puts it
 * in force on the listener (new handshakes are checked against it, open connections of newly revoked
 * certificates are closed).
 *
 * Never fails open: a CRL that does not parse, is not issued or signed by the client CA, or is older than the one
 * in force is refused, and the revocations it would have replaced stay in force (see revocation/mod.ts). A list
 * past its nextUpdate stays in force too, and is reported: failing closed would lock every client out the moment
 * a CRL job is late, which is an outage of its own; the stale list's revocations are still true.
 */
import type { Logger } from "../observability/mod.ts";
import { type FileWatchTiming, type ReloadOutcome, watchFiles } from "../files/mod.ts";
import { loadRevocationList, type RevocationList } from "./revocation/mod.ts";

export type CrlReloadOutcome = ReloadOutcome;

/** Re-reads every 5 s by default: a revocation is in force within 10 s even if the directory watch misses it. */
export interface CrlReloaderOptions extends FileWatchTiming {
  paths: readonly string[];
  /** The client CA bundle in force now (it may be rotated): CRLs must be issued and signed by it. */
  caPem(): string;
  /** The list loaded at start. */
  initial: RevocationList;
  /** Puts a new list in force. */
  apply(list: RevocationList): void;
  log: Logger;
  /** "reloaded" when a changed list was put in force; "invalid" when a changed file was refused (in part). */
  onOutcome?(outcome: Exclude<CrlReloadOutcome, "unchanged">): void;
  now?: () => Date;
}

export interface CrlReloader {
  check(): Promise<CrlReloadOutcome>;
  /** The list in force. */
  readonly current: RevocationList;
  close(): Promise<void>;
}

/** What makes two lists the same for reporting: each CRL's state, identity and problems. */
function signature(list: RevocationList): string {
  return JSON.stringify(list.status.map((s) => [s.file, s.position, s.state, s.issuer, s.thisUpdate, s.crlNumber, s.count, s.problems]));
}

export function startCrlReloader(options: CrlReloaderOptions): CrlReloader {
  const { paths, apply, onOutcome } = options;
  const log = options.log.child({ component: "crl_reloader" });
  const now = options.now ?? (() => new Date());
  let current = options.initial;
  let seen = signature(current);

  const check = async (): Promise<CrlReloadOutcome> => {
    const next = await loadRevocationList(paths, { caPem: options.caPem(), previous: current, now: now() });
    const nextSeen = signature(next);
    if (nextSeen === seen) return "unchanged";
    seen = nextSeen;
    const refused = next.status.some((s) => s.state !== "current");
    current = next;
    apply(next);
    if (refused) {
      log.error("a revocation list was refused; the revocations in force before stay in force", { problems: next.problems });
      onOutcome?.("invalid");
      return "invalid";
    }
    if (next.problems.length) log.warn("revocation list in force has problems", { problems: next.problems });
    log.info("revocation lists reloaded", { revoked: next.size, files: paths });
    onOutcome?.("reloaded");
    return "reloaded";
  };

  const watch = watchFiles({
    paths,
    check,
    what: "revocation lists",
    log,
    debounceMs: options.debounceMs,
    pollIntervalMs: options.pollIntervalMs ?? 5_000,
    watch: options.watch,
  });
  return {
    check: watch.check,
    get current() {
      return current;
    },
    close: watch.close,
  };
}
