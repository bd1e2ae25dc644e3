// @ts-check
/**
 * The live store: one EventSource on the watch, a Map of Deployments by "ns/name", and listeners told after each
 * batch of events (at most once per animation frame). The browser resumes with Last-Event-ID by itself; a refused
 * stream (410, 4xx/5xx) or an ERROR event that is not a 503 renewal makes it list again from scratch.
 * @module
 */

import { API, call, problemText } from "./api.js";
import { keyOf } from "./format.js";

/** @typedef {import("./types.js").Deployment} Deployment */
/** @typedef {"connecting" | "live" | "reconnecting" | "closed"} ConnectionState */
/**
 * @typedef {{ records: Map<string, Deployment>, snapshot: boolean, state: ConnectionState, message: string,
 *   changed: Set<string> | null, detail: boolean }} LiveView
 */

/** How long a stream that opened but sent nothing is given before it counts as an empty snapshot. */
const EMPTY_SNAPSHOT_MS = 400;

/**
 * @param {(view: LiveView) => void} notify called after each batch; `changed` null means everything
 * @param {{ setTimeout?: typeof setTimeout }} [seams]
 */
export function createLiveStore(notify, seams = {}) {
  const later = seams.setTimeout ?? setTimeout;
  /** @type {Map<string, Deployment>} */
  let records = new Map();
  /** @type {Map<string, Deployment> | null} the snapshot being received, swapped in when complete */
  let incoming = null;
  let snapshot = false;
  let detail = true;
  /** @type {ConnectionState} */
  let state = "connecting";
  let message = "Connecting…";
  /** @type {EventSource | null} */
  let source = null;
  /** @type {Set<string> | null} */
  let changed = new Set();
  let scheduled = false;
  let retries = 0;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let emptyTimer;

  function flush() {
    scheduled = false;
    const batch = changed;
    changed = new Set();
    notify({ records, snapshot, state, message, changed: batch, detail });
  }
  function schedule(/** @type {string | null} */ key) {
    if (key === null) changed = null;
    else changed?.add(key);
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(flush);
  }
  function setState(/** @type {ConnectionState} */ next, /** @type {string} */ text) {
    state = next;
    message = text;
    schedule(null);
  }

  function completeSnapshot() {
    clearTimeout(emptyTimer);
    if (incoming) {
      records = incoming;
      incoming = null;
      snapshot = true;
      schedule(null);
    }
  }

  /** @param {MessageEvent} event @param {"ADDED" | "MODIFIED" | "DELETED"} type */
  function onChange(event, type) {
    /** @type {Deployment} */
    let d;
    try {
      d = JSON.parse(event.data);
    } catch {
      return;
    }
    const key = keyOf(d);
    const target = incoming ?? records;
    if (type === "DELETED") target.delete(key);
    else target.set(key, d);
    if (incoming) {
      // Only the snapshot's last event carries an id: the snapshot is complete.
      clearTimeout(emptyTimer);
      if (event.lastEventId !== "") completeSnapshot();
    } else schedule(key);
  }

  /** @param {MessageEvent} event */
  function onError(event) {
    /** @type {any} */
    let problem = {};
    try {
      problem = JSON.parse(event.data);
    } catch { /* an ERROR without a body: treat as a refusal */ }
    if (problem.status === 503) {
      // A renewal or a shutdown: the browser reconnects with Last-Event-ID by itself.
      setState("reconnecting", `Reconnecting: ${problemText(problem, 503)}`);
      return;
    }
    restart(`Stream ended: ${problemText(problem, problem.status ?? 0)}`);
  }

  function url() {
    return `${API}/deployments?${detail ? "detail=true&" : ""}watch=true`;
  }

  function open() {
    incoming = new Map();
    const es = new EventSource(url());
    source = es;
    es.addEventListener("open", () => {
      retries = 0;
      setState("live", "Live");
      if (incoming && incoming.size === 0) {
        clearTimeout(emptyTimer);
        emptyTimer = later(() => {
          if (source === es && incoming && incoming.size === 0) completeSnapshot();
        }, EMPTY_SNAPSHOT_MS);
      }
    });
    for (const type of /** @type {const} */ (["ADDED", "MODIFIED", "DELETED"])) {
      es.addEventListener(type, (e) => onChange(/** @type {MessageEvent} */ (e), type));
    }
    es.addEventListener("ERROR", (e) => onError(/** @type {MessageEvent} */ (e)));
    es.addEventListener("error", () => {
      if (source !== es) return;
      if (es.readyState === EventSource.CONNECTING) setState("reconnecting", "Reconnecting…");
      else void diagnose();
    });
  }

  /** The stream was refused (the browser gives up on a non-200): find out why, then list again. */
  async function diagnose() {
    const controller = new AbortController();
    const answer = await call(url(), { signal: controller.signal, headers: { accept: "text/event-stream" } })
      .catch(() => ({ status: 0, body: null, etag: null }));
    controller.abort();
    if (answer.status === 400 && detail && /detail/.test(JSON.stringify(answer.body ?? ""))) {
      // A server without the detailed view: watch the plain records.
      detail = false;
      restart("", 0);
      return;
    }
    restart(answer.status === 200 ? "Stream closed" : `Stream refused: ${problemText(answer.body, answer.status)}`);
  }

  /** Closes the stream and opens a fresh one (no Last-Event-ID: a new snapshot), with backoff. */
  function restart(/** @type {string} */ why, delay = Math.min(30_000, 500 * 2 ** retries++)) {
    source?.close();
    source = null;
    incoming = null;
    setState("reconnecting", why ? `${why}; reconnecting in ${Math.round(delay / 1000)} s` : "Reconnecting…");
    later(open, delay);
  }

  return {
    start: open,
    stop() {
      source?.close();
      source = null;
      setState("closed", "Closed");
    },
    /** @param {string} key */
    get: (key) => records.get(key),
  };
}
