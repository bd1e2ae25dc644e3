// @ts-check
/** Text for the cells and dialogs: one place that turns records into words. @module */

/** @typedef {import("./types.js").Deployment} Deployment */

/** @param {Deployment} d */
export function keyOf(d) {
  return `${d.namespace}/${d.name}`;
}

/** "web-hpa 2–10", or "" without an autoscaler. @param {Deployment} d */
export function autoscalerText(d) {
  const a = d.autoscaler;
  if (!a) return "";
  return `${a.name} ${a.minReplicas ?? 1}–${a.maxReplicas}`;
}

/**
 * The rollout state as a word and its details: complete, progressing (with counts), paused, failed (with reason).
 * Without the detail fields: "" (unknown).
 * @param {Deployment} d
 * @returns {{ state: "complete" | "progressing" | "paused" | "failed" | "", text: string }}
 */
export function rolloutState(d) {
  if (d.paused) return { state: "paused", text: "paused" };
  const r = d.rollout;
  if (!r) return { state: "", text: "" };
  if (r.complete) return { state: "complete", text: "complete" };
  if (r.reason === "ProgressDeadlineExceeded" || r.reason === "ReplicaSetCreateError") {
    return { state: "failed", text: `failed: ${r.reason}` };
  }
  return { state: "progressing", text: `progressing ${r.updatedReplicas}/${d.replicas} updated` };
}

/** Seconds as "4s", "3m 10s", "2h 5m". @param {number} seconds */
export function ageText(seconds) {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** A local time for an ISO-8601 string, or the string itself when it does not parse. @param {string} iso */
export function timeText(iso) {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? iso : new Date(t).toLocaleString();
}

/** Ready share in 0..1 for the progress bar. @param {Deployment} d */
export function readyShare(d) {
  if (d.replicas <= 0) return d.readyReplicas > 0 ? 1 : 0;
  return Math.min(1, d.readyReplicas / d.replicas);
}
