/**
 * Where the API is and which certificate files to present: each setting from
 * its flag, else its REPLICA_API_* variable, else the default. Pure, like
 * parseArgs, which calls it; a bad setting is a UsageError naming where it came from.
 */
import type { CliEnv, ParseContext } from "./args.ts";
import { parseBaseUrl } from "./base_url.ts";
import { UsageError } from "./errors.ts";

/** Where the API is and which certificate files to present, each with the setting it came from (for messages). */
export interface ConnectionSettings {
  readonly url: string;
  readonly cert: Setting;
  readonly key: Setting;
  readonly cacert: Setting;
}

/** A file path and where it came from: a flag (`--cert`), a variable (`REPLICA_API_CERT`) or "default". */
export interface Setting {
  readonly path: string;
  readonly source: string;
  /** How to set it, for messages: "REPLICA_API_CERT or --cert". */
  readonly howToSet: string;
}

export const DEFAULT_URL = "https://localhost:8443";

export function connectionSettings(flags: ReadonlyMap<string, string | true>, context: ParseContext): ConnectionSettings {
  const { env } = context;
  const pick = (flag: string, variable: keyof CliEnv): { value: string; source: string } | undefined => {
    const fromFlag = flags.get(flag);
    if (typeof fromFlag === "string") return { value: fromFlag, source: flag };
    const fromEnv = env[variable];
    // An empty variable counts as unset, as shells make "unset" and "empty" easy to confuse.
    if (fromEnv) return { value: fromEnv, source: variable };
    return undefined;
  };
  const file = (flag: string, variable: keyof CliEnv, defaultName: string): Setting => {
    const chosen = pick(flag, variable);
    const howToSet = `${variable} or ${flag}`;
    if (chosen === undefined) return { path: joinPath(context.defaultCertDir, defaultName), source: "default", howToSet };
    if (chosen.value === "") throw new UsageError(`${chosen.source} must not be empty`);
    return { path: joinPath(context.cwd, chosen.value), source: chosen.source, howToSet };
  };
  const url = pick("--url", "REPLICA_API_URL");
  return {
    url: baseUrl(url?.value ?? DEFAULT_URL, url?.source ?? "the default URL"),
    cert: file("--cert", "REPLICA_API_CERT", "client.crt"),
    key: file("--key", "REPLICA_API_KEY", "client.key"),
    cacert: file("--cacert", "REPLICA_API_CACERT", "ca.crt"),
  };
}

function joinPath(dir: string, path: string): string {
  return path.startsWith("/") ? path : `${dir.replace(/\/+$/, "")}/${path}`;
}

function baseUrl(value: string, source: string): string {
  const parsed = parseBaseUrl(value);
  if (parsed.problem !== undefined) throw new UsageError(`${source} ${parsed.problem}`);
  return parsed.url;
}
