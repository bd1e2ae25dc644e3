// @ts-check
/**
 * The Deployment dialog (`dialog#deployment-dialog`): its facts, the operations this identity may do there,
 * its revisions (`#revisions`) and its who-did-what history (`#history`, newest first).
 * @module
 */

import * as api from "./api.js";
import { autoscalerText, keyOf, rolloutState, timeText } from "./format.js";
import { OPS } from "./permissions.js";

/** @typedef {import("./types.js").Deployment} Deployment */
/** @typedef {import("./types.js").Op} Op */

const LABELS = /** @type {Record<Op, string>} */ ({
  scale: "Scale…",
  restart: "Restart…",
  pause: "Pause…",
  resume: "Resume…",
  undo: "Undo…",
  image: "Set image…",
});

/** @param {string} id */
function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from index.html`);
  return el;
}

/** @param {string} text */
function item(text) {
  const li = document.createElement("li");
  li.textContent = text;
  return li;
}

/**
 * `offered` is what this server does at all (whoami's operations): revisions exist only where it offers undo, and
 * a history only where it writes (OPERATIONS=none records nothing), so neither is asked for in vain.
 * @param {{ get: (key: string) => Deployment | undefined, allowed: (op: Op, namespace: string) => boolean,
 *   offered: () => readonly string[], onOp: (op: Op, key: string) => void, onClosed: (key: string) => void }} deps
 */
export function createDeploymentDialog(deps) {
  const dialog = /** @type {HTMLDialogElement} */ ($("deployment-dialog"));
  /** @type {string | null} */
  let key = null;

  /** @param {Deployment} d */
  function facts(d) {
    const rows = [
      ["Replicas", `${d.replicas} desired, ${d.readyReplicas} ready, ${d.availableReplicas} available`],
      ["Autoscaler", autoscalerText(d) || "none"],
      ["Rollout", rolloutState(d).text || "unknown (the server gives no detail)"],
      ["Version", d.resourceVersion],
    ];
    if (d.revision !== undefined) rows.push(["Revision", String(d.revision)]);
    if (d.containers) rows.push(["Images", d.containers.map((c) => `${c.name}=${c.image}`).join(", ")]);
    if (d.restartedAt) rows.push(["Restarted", timeText(d.restartedAt)]);
    if (d.createdAt) rows.push(["Created", timeText(d.createdAt)]);
    if (d.rollout?.message) rows.push(["Message", d.rollout.message]);
    $("dd-facts").replaceChildren(...rows.flatMap(([k, v]) => {
      const dt = document.createElement("dt");
      dt.textContent = k;
      const dd = document.createElement("dd");
      dd.textContent = v;
      return [dt, dd];
    }));
    const buttons = OPS.filter((op) => deps.allowed(op, d.namespace))
      .filter((op) => !(op === "pause" && d.paused === true) && !(op === "resume" && d.paused === false))
      .map((op) => {
        const b = document.createElement("button");
        b.type = "button";
        b.dataset.action = op;
        b.textContent = LABELS[op];
        b.addEventListener("click", () => deps.onOp(op, keyOf(d)));
        return b;
      });
    $("dd-actions").replaceChildren(...buttons);
  }

  /** @param {Deployment} d */
  async function loadLists(d) {
    const list = $("revisions");
    const hist = $("history");
    list.replaceChildren(item("Loading…"));
    hist.replaceChildren(item("Loading…"));
    const offered = deps.offered();
    /** @type {api.Answer} */
    const notOffered = { status: 501, body: { title: "Not offered by this server" }, etag: null };
    const [revs, events] = await Promise.all([
      offered.includes("undo") ? api.revisions(d.namespace, d.name) : notOffered,
      offered.length > 0 ? api.history(d.namespace, d.name) : notOffered,
    ]);
    if (key !== keyOf(d)) return;
    if (revs === notOffered) list.replaceChildren(item("Not listed: this server does not offer undo (OPERATIONS)"));
    else if (revs.status === 200) {
      /** @type {import("./types.js").Revision[]} */
      const rs = revs.body.revisions ?? [];
      list.replaceChildren(
        ...[...rs].reverse().map((r) =>
          item(
            `${r.revision}${r.current ? " (current)" : ""}: ${r.images.map((i) => `${i.name}=${i.image}`).join(", ")}` +
              `${r.changeCause ? ` · ${r.changeCause}` : ""} · ${timeText(r.created)} · ${r.replicas} pods`,
          )
        ),
      );
      if (rs.length === 0) list.replaceChildren(item("No revisions"));
    } else list.replaceChildren(item(`Revisions unavailable (${api.problemText(revs.body, revs.status)})`));
    if (events.status === 200) {
      /** @type {import("./types.js").HistoryEvent[]} */
      const es = events.body.events ?? [];
      hist.replaceChildren(
        ...es.map((e) => item(`${timeText(e.time)} · ${e.reason} · ${e.note}${e.count && e.count > 1 ? ` (×${e.count})` : ""}`)),
      );
      if (es.length === 0) hist.replaceChildren(item("Nothing recorded yet"));
    } else if (events === notOffered) {
      hist.replaceChildren(item("Nothing recorded: this server is read-only (OPERATIONS=none)"));
    } else if (events.status === 404 || events.status === 501) {
      hist.replaceChildren(item(`History unavailable (${api.problemText(events.body, events.status)})`));
    } else hist.replaceChildren(item(`History unavailable for now (${api.problemText(events.body, events.status)})`));
  }

  dialog.addEventListener("close", () => {
    if (key) deps.onClosed(key);
    key = null;
  });

  return {
    /** @param {string} which */
    open(which) {
      const d = deps.get(which);
      if (!d) return;
      key = which;
      $("dd-title").textContent = which;
      facts(d);
      void loadLists(d);
      if (!dialog.open) dialog.showModal();
    },
    /** @param {Deployment} d */
    update(d) {
      if (dialog.open && key === keyOf(d)) facts(d);
    },
    /** Refreshes the lists after a write. */
    reload() {
      const d = key ? deps.get(key) : undefined;
      if (d && dialog.open) void loadLists(d);
    },
    isOpen: () => dialog.open,
    close: () => dialog.close(),
  };
}
