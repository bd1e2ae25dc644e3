// @ts-check
/**
 * The Deployment table: windowed rendering (only the rows in view, plus a margin, are in the DOM; spacer rows keep
 * the scroll height), sort headers with aria-sort, and a roving tabindex over the rows.
 * @module
 */

import { autoscalerText, keyOf, readyShare, rolloutState } from "./format.js";

/** @typedef {import("./types.js").Deployment} Deployment */
/** @typedef {import("./filter.js").Column} Column */
/** @typedef {import("./filter.js").Sort} Sort */

const OVERSCAN = 10;

/**
 * @param {{ table: HTMLTableElement, scroller: HTMLElement, canScale: (d: Deployment) => boolean,
 *   onOpen: (key: string) => void, onScale: (key: string) => void, onSort: (sort: Sort) => void }} deps
 */
export function createTable(deps) {
  const { table, scroller } = deps;
  const tbody = /** @type {HTMLTableSectionElement} */ (table.tBodies[0]);
  /** @type {Deployment[]} */
  let rows = [];
  /** @type {string | null} */
  let focusKey = null;
  /** @type {Sort} */
  let sort = { column: "namespace", direction: "ascending" };
  let frame = 0;

  function rowHeight() {
    const v = parseFloat(getComputedStyle(table).getPropertyValue("--row-h"));
    return Number.isFinite(v) && v > 0 ? v : 40;
  }

  /** @param {number} height */
  function spacer(height) {
    const tr = document.createElement("tr");
    tr.className = "spacer";
    tr.setAttribute("aria-hidden", "true");
    const td = document.createElement("td");
    td.colSpan = 7;
    tr.append(td);
    tr.style.setProperty("height", `${height}px`);
    return tr;
  }

  /** @param {Deployment} d @param {number} index */
  function rowElement(d, index) {
    const key = keyOf(d);
    const tr = document.createElement("tr");
    tr.dataset.key = key;
    tr.tabIndex = key === focusKey ? 0 : -1;
    tr.setAttribute("aria-rowindex", String(index + 2));
    tr.setAttribute("aria-label", key);
    const cell = (/** @type {string} */ col, /** @type {string | Node} */ content) => {
      const td = document.createElement("td");
      td.dataset.col = col;
      td.append(content);
      tr.append(td);
      return td;
    };
    cell("namespace", d.namespace);
    cell("name", d.name).classList.add("name");
    cell("replicas", String(d.replicas));
    const ready = document.createElement("span");
    ready.className = "ready";
    const bar = document.createElement("meter");
    bar.min = 0;
    bar.max = 1;
    bar.value = readyShare(d);
    bar.low = 0.5;
    bar.optimum = 1;
    bar.setAttribute("aria-label", `${d.readyReplicas} of ${d.replicas} ready`);
    ready.append(`${d.readyReplicas}/${d.replicas} · ${d.availableReplicas} avail `, bar);
    cell("ready", ready);
    cell("autoscaler", autoscalerText(d));
    const r = rolloutState(d);
    const state = document.createElement("span");
    state.className = `rollout ${r.state}`;
    state.textContent = r.text || "—";
    if (d.rollout?.message) state.title = d.rollout.message;
    cell("rollout", state);
    const actions = document.createElement("td");
    actions.className = "actions";
    if (deps.canScale(d)) {
      const b = document.createElement("button");
      b.type = "button";
      b.dataset.action = "scale";
      b.tabIndex = -1;
      b.textContent = "Scale";
      b.setAttribute("aria-label", `Scale ${key}`);
      actions.append(b);
    }
    tr.append(actions);
    return tr;
  }

  function render() {
    frame = 0;
    const h = rowHeight();
    const headH = table.tHead?.offsetHeight ?? 0;
    const top = Math.max(0, scroller.scrollTop - headH);
    const first = Math.max(0, Math.floor(top / h) - OVERSCAN);
    const last = Math.min(rows.length, Math.ceil((top + scroller.clientHeight) / h) + OVERSCAN);
    if (focusKey === null || !rows.some((d, i) => i >= first && i < last && keyOf(d) === focusKey)) {
      // Keep one row reachable by Tab: the focused one when it is rendered, else the first rendered.
      if (focusKey === null || document.activeElement?.closest("tbody") !== tbody) {
        focusKey = rows[first] ? keyOf(rows[first]) : null;
      }
    }
    const hadFocus = document.activeElement instanceof HTMLElement && document.activeElement.closest("tbody") === tbody;
    /** @type {Node[]} */
    const nodes = [];
    if (first > 0) nodes.push(spacer(first * h));
    for (let i = first; i < last; i++) nodes.push(rowElement(rows[i], i));
    if (last < rows.length) nodes.push(spacer((rows.length - last) * h));
    tbody.replaceChildren(...nodes);
    table.setAttribute("aria-rowcount", String(rows.length + 1));
    if (hadFocus && focusKey) rowOf(focusKey)?.focus({ preventScroll: true });
  }

  function schedule() {
    if (!frame) frame = requestAnimationFrame(render);
  }

  /** @param {string} key */
  function rowOf(key) {
    for (const tr of tbody.rows) if (tr.dataset.key === key) return tr;
    return null;
  }

  /** Moves the focus to row `index`, scrolling it into view. @param {number} index */
  function focusIndex(index) {
    if (rows.length === 0) return;
    const i = Math.max(0, Math.min(rows.length - 1, index));
    focusKey = keyOf(rows[i]);
    const h = rowHeight();
    const headH = table.tHead?.offsetHeight ?? 0;
    const y = headH + i * h;
    if (y < scroller.scrollTop + headH) scroller.scrollTop = y - headH;
    else if (y + h > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = y + h - scroller.clientHeight;
    render();
    rowOf(focusKey)?.focus({ preventScroll: true });
  }

  tbody.addEventListener("keydown", (e) => {
    const tr = /** @type {HTMLElement} */ (e.target).closest("tr");
    if (!tr?.dataset.key) return;
    const index = rows.findIndex((d) => keyOf(d) === tr.dataset.key);
    const page = Math.max(1, Math.floor(scroller.clientHeight / rowHeight()) - 1);
    /** @type {Record<string, number>} */
    const moves = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: rows.length - 1, PageDown: index + page, PageUp: index - page };
    if (e.key in moves && e.target === tr) {
      e.preventDefault();
      focusIndex(moves[e.key]);
    } else if (e.key === "Enter" && e.target === tr) {
      e.preventDefault();
      deps.onOpen(tr.dataset.key);
    } else if (e.key === "s" && e.target === tr && tr.querySelector("[data-action=scale]")) {
      e.preventDefault();
      deps.onScale(tr.dataset.key);
    }
  });
  tbody.addEventListener("click", (e) => {
    const target = /** @type {HTMLElement} */ (e.target);
    const tr = target.closest("tr");
    if (!tr?.dataset.key) return;
    focusKey = tr.dataset.key;
    if (target.closest("[data-action=scale]")) deps.onScale(tr.dataset.key);
    else deps.onOpen(tr.dataset.key);
  });
  tbody.addEventListener("focusin", (e) => {
    const tr = /** @type {HTMLElement} */ (e.target).closest("tr");
    if (tr?.dataset.key && tr.dataset.key !== focusKey) {
      const old = focusKey ? rowOf(focusKey) : null;
      if (old) old.tabIndex = -1;
      focusKey = tr.dataset.key;
      tr.tabIndex = 0;
    }
  });
  scroller.addEventListener("scroll", schedule, { passive: true });
  addEventListener("resize", schedule);

  for (const th of table.tHead?.querySelectorAll("th[data-col]") ?? []) {
    const col = /** @type {Column} */ (/** @type {HTMLElement} */ (th).dataset.col);
    th.querySelector("button")?.addEventListener("click", () => {
      const direction = sort.column === col && sort.direction === "ascending" ? "descending" : "ascending";
      sort = { column: col, direction };
      for (const other of table.tHead?.querySelectorAll("th[data-col]") ?? []) {
        other.setAttribute("aria-sort", other === th ? direction : "none");
      }
      deps.onSort(sort);
    });
  }

  return {
    /** Replaces the rows (already filtered and sorted) and renders now. @param {Deployment[]} next */
    setRows(next) {
      rows = next;
      render();
    },
    sort: () => sort,
    /** @param {string} key */
    focusRow(key) {
      const i = rows.findIndex((d) => keyOf(d) === key);
      if (i >= 0) focusIndex(i);
    },
  };
}
