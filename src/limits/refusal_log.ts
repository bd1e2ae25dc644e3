/**
 * Logs refused connections without letting a flood of them flood the log: a
 * warning for the first refusal, then at most one line per interval that
 * counts what was refused since the previous line. Under attack the refusals
 * come by the thousand per second and cost almost nothing to refuse; a line
 * each would cost more than the refusal itself and bury everything else. The
 * exact counts are in the metrics (replica_api_connections_refused_total).
 */
import type { Logger } from "../observability/mod.ts";
import type { SourceRefusal } from "./source_gate.ts";
import type { SourceRefusalReason } from "./source_limiter.ts";

export interface RefusalLogOptions {
  log: Logger;
  /** At most one line per this many milliseconds (default 10 s). */
  intervalMs?: number;
  /** Monotonic milliseconds; injectable for tests. */
  now?: () => number;
}

export interface RefusalLog {
  refused(refusal: SourceRefusal): void;
}

/** Sources named in one line at most: enough to see who, bounded however many there are. */
const SOURCES_PER_LINE = 5;

export function createRefusalLog(options: RefusalLogOptions): RefusalLog {
  const { log } = options;
  const intervalMs = options.intervalMs ?? 10_000;
  const now = options.now ?? (() => performance.now());
  let lastLineAt: number | undefined;
  let counts: Partial<Record<SourceRefusalReason, number>> = {};
  let sources = new Set<string>();
  let moreSources = false;

  return {
    refused({ reason, source, remoteAddress }) {
      counts[reason] = (counts[reason] ?? 0) + 1;
      if (sources.size < SOURCES_PER_LINE) sources.add(source);
      else if (!sources.has(source)) moreSources = true;
      const t = now();
      if (lastLineAt !== undefined && t - lastLineAt < intervalMs) return;
      log.warn("connections refused by per-source limits", {
        reason,
        source,
        remoteAddr: remoteAddress,
        // Since the previous line of this kind, this refusal included.
        refused: counts,
        sources: [...sources],
        ...(moreSources ? { moreSources: true } : {}),
        logIntervalMs: intervalMs,
      });
      lastLineAt = t;
      counts = {};
      sources = new Set();
      moreSources = false;
    },
  };
}
