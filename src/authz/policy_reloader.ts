/**
 * Policy changes without a restart: watches AUTHZ_POLICY_FILE (a ConfigMap volume in Kubernetes) and, when its
 * content changes, parses it and puts it in force. A file that is invalid, unreadable or gone is refused with its
 * `file:line:column` error logged and counted, and the last good policy stays in force: never fail open.
 */
import type { Logger } from "../observability/mod.ts";
import { type FileWatch, type FileWatchTiming, type ReloadOutcome, watchFiles } from "../files/mod.ts";
import { authorizerFromBytes } from "./load_policy.ts";
import type { ReloadableAuthorizer } from "./reloadable_authorizer.ts";

export type PolicyReloadOutcome = ReloadOutcome;

/** Re-reads every 5 s by default, so a change is in force within 10 s even if the directory watch misses it. */
export interface PolicyReloaderOptions extends FileWatchTiming {
  path: string;
  /** The authorizer the service holds; replaced on every valid change. */
  authorizer: ReloadableAuthorizer;
  log: Logger;
  /** Called after every check that found a changed file. */
  onOutcome?(outcome: Exclude<PolicyReloadOutcome, "unchanged">): void;
}

export interface PolicyReloader {
  /** Re-read now (e.g. in tests); checks run one at a time. */
  check(): Promise<PolicyReloadOutcome>;
  close(): Promise<void>;
}

/** Starts watching; the file's current content is taken as the policy already in force. */
export async function startPolicyReloader(options: PolicyReloaderOptions): Promise<PolicyReloader> {
  const { path, authorizer, onOutcome } = options;
  const log = options.log.child({ component: "policy_reloader" });
  let current: Uint8Array | undefined = await Deno.readFile(path).catch(() => undefined);
  /** What was last refused, so a bad file is reported once, not on every poll. */
  let refused: string | undefined;

  const refuse = (what: string, error: unknown): PolicyReloadOutcome => {
    if (what === refused) return "invalid";
    refused = what;
    log.error("the policy file was not reloaded; the last good policy stays in force", {
      file: path,
      error: (error as Error).message,
    });
    onOutcome?.("invalid");
    return "invalid";
  };

  const check = async (): Promise<PolicyReloadOutcome> => {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(path);
    } catch (error) {
      return refuse(`read: ${(error as Error).message}`, new Error(`cannot read ${path}: ${(error as Error).message}`));
    }
    if (current !== undefined && equalBytes(bytes, current)) {
      refused = undefined;
      return "unchanged";
    }
    const key = new TextDecoder().decode(bytes);
    let next;
    try {
      next = authorizerFromBytes(bytes, path);
    } catch (error) {
      return refuse(key, error);
    }
    authorizer.replace(next);
    current = bytes;
    refused = undefined;
    log.info("policy reloaded", { file: path, bytes: bytes.byteLength });
    onOutcome?.("reloaded");
    return "reloaded";
  };

  const watch: FileWatch<PolicyReloadOutcome> = watchFiles({
    paths: [path],
    check,
    what: "policy file",
    log,
    debounceMs: options.debounceMs,
    pollIntervalMs: options.pollIntervalMs ?? 5_000,
    watch: options.watch,
  });
  return { check: watch.check, close: watch.close };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
