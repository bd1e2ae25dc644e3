/**
 * Where the API is and which certificate files to present. Each setting comes
 * from its flag, else its REPLICA_API_* variable, else the chosen context of
 * the config file, else (when no context is chosen) the dev default. Pure, like
 * parseArgs, which calls it: the config file has been read before.
 *
 * Errors follow the exit-code scheme: what the user typed or set (a bad flag or
 * variable, an unknown --context) is a UsageError; what the file says (a
 * current context it does not define, a context without a field) is a CliFailure.
 */
import type { CliEnv, ParseContext } from "./args.ts";
import { parseBaseUrl } from "./base_url.ts";
import type { ContextEntry, ContextField } from "./config_file.ts";
import { CliFailure, UsageError } from "./errors.ts";

/** Where the API is and which certificate files to present, each with the setting it came from (for messages). */
export interface ConnectionSettings {
  readonly url: string;
  readonly cert: Setting;
  readonly key: Setting;
  readonly cacert: Setting;
}

/** A file path and where it came from: a flag (`--cert`), a variable (`REPLICA_API_CERT`), `context "dev"` or "default". */
export interface Setting {
  readonly path: string;
  readonly source: string;
  /** How to set it, for messages: "REPLICA_API_CERT or --cert". */
  readonly howToSet: string;
}

export const DEFAULT_URL = "https://localhost:8443";

type Flags = ReadonlyMap<string, string | true>;

const VARIABLES: Readonly<Record<ContextField, keyof CliEnv>> = {
  url: "REPLICA_API_URL",
  cert: "REPLICA_API_CERT",
  key: "REPLICA_API_KEY",
  cacert: "REPLICA_API_CACERT",
};
const DEFAULT_FILES = { cert: "client.crt", key: "client.key", cacert: "ca.crt" } as const;

/** A context in use: its name, its fields, and the file they came from. */
interface ChosenContext {
  readonly name: string;
  readonly entry: ContextEntry;
  readonly path: string;
}

export function connectionSettings(flags: Flags, context: ParseContext): ConnectionSettings {
  const given = (field: ContextField): { value: string; source: string } | undefined => {
    const flag = `--${field}`;
    const fromFlag = flags.get(flag);
    if (typeof fromFlag === "string") {
      if (fromFlag === "") throw new UsageError(`${flag} must not be empty`);
      return { value: fromFlag, source: flag };
    }
    const variable = VARIABLES[field];
    const fromEnv = context.env[variable];
    // An empty variable counts as unset, as shells make "unset" and "empty" easy to confuse.
    if (fromEnv) return { value: fromEnv, source: variable };
    return undefined;
  };
  const settings = { url: given("url"), cert: given("cert"), key: given("key"), cacert: given("cacert") };
  // The file only matters when a setting is left to it, or a context is named explicitly.
  const chosen = chooseContext(flags, context, Object.values(settings).some((s) => s === undefined));
  const fromContext = (field: ContextField): { value: string; source: string } | undefined => {
    if (chosen === undefined) return undefined;
    const value = chosen.entry[field];
    if (value === undefined) {
      const placeholder = field === "url" ? "URL" : "FILE";
      throw new CliFailure(
        `context "${chosen.name}" in ${chosen.path} has no ${field}: add it with ` +
          `\`replica-api config set-context ${chosen.name} --${field} ${placeholder}\`, or set ${VARIABLES[field]} or --${field}`,
      );
    }
    const source = `context "${chosen.name}"`;
    return { value: field === "url" ? value : joinPath(dirname(chosen.path), value), source };
  };
  const file = (field: "cert" | "key" | "cacert"): Setting => {
    const howToSet = `${VARIABLES[field]} or --${field}`;
    const flagOrEnv = settings[field];
    if (flagOrEnv) return { path: joinPath(context.cwd, flagOrEnv.value), source: flagOrEnv.source, howToSet };
    const inContext = fromContext(field);
    if (inContext) return { path: inContext.value, source: inContext.source, howToSet };
    return { path: joinPath(context.defaultCertDir, DEFAULT_FILES[field]), source: "default", howToSet };
  };
  const url = settings.url ?? fromContext("url");
  return {
    url: baseUrl(url?.value ?? DEFAULT_URL, url?.source ?? "the default URL"),
    cert: file("cert"),
    key: file("key"),
    cacert: file("cacert"),
  };
}

/**
 * The context named by --context or REPLICA_API_CONTEXT (which must exist), else the file's current one when
 * `needed`, else none. A file that could not be read or is malformed fails the run only here, when it matters.
 */
function chooseContext(flags: Flags, context: ParseContext, needed: boolean): ChosenContext | undefined {
  const flag = flags.get("--context");
  if (flag === "") throw new UsageError("--context must not be empty");
  const named = typeof flag === "string"
    ? { name: flag, source: "--context" }
    : context.env.REPLICA_API_CONTEXT
    ? { name: context.env.REPLICA_API_CONTEXT, source: "REPLICA_API_CONTEXT" }
    : undefined;
  if (named === undefined && !needed) return undefined;
  const lookup = context.config ?? { kind: "none", why: "no config file was read" };
  if (lookup.kind === "unusable") throw lookup.error;
  if (named !== undefined) {
    const quoted = JSON.stringify(named.name);
    if (lookup.kind === "none") throw new UsageError(`${named.source} names context ${quoted}, but there is no config file: ${lookup.why}`);
    if (lookup.kind === "absent") {
      throw new UsageError(
        `context ${quoted} (${named.source}) is not defined: there is no ${lookup.path} yet ` +
          "(`replica-api config set-context NAME --url URL --cert FILE --key FILE --cacert FILE` creates it)",
      );
    }
    const entry = lookup.file.contexts.get(named.name);
    if (entry === undefined) {
      const names = [...lookup.file.contexts.keys()];
      throw new UsageError(
        `context ${quoted} (${named.source}) is not in ${lookup.path}; ${names.length ? `it has ${names.join(", ")}` : "it has none"}`,
      );
    }
    return { name: named.name, entry, path: lookup.path };
  }
  if (lookup.kind !== "loaded" || lookup.file.currentContext === undefined) return undefined;
  const name = lookup.file.currentContext;
  const entry = lookup.file.contexts.get(name);
  if (entry === undefined) {
    throw new CliFailure(
      `the current context "${name}" of ${lookup.path} is not defined there; choose another with ` +
        "`replica-api config use-context NAME` (`replica-api config get-contexts` lists them)",
    );
  }
  return { name, entry, path: lookup.path };
}

/** `path` as absolute: relative ones are taken from `dir`. */
export function joinPath(dir: string, path: string): string {
  return path.startsWith("/") ? path : `${dir.replace(/\/+$/, "")}/${path}`;
}

function dirname(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

function baseUrl(value: string, source: string): string {
  const parsed = parseBaseUrl(value);
  if (parsed.problem !== undefined) throw new UsageError(`${source} ${parsed.problem}`);
  return parsed.url;
}
