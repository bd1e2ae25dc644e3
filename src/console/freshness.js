// @ts-check
/**
 * Freshness: polls /api/v1/health every 2 s. Stale when the service says degraded/unhealthy (503), when it cannot be
 * reached, or when it has not heard from the API server for longer than STALE_AFTER_S.
 * @module
 */

import { health } from "./api.js";

/** No event from the API server for this long counts as stale (the server's CACHE_STALE_AFTER is not exposed). */
export const STALE_AFTER_S = 60;

/** @typedef {{ stale: boolean, ageSeconds: number | null, reason: string }} Freshness */

/** @param {any} body @param {number} status @returns {Freshness} */
export function judge(body, status) {
  const age = typeof body?.cache?.lastEventAgeSeconds === "number" ? body.cache.lastEventAgeSeconds : null;
  if (status === 0) return { stale: true, ageSeconds: age, reason: "service unreachable" };
  if (status !== 200) return { stale: true, ageSeconds: age, reason: body?.status ?? body?.error ?? `HTTP ${status}` };
  if (age !== null && age > STALE_AFTER_S) return { stale: true, ageSeconds: age, reason: "no word from the API server" };
  return { stale: false, ageSeconds: age, reason: "" };
}

/** @param {(f: Freshness) => void} notify */
export function pollFreshness(notify, everyMs = 2000) {
  /** @type {Freshness | null} */
  let last = null;
  let lastOkAt = Date.now();
  async function tick() {
    const answer = await health();
    const f = judge(answer.body, answer.status);
    if (!f.stale) lastOkAt = Date.now();
    // Unreachable: the data is as old as the last good answer.
    if (f.ageSeconds === null && f.stale) f.ageSeconds = (Date.now() - lastOkAt) / 1000;
    last = f;
    notify(f);
    setTimeout(tick, everyMs);
  }
  void tick();
  return { current: () => last };
}
