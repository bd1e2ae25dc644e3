/**
 * Certificate rotation without a restart: watches the directories of
 * TLS_CERT_FILE, TLS_KEY_FILE and TLS_CLIENT_CA_FILE, and when something
 * changes, re-reads all three, validates them together and hands them to
 * `apply` (which swaps the listener's secure context). Invalid material is
 * refused with an error log and the listener keeps what it has.
 *
 * Directories, not files, are watched because Kubernetes updates a Secret
 * volume by swapping a `..data` symlink: the file paths never change, so a
 * watch on them would see nothing. Events are debounced (one swap is half a
 * dozen events, and a cert and key updated one after the other must be read
 * together), and a slow poll backs the watch up in case it misses an event
 * or its directory goes away.
 */
import type { Logger } from "../observability/mod.ts";
import { type FileWatchTiming, type ReloadOutcome, watchFiles } from "../files/mod.ts";
import { readTlsFiles, type TlsFiles, type TlsMaterial, TlsMaterialError, validateTlsMaterial } from "./reload_material.ts";

export type { ReloadOutcome };

/** Re-reads every 60 s by default, besides the directory watch. */
export interface CertReloaderOptions extends FileWatchTiming {
  files: TlsFiles;
  /** The material the listener is serving now. */
  initial: TlsMaterial;
  /** Puts new, validated material into service; a throw counts as invalid material and the old stays. */
  apply(material: TlsMaterial): void | Promise<void>;
  log: Logger;
  /** Called after every check that found new material, e.g. to count reloads and failures. */
  onOutcome?(outcome: Exclude<ReloadOutcome, "unchanged">): void;
  now?: () => Date;
}

export interface CertReloader {
  /** Re-read and, if changed and valid, apply now (e.g. on SIGHUP). Checks run one at a time. */
  check(): Promise<ReloadOutcome>;
  /** The material most recently applied. */
  readonly current: TlsMaterial;
  /** Stops watching and polling; resolves when no check is running. */
  close(): Promise<void>;
}

function same(a: TlsMaterial, b: TlsMaterial): boolean {
  return a.cert === b.cert && a.key === b.key && a.ca === b.ca;
}

export function startCertReloader(options: CertReloaderOptions): CertReloader {
  const { files, apply, onOutcome } = options;
  const log = options.log.child({ component: "cert_reloader" });
  const debounceMs = options.debounceMs ?? 500;
  const pollIntervalMs = options.pollIntervalMs ?? 60_000;
  const now = options.now ?? (() => new Date());

  let current = options.initial;
  /** What was last refused (the material, or the read error), so a bad file is reported once, not on every poll. */
  let refused: string | undefined;

  const refuse = (what: string, error: unknown, msg: string): ReloadOutcome => {
    if (what === refused) return "invalid";
    refused = what;
    const setting = error instanceof TlsMaterialError ? error.setting : undefined;
    log.error(msg, { setting, error });
    onOutcome?.("invalid");
    return "invalid";
  };

  const runCheck = async (): Promise<ReloadOutcome> => {
    let material: TlsMaterial;
    try {
      material = await readTlsFiles(files);
    } catch (error) {
      return refuse(`read: ${(error as Error).message}`, error, "cannot read the TLS files; keeping the current certificates");
    }
    if (same(material, current)) {
      refused = undefined;
      return "unchanged";
    }
    const contents = `material: ${material.cert}\0${material.key}\0${material.ca}`;
    let summary;
    try {
      summary = validateTlsMaterial(material, files, now());
    } catch (error) {
      return refuse(contents, error, "new TLS material is invalid; keeping the current certificates");
    }
    try {
      await apply(material);
    } catch (error) {
      return refuse(contents, error, "applying new TLS material failed; keeping the current certificates");
    }
    current = material;
    refused = undefined;
    log.info("TLS material reloaded", { ...summary });
    onOutcome?.("reloaded");
    return "reloaded";
  };

  const watch = watchFiles({
    paths: [files.certFile, files.keyFile, files.caFile],
    check: runCheck,
    what: "TLS file",
    log,
    debounceMs,
    pollIntervalMs,
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
