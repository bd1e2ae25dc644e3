// @ts-check
/** Filtering and sorting of the Deployment list: pure functions, no DOM. @module */

/** @typedef {import("./types.js").Deployment} Deployment */
/** @typedef {"namespace" | "name" | "replicas" | "ready" | "autoscaler" | "rollout"} Column */
/** @typedef {{ column: Column, direction: "ascending" | "descending" }} Sort */

import { autoscalerText, rolloutState } from "./format.js";

/**
 * A predicate for the filter text: a substring of "namespace/name" (case-insensitive), so "demo/" selects a
 * namespace and "/web" names starting with web; several words must all match.
 * @param {string} text
 * @param {string} namespace "" = all
 * @returns {(d: Deployment) => boolean}
 */
export function matcher(text, namespace) {
  const words = text.trim().toLowerCase().split(/\s+/).filter((w) => w !== "");
  return (d) => {
    if (namespace !== "" && d.namespace !== namespace) return false;
    if (words.length === 0) return true;
    const key = `${d.namespace}/${d.name}`.toLowerCase();
    return words.every((w) => key.includes(w));
  };
}

/** @type {Record<Column, (a: Deployment, b: Deployment) => number>} */
const COMPARE = {
  namespace: (a, b) => cmp(a.namespace, b.namespace) || cmp(a.name, b.name),
  name: (a, b) => cmp(a.name, b.name) || cmp(a.namespace, b.namespace),
  replicas: (a, b) => a.replicas - b.replicas,
  ready: (a, b) => a.readyReplicas - b.readyReplicas || a.availableReplicas - b.availableReplicas,
  autoscaler: (a, b) => cmp(autoscalerText(a), autoscalerText(b)),
  rollout: (a, b) => cmp(rolloutState(a).text, rolloutState(b).text),
};

/** @param {string} a @param {string} b */
function cmp(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The visible rows: filtered, then sorted (ties by namespace/name so the order is stable across updates).
 * @param {Iterable<Deployment>} all
 * @param {(d: Deployment) => boolean} keep
 * @param {Sort} sort
 * @returns {Deployment[]}
 */
export function visibleRows(all, keep, sort) {
  /** @type {Deployment[]} */
  const rows = [];
  for (const d of all) if (keep(d)) rows.push(d);
  const by = COMPARE[sort.column];
  const sign = sort.direction === "ascending" ? 1 : -1;
  rows.sort((a, b) => sign * by(a, b) || COMPARE.namespace(a, b));
  return rows;
}
