/**
 * Caps on long-lived requests (watch streams, and requests waiting for a
 * rollout): at most `maxPerClient` per client certificate and `max` in all.
 * A stream costs a socket, a subscription and a buffer for as long as the
 * client likes, so without a cap of its own one client could hold every
 * concurrency slot and starve the short requests. `max` is kept below
 * MAX_CONCURRENT_REQUESTS by the configuration, so some slots always remain
 * for ordinary requests.
 */

export type StreamRefusal = "per_client" | "total";

export type StreamAdmission =
  | { readonly admitted: true; readonly release: () => void }
  | { readonly admitted: false; readonly reason: StreamRefusal };

export interface StreamLimiter {
  /** Takes a slot for `client` (a certificate fingerprint); release exactly once when the stream ends (later calls do nothing). */
  tryAcquire(client: string): StreamAdmission;
  readonly active: number;
  readonly max: number;
  readonly maxPerClient: number;
}

export function createStreamLimiter({ max, maxPerClient }: { max: number; maxPerClient: number }): StreamLimiter {
  for (const [name, value] of [["max", max], ["maxPerClient", maxPerClient]] as const) {
    if (!(Number.isSafeInteger(value) && value >= 1)) throw new RangeError(`${name} must be a whole number ≥ 1, got ${value}`);
  }
  let active = 0;
  const perClient = new Map<string, number>();
  return {
    max,
    maxPerClient,
    get active() {
      return active;
    },
    tryAcquire(client) {
      const held = perClient.get(client) ?? 0;
      if (held >= maxPerClient) return { admitted: false, reason: "per_client" };
      if (active >= max) return { admitted: false, reason: "total" };
      active++;
      perClient.set(client, held + 1);
      let released = false;
      return {
        admitted: true,
        release: () => {
          if (released) return;
          released = true;
          active--;
          const left = (perClient.get(client) ?? 1) - 1;
          // Forget clients without streams, so the map is bounded by the streams open, not by every client ever seen.
          if (left <= 0) perClient.delete(client);
          else perClient.set(client, left);
        },
      };
    },
  };
}
