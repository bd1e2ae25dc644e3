// @ts-check
/**
 * The live store: one stream on the watch (sse.js), a Map of Deployments by "ns/name", and listeners told after each
 * batch of events (at most once per animation frame). Every reconnection resumes with Last-Event-ID, across any
 * outage; a 410, or an ERROR event that is not a 503 renewal, makes it list again from scratch.
 * @module
 */

import { API, problemText } from "./api.js";
import { readEvents } from "./sse.js";
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
  /** The open connection's controller; a callback of an older one finds it replaced and does nothing. */
  /** @type {AbortController | null} */
  let current = null;
  /** The last event id seen: the next connection resumes after it ("" = a fresh snapshot). */
  let lastId = "";
  let stopped = false;
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

  /** @param {import("./sse.js").StreamEvent} event @param {"ADDED" | "MODIFIED" | "DELETED"} type */
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
      if (event.id !== "") completeSnapshot();
    } else schedule(key);
  }

  /**
   * An ERROR event ends the stream. 503 (a renewal, a shutdown) resumes from the last id; anything else (410: too far
   * behind) lists again from scratch. @param {import("./sse.js").StreamEvent} event
   */
  function onError(event) {
    /** @type {any} */
    let problem = {};
    try {
      problem = JSON.parse(event.data);
    } catch { /* an ERROR without a body: treat as a refusal */ }
    if (problem.status !== 503) lastId = "";
    reconnect(`Stream ended: ${problemText(problem, problem.status ?? 0)}`, problem.status === 503 ? 0 : undefined);
  }

  function url() {
    return `${API}/deployments?${detail ? "detail=true&" : ""}watch=true`;
  }

  /**
   * The starting state as one JSON list, then the watch from the position the list names (X-Resource-Version): for
   * 10,000 Deployments the list is sent and parsed several times faster than 10,000 snapshot events. The first list
   * is the one index.html preloads (same URL, mode and credentials, so the browser hands the preloaded answer over).
   * False when it could not be used (a refusal, a server without the header, a broken body): the watch's own
   * snapshot follows, so the caller needs no other way back.
   * @param {AbortController} controller @returns {Promise<boolean>}
   */
  async function listFirst(controller) {
    /** @type {RequestInit} */
    const init = { signal: controller.signal, credentials: "same-origin", cache: "no-store" };
    try {
      const response = await fetch(`${API}/deployments${detail ? "?detail=true" : ""}`, init);
      const position = response.headers.get("x-resource-version");
      if (!response.ok || !position) {
        await response.body?.cancel();
        return false;
      }
      /** @type {{ items: Deployment[] }} */
      const list = await response.json();
      if (current !== controller) return false;
      records = new Map(list.items.map((d) => [keyOf(d), d]));
      snapshot = true;
      lastId = position;
      schedule(null);
      return true;
    } catch {
      return false;
    }
  }

  /** One connection: resumes after `lastId` when there is one, else lists first, else receives a snapshot first. */
  async function open() {
    const controller = new AbortController();
    current = controller;
    if (!lastId) {
      await listFirst(controller);
      if (current !== controller) return;
    }
    const resume = lastId;
    incoming = resume ? null : new Map();
    /** @type {Response} */
    let response;
    try {
      /** @type {Record<string, string>} */
      const headers = { accept: "text/event-stream" };
      if (resume) headers["last-event-id"] = resume;
      response = await fetch(url(), { headers, signal: controller.signal, cache: "no-store", credentials: "same-origin" });
    } catch {
      if (current === controller) reconnect("The service cannot be reached");
      return;
    }
    if (!response.ok || !response.body) {
      const body = await response.json().catch(() => null);
      if (current !== controller) return;
      if (response.status === 400 && detail && /detail/.test(JSON.stringify(body ?? ""))) {
        // A server without the detailed view: watch the plain records.
        detail = false;
        lastId = "";
        reconnect("", 0);
      } else if (response.status === 410 || response.status === 400) {
        // It cannot replay from there (another replica, a restart): list again.
        lastId = "";
        reconnect("", 0);
      } else reconnect(`Stream refused: ${problemText(body, response.status)}`);
      return;
    }
    retries = 0;
    setState("live", "Live");
    if (incoming) {
      clearTimeout(emptyTimer);
      emptyTimer = later(() => {
        if (current === controller && incoming && incoming.size === 0) completeSnapshot();
      }, EMPTY_SNAPSHOT_MS);
    }
    try {
      for await (const event of readEvents(response.body)) {
        if (current !== controller) return;
        if (event.id) lastId = event.id;
        if (event.type === "ADDED" || event.type === "MODIFIED" || event.type === "DELETED") onChange(event, event.type);
        else if (event.type === "ERROR") return onError(event);
      }
    } catch { /* the connection broke: resume below */ }
    if (current === controller) reconnect("Connection lost");
  }

  /** Drops the connection and opens the next one after a backoff; it resumes from `lastId` when that is set. */
  function reconnect(/** @type {string} */ why, delay = Math.min(30_000, 500 * 2 ** retries++)) {
    current?.abort();
    current = null;
    incoming = null;
    setState("reconnecting", why ? `${why}; reconnecting in ${Math.round(delay / 1000)} s` : "Reconnecting…");
    later(() => {
      if (!stopped) void open();
    }, delay);
  }

  return {
    start: () => void open(),
    stop() {
      stopped = true;
      current?.abort();
      current = null;
      setState("closed", "Closed");
    },
    /** @param {string} key */
    get: (key) => records.get(key),
  };
}
