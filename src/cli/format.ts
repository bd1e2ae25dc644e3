/**
 * What the CLI prints: aligned tables, JSON, watch lines and rollout
 * progress. Pure functions from API bodies to text, so tests can pin the
 * exact output. Server-supplied strings go through oneLine() so they cannot
 * move the cursor or break a row.
 */
import type {
  AnyOperationBody,
  ContainerImage,
  Deployment,
  ImageBody,
  ReplicasBody,
  RestartBody,
  RevisionsBody,
  Rollout,
  UndoBody,
  Whoami,
} from "./api_types.ts";
import type { OperationCommand } from "./args.ts";
import { oneLine } from "./errors.ts";

export const DEPLOYMENT_COLUMNS = ["NAMESPACE", "NAME", "REPLICAS", "READY", "AVAILABLE"] as const;

/** Left-aligned columns separated by three spaces (as kubectl does); no trailing spaces. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  return [header, ...rows].map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join("   ").trimEnd()).join("\n");
}

function deploymentRow(d: Deployment): string[] {
  return [oneLine(d.namespace), oneLine(d.name), String(d.replicas), String(d.readyReplicas), String(d.availableReplicas)];
}

/** The list as a table; "" when empty (the caller says so on stderr, keeping stdout clean for scripts, as kubectl does). */
export function deploymentTable(items: readonly Deployment[]): string {
  if (items.length === 0) return "";
  return formatTable(DEPLOYMENT_COLUMNS, items.map(deploymentRow));
}

/** One Deployment: the list's columns plus the resourceVersion (what --if-match takes) and the autoscaler, if any. */
export function deploymentDetail(d: Deployment): string {
  const header = [...DEPLOYMENT_COLUMNS, "RESOURCEVERSION"];
  const row = [...deploymentRow(d), oneLine(d.resourceVersion)];
  if (d.autoscaler) {
    header.push("AUTOSCALER");
    const a = d.autoscaler;
    row.push(`${oneLine(a.name)} (${a.minReplicas ?? 1}-${a.maxReplicas})`);
  }
  return formatTable(header, [row]);
}

/**
 * whoami for people: the identity and its expiry, the policy, then a NAMESPACE / PERMISSIONS table ("*", every
 * namespace, first). Expiry is the server's expiresInSeconds: its clock decides, not this machine's.
 */
export function whoamiReport(body: Whoami): string {
  const id = body.identity;
  const subject = [`CN=${id.cn}`, ...(id.organizations ?? []).map((o) => `O=${o}`)].join(", ");
  const seconds = id.expiresInSeconds;
  const expiry = typeof seconds !== "number" ? "" : seconds > 0 ? ` (in ${humanDuration(seconds * 1000)})` : " (expired)";
  const fields: [string, string][] = [
    ["Identity", subject],
    ["Serial", id.serialNumber],
    ["Fingerprint", id.fingerprint256],
    ["Issuer", id.issuer],
    ["Expires", `${id.notAfter ?? "unknown"}${expiry}`],
    ["Policy", typeof body.policy === "string" ? body.policy : "none (the service runs without AUTHZ_POLICY_FILE)"],
  ];
  if (typeof body.denied === "string") fields.push(["Denied", body.denied]);
  const lines = fields.filter(([, v]) => v !== undefined).map(([k, v]) => `${`${k}:`.padEnd(13)}${oneLine(String(v))}`);
  const namespaces = Object.keys(body.namespaces).sort((a, b) => a === "*" ? -1 : b === "*" ? 1 : a < b ? -1 : a > b ? 1 : 0);
  const rows = namespaces.map((ns) => [oneLine(ns), body.namespaces[ns].map((p) => oneLine(String(p))).join(", ")]);
  const table = rows.length ? formatTable(["NAMESPACE", "PERMISSIONS"], rows) : "No permissions in any namespace.";
  return `${lines.join("\n")}\n\n${table}`;
}

/** "6 days 23 hours", "5 hours 2 minutes", "12 minutes", "less than a minute": the two largest units, rounded down. */
export function humanDuration(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 1) return "less than a minute";
  const unit = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const [days, hours, rest] = [Math.floor(minutes / 1440), Math.floor((minutes % 1440) / 60), minutes % 60];
  if (days > 0) return hours ? `${unit(days, "day")} ${unit(hours, "hour")}` : unit(days, "day");
  if (hours > 0) return rest ? `${unit(hours, "hour")} ${unit(rest, "minute")}` : unit(hours, "hour");
  return unit(rest, "minute");
}

/** Pretty JSON for -o json: stable, two-space indented, what the API sent. */
export function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** The line after a PUT: "demo/web scaled from 2 to 5 replicas". */
export function scaleSummary(body: ReplicasBody, options: { dryRun: boolean; status: number }): string {
  const target = `${oneLine(body.namespace)}/${oneLine(body.name)}`;
  const from = body.previousReplicas === undefined ? "" : ` from ${body.previousReplicas}`;
  if (options.dryRun) return `${target} would be scaled${from} to ${body.replicas} replicas (dry run: nothing was changed)`;
  const line = `${target} scaled${from} to ${body.replicas} replicas`;
  // 202: the API server took it, but the answering instance's cache had not seen it yet.
  return options.status === 202 ? `${line} (accepted; not yet visible in the service's cache)` : line;
}

/** What a done operation set in motion, when the service's cache has seen it (200). */
const SET_IN_MOTION: Readonly<Record<OperationCommand["kind"], string>> = {
  restart: "rollout started",
  pause: "rollouts held until resume",
  resume: "rollouts proceed",
  undo: "rollout started",
  "set-image": "rollout started",
};

/**
 * The line after a rollout operation: what it did, then how far it got, e.g.
 * "demo/web: image web app:1.2 → app:1.3 (rollout started)"; "(accepted, not yet observed)" when the service's
 * cache had not seen the write yet (202); "(dry run: nothing changed)"; or, when the Deployment already was as asked,
 * "demo/web: already running app:1.3, nothing changed".
 */
export function operationSummary(
  kind: OperationCommand["kind"],
  body: AnyOperationBody,
  options: { dryRun: boolean; status: number },
): string {
  const target = `${oneLine(body.namespace)}/${oneLine(body.name)}`;
  if (body.changed === false) return `${target}: ${unchanged(kind, body)}, nothing changed`;
  const state = options.dryRun ? "dry run: nothing changed" : options.status === 202 ? "accepted, not yet observed" : SET_IN_MOTION[kind];
  return `${target}: ${change(kind, body, options.dryRun)} (${state})`;
}

function change(kind: OperationCommand["kind"], body: AnyOperationBody, dryRun: boolean): string {
  switch (kind) {
    case "restart":
      return dryRun ? "would restart" : `restarted at ${oneLine(String((body as RestartBody).restartedAt))}`;
    case "pause":
      return dryRun ? "would pause" : "paused";
    case "resume":
      return dryRun ? "would resume" : "resumed";
    case "set-image": {
      const b = body as ImageBody;
      return `image ${oneLine(b.container)} ${oneLine(b.previousImage)} → ${oneLine(b.image)}`;
    }
    case "undo": {
      const b = body as UndoBody;
      return `undo to revision ${b.toRevision} (${imageList(b.images)}) from revision ${b.fromRevision}`;
    }
  }
}

function unchanged(kind: OperationCommand["kind"], body: AnyOperationBody): string {
  switch (kind) {
    case "restart":
      return "not restarted";
    case "pause":
      return "already paused";
    case "resume":
      return "not paused";
    case "set-image":
      return `already running ${oneLine((body as ImageBody).image)}`;
    case "undo": {
      const b = body as UndoBody;
      return `already at the template of revision ${b.toRevision} (${imageList(b.images)})`;
    }
  }
}

/** "web=app:1.2, envoy=envoy:1.30": container=image, as kubectl set image takes them. */
function imageList(images: readonly ContainerImage[] | undefined): string {
  return (images ?? []).map((i) => `${oneLine(i.container)}=${oneLine(i.image)}`).join(", ");
}

export const REVISION_COLUMNS = ["REVISION", "CURRENT", "IMAGES", "CHANGE-CAUSE", "CREATED", "REPLICAS"] as const;

/** history as a table, oldest first as the API sends it, "*" marking the revision in force; "" when there are none. */
export function revisionsTable(body: RevisionsBody): string {
  if (body.revisions.length === 0) return "";
  const rows = body.revisions.map((r) => [
    String(r.revision),
    r.current ? "*" : "",
    imageList(r.images),
    // kubectl rollout history's word for a revision nobody annotated.
    r.changeCause ? oneLine(r.changeCause) : "<none>",
    oneLine(String(r.created)),
    String(r.replicas),
  ]);
  return formatTable(REVISION_COLUMNS, rows);
}

/**
 * One progress line while waiting: counts against the target, and why it is stuck when the API says. `wanted` is the
 * count a scale asked for (other writes leave the count alone).
 */
export function rolloutProgress(body: ReplicasBody, rollout: Rollout, wanted?: number): string {
  // Against spec.replicas, the count asked for (the rollout's own `replicas` counts Pods that exist so far).
  const want = body.replicas;
  const parts = [
    `${rollout.updatedReplicas ?? 0}/${want} updated`,
    `${rollout.readyReplicas ?? body.readyReplicas ?? 0}/${want} ready`,
    `${rollout.availableReplicas ?? body.availableReplicas ?? 0}/${want} available`,
  ];
  let line = `${oneLine(body.namespace)}/${oneLine(body.name)}: ${parts.join(", ")}`;
  if (wanted !== undefined && body.replicas !== wanted) line += ` (spec still says ${body.replicas}, waiting for ${wanted})`;
  else if (rollout.generation !== undefined && (rollout.observedGeneration ?? 0) < rollout.generation) {
    line += " (waiting for the controller to observe the change)";
  }
  const why = rolloutReason(rollout);
  return why ? `${line}; ${why}` : line;
}

/** The last line of a followed rollout: "demo/web: rollout complete, 5 of 5 available". */
export function rolloutComplete(final: ReplicasBody, wanted = final.replicas): string {
  const available = final.rollout?.availableReplicas ?? final.availableReplicas;
  return `${oneLine(final.namespace)}/${oneLine(final.name)}: rollout complete, ${available} of ${wanted} available`;
}

/** "ProgressDeadlineExceeded: ReplicaSet ... has timed out progressing", or "" when the API gave no reason. */
export function rolloutReason(rollout: Rollout): string {
  const reason = rollout.reason ? oneLine(rollout.reason) : "";
  const message = rollout.message ? oneLine(rollout.message) : "";
  return [reason, message].filter(Boolean).join(": ");
}

/**
 * Watch output as a table whose columns only ever widen, so rows printed one
 * by one stay aligned with the header as long as names fit, and never break when one does not.
 * A MODIFIED that changes none of the shown columns (status details such as updatedReplicas) prints
 * nothing: a person watching wants to see changes, not repeats; -o json shows every event.
 */
export class WatchTable {
  static readonly HEADER = ["EVENT", ...DEPLOYMENT_COLUMNS] as const;
  #widths: number[] = WatchTable.HEADER.map((h) => Math.max(h.length, 8));
  #headerShown = false;
  /** The last row shown per Deployment; forgotten when it is deleted, so memory follows the live set. */
  #shown = new Map<string, string>();

  /** The lines to print for one event: the header first time, then the row (none for a repeat). */
  lines(type: string, d: Deployment): string[] {
    const cells = deploymentRow(d);
    const key = `${d.namespace}/${d.name}`;
    const shownAs = cells.join("\0");
    if (type === "MODIFIED" && this.#shown.get(key) === shownAs) return [];
    if (type === "DELETED") this.#shown.delete(key);
    else this.#shown.set(key, shownAs);
    const row = [oneLine(type), ...cells];
    const out: string[] = [];
    this.#widths = this.#widths.map((w, i) => Math.max(w, row[i].length));
    if (!this.#headerShown) {
      this.#headerShown = true;
      out.push(this.#format(WatchTable.HEADER));
    }
    out.push(this.#format(row));
    return out;
  }

  #format(row: readonly string[]): string {
    return row.map((cell, i) => cell.padEnd(this.#widths[i])).join("   ").trimEnd();
  }
}

/**
 * -o json for watch: one `{"type","object"}` per line (NDJSON, as `kubectl get -w -o json` shapes events), easy to pipe
 * into jq. The object carries its own resourceVersion; the stream's event ids are positions to resume from.
 */
export function watchJsonLine(type: string, object: unknown): string {
  return JSON.stringify({ type, object });
}
