/**
 * Small parsers for setting values. Each throws ConfigError naming the setting,
 * so a typo fails fast at start with one line that says where to look.
 */
import { ConfigError } from "./config_error.ts";

export interface ListenAddress {
  readonly hostname: string;
  readonly port: number;
}

/** "host:port", "[v6]:port" or ":port" (all interfaces). Port 0 means "pick one" (tests). */
export function parseAddress(setting: string, raw: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\[\]]*)):(\d{1,5})$/.exec(raw.trim());
  if (!match) throw new ConfigError(setting, `"${raw}" is not host:port`);
  const hostname = match[1] ?? (match[2] || "0.0.0.0");
  const port = Number(match[3]);
  if (port > 65535) throw new ConfigError(setting, `port ${port} is out of range 0-65535`);
  if (match[2] !== undefined && match[2] !== "" && !/^[A-Za-z0-9.-]+$/.test(match[2])) {
    throw new ConfigError(setting, `"${match[2]}" is not a valid host name or IPv4 address`);
  }
  return Object.freeze({ hostname, port });
}

/** Durations: "250ms", "5s", "2m", or a bare number of seconds. Returns milliseconds. */
export function parseDuration(setting: string, raw: string, opts: { minMs?: number; maxMs?: number } = {}): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw.trim());
  if (!match) throw new ConfigError(setting, `"${raw}" is not a duration (examples: 500ms, 5s, 2m)`);
  const value = Number(match[1]);
  const unit = match[2] ?? "s";
  const ms = Math.round(unit === "ms" ? value : unit === "s" ? value * 1000 : value * 60_000);
  if (opts.minMs !== undefined && ms < opts.minMs) throw new ConfigError(setting, `${raw} is below the minimum of ${opts.minMs} ms`);
  if (opts.maxMs !== undefined && ms > opts.maxMs) throw new ConfigError(setting, `${raw} is above the maximum of ${opts.maxMs} ms`);
  return ms;
}

export function parseInteger(setting: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(setting, `"${raw}" is not a whole number`);
  const value = Number(raw.trim());
  if (value < min || value > max) throw new ConfigError(setting, `${value} is outside ${min}-${max}`);
  return value;
}

/** A cap that can be switched off: a whole number in min-max, or "off" (null). Zero is refused: it would mean "nothing at all". */
export function parseLimit(setting: string, raw: string, min: number, max: number): number | null {
  const text = raw.trim().toLowerCase();
  if (text === "off") return null;
  if (text === "0") throw new ConfigError(setting, `0 would refuse everything; use off for no limit`);
  if (!/^\d+$/.test(text)) throw new ConfigError(setting, `"${raw}" is not a whole number or off`);
  return parseInteger(setting, text, min, max);
}

export function parseBoolean(setting: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(v)) return true;
  if (["0", "false", "no", "off"].includes(v)) return false;
  throw new ConfigError(setting, `"${raw}" is not a boolean (true/false)`);
}
