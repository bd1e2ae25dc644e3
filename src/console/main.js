// @ts-check
/** Wiring only: whoami, the live store, freshness, the table, the dialogs and the keys. @module */

import * as api from "./api.js";
import { createDeploymentDialog } from "./deployment_dialog.js";
import { matcher, visibleRows } from "./filter.js";
import { ageText } from "./format.js";
import { pollFreshness } from "./freshness.js";
import { installKeys } from "./keyboard.js";
import { createLiveStore } from "./live.js";
import { createOpDialog } from "./op_dialog.js";
import { allowance, imagePatterns } from "./permissions.js";
import { createTable } from "./table.js";

/** @typedef {import("./types.js").Deployment} Deployment */
/** @typedef {import("./types.js").Whoami} Whoami */

/** @template {HTMLElement} T @param {string} id @returns {T} */
function $(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} missing from index.html`);
  return /** @type {T} */ (el);
}

const filter = /** @type {HTMLInputElement} */ ($("filter"));
const namespaceSelect = /** @type {HTMLSelectElement} */ ($("namespace"));
const connection = $("connection");
const freshness = $("freshness");

/** @type {Whoami | undefined} */
let who;
let allowed = allowance(undefined);
let snapshotIn = false;
let rendered = false;
/** @type {Map<string, Deployment>} */
let records = new Map();
let lastChangeAt = Date.now();

const store = createLiveStore((view) => {
  records = view.records;
  connection.dataset.state = view.state;
  connection.textContent = view.message;
  if (!view.snapshot) return;
  lastChangeAt = Date.now();
  if (!snapshotIn) {
    snapshotIn = true;
    markReady();
  }
  updateNamespaces();
  apply();
  if (!rendered) {
    rendered = true;
    performance.mark("console:rendered");
  }
  if (view.changed) {
    for (const key of view.changed) {
      const d = records.get(key);
      if (d) {
        opDialog.update(d);
        deploymentDialog.update(d);
      }
    }
  }
});

/** @type {HTMLElement | null} */
let opener = null;
const table = createTable({
  table: /** @type {HTMLTableElement} */ ($("deployments")),
  scroller: $("scroller"),
  canScale: (d) => allowed("scale", d.namespace),
  onOpen: (key) => {
    opener = /** @type {HTMLElement | null} */ (document.activeElement);
    deploymentDialog.open(key);
  },
  onScale: (key) => {
    opener = /** @type {HTMLElement | null} */ (document.activeElement);
    void opDialog.open("scale", key);
  },
  onSort: () => apply(),
});

const deploymentDialog = createDeploymentDialog({
  get: (key) => records.get(key),
  allowed: (op, ns) => allowed(op, ns),
  offered: () => who?.operations ?? [],
  onOp: (op, key) => void opDialog.open(op, key),
  onClosed: (key) => returnFocus(key),
});
const opDialog = createOpDialog({
  get: (key) => records.get(key),
  patterns: (ns) => imagePatterns(who, ns),
  onClosed: (key) => {
    if (deploymentDialog.isOpen()) {
      deploymentDialog.reload();
      deploymentDialog.open(key);
      /** @type {HTMLElement | null} */ (document.querySelector(`#dd-actions [data-action]`))?.focus();
    } else returnFocus(key);
  },
});

/** Focus goes back where it was: the control that opened the dialog, else the Deployment's row. @param {string} key */
function returnFocus(key) {
  if (opener && opener.isConnected) opener.focus();
  else table.focusRow(key);
  opener = null;
}

function apply() {
  performance.mark("console:filter:start");
  const rows = visibleRows(records.values(), matcher(filter.value, namespaceSelect.value), table.sort());
  table.setRows(rows);
  $("count").textContent = `${rows.length} of ${records.size}`;
  $("empty").hidden = rows.length > 0 || !snapshotIn;
  performance.measure("console:filter", "console:filter:start");
}

function updateNamespaces() {
  const names = [...new Set([...records.values()].map((d) => d.namespace))].sort();
  const current = [...namespaceSelect.options].slice(1).map((o) => o.value);
  if (names.join("\n") === current.join("\n")) return;
  const selected = namespaceSelect.value;
  namespaceSelect.replaceChildren(new Option("All namespaces", ""), ...names.map((n) => new Option(n, n)));
  namespaceSelect.value = names.includes(selected) ? selected : "";
}

function markReady() {
  if (!who || !snapshotIn || document.documentElement.dataset.ready === "true") return;
  document.documentElement.dataset.ready = "true";
  performance.mark("console:ready");
}

filter.addEventListener("input", apply);
namespaceSelect.addEventListener("change", apply);
installKeys(filter);

pollFreshness((f) => {
  freshness.dataset.state = f.stale ? "stale" : "live";
  const age = f.ageSeconds === null ? "" : ageText(f.ageSeconds);
  freshness.textContent = f.stale
    ? `stale: data ${age || "of unknown age"} old (${f.reason})`
    : `fresh${age ? ` · last API server event ${age} ago` : ""}`;
});
setInterval(() => {
  if (freshness.dataset.state === "live" && snapshotIn) freshness.title = `List changed ${ageText((Date.now() - lastChangeAt) / 1000)} ago`;
}, 5000);

async function start() {
  const answer = await api.whoami();
  if (answer.status === 200) {
    who = answer.body;
    allowed = allowance(who);
    const w = /** @type {Whoami} */ (who);
    const groups = w.identity.organizations.length ? ` (${w.identity.organizations.join(", ")})` : "";
    $("identity").textContent = `${w.identity.cn || "(no CN)"}${groups}`;
    if (w.denied) showBanner(`This certificate is refused everything: ${w.denied}`);
    else if (w.operations.length === 0) $("identity").append(" · read-only server");
  } else {
    $("identity").textContent = "unknown identity";
    showBanner(`Who am I failed: ${api.problemText(answer.body, answer.status)}`);
    who = undefined;
  }
  store.start();
  if (answer.status !== 200) {
    // Still list read-only; mark ready once the snapshot is in.
    who = /** @type {any} */ ({ identity: { cn: "", organizations: [] }, operations: [], permissions: {}, imagePatterns: {} });
  }
  markReady();
}

/** @param {string} text */
function showBanner(text) {
  const b = $("banner");
  b.textContent = text;
  b.hidden = false;
}

void start();
