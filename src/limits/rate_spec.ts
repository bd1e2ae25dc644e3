/**
 * The text form of a rate limit setting (RATE_LIMIT_READS, RATE_LIMIT_WRITES):
 * `<count>/<s|m|h>` with an optional `,burst=<count>`, or `off`.
 *
 *   50/s             50 per second, bursts of 50
 *   120/m,burst=20   2 per second on average, 20 at once
 *   off              no limit
 */

export interface RateSpec {
  readonly ratePerSecond: number;
  readonly burst: number;
}

const SPEC = /^(\d+(?:\.\d+)?)\s*\/\s*(s|m|h)(?:\s*,\s*burst\s*=\s*(\d+))?$/;
const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/**
 * Parses a rate limit setting; null means no limit. The burst defaults to
 * one second's worth of requests, at least 1. Throws RangeError with a
 * message meant to follow the setting's name.
 */
export function parseRateSpec(raw: string): RateSpec | null {
  const text = raw.trim().toLowerCase();
  if (text === "off") return null;
  const match = SPEC.exec(text);
  if (!match) {
    throw new RangeError(`"${raw}" is not a rate: use <count>/s, /m or /h, optionally ",burst=<count>" (e.g. 50/s,burst=100), or off`);
  }
  const ratePerSecond = Number(match[1]) / SECONDS[match[2]];
  if (ratePerSecond <= 0) throw new RangeError(`"${raw}" allows nothing; use off to disable the limit`);
  const burst = match[3] === undefined ? Math.max(1, Math.ceil(ratePerSecond)) : Number(match[3]);
  if (burst < 1 || !Number.isSafeInteger(burst)) throw new RangeError(`"${raw}": burst must be at least 1`);
  return Object.freeze({ ratePerSecond, burst });
}
