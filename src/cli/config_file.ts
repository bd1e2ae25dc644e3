/**
 * The CLI's config file, kubeconfig-like: named contexts (url, cert, key,
 * cacert) and the current one, as JSON in the user's config directory. It is
 * read once per run and refused whole, naming the file and what is wrong, when
 * it is malformed; it is written atomically (a temporary file renamed over it)
 * with mode 0600 in a folder made 0700, since it points at private keys.
 *
 * ```json
 * { "currentContext": "dev", "contexts": { "dev": { "url": "https://localhost:8443", "cert": "alice.crt", ... } } }
 * ```
 */
import { parseBaseUrl } from "./base_url.ts";
import { CliFailure } from "./errors.ts";
import { findRepeatedKey } from "./json_repeated_key.ts";

/** One context as the file holds it: every field optional (set-context fills them in one by one); paths as written. */
export interface ContextEntry {
  readonly url?: string;
  readonly cert?: string;
  readonly key?: string;
  readonly cacert?: string;
}

export const CONTEXT_FIELDS = ["url", "cert", "key", "cacert"] as const;
export type ContextField = typeof CONTEXT_FIELDS[number];

export interface ConfigFile {
  readonly currentContext?: string;
  /** In file order; a Map, so no name (not even "constructor") can collide with an object's own properties. */
  readonly contexts: ReadonlyMap<string, ContextEntry>;
}

/** What is where the config file should be. "unusable" keeps the error: it matters only to a run that needs the file. */
export type ConfigLookup =
  | { readonly kind: "none"; readonly why: string }
  | { readonly kind: "absent"; readonly path: string }
  | { readonly kind: "loaded"; readonly path: string; readonly file: ConfigFile }
  | { readonly kind: "unusable"; readonly path: string; readonly error: CliFailure };

/** The variables that locate the file. */
export interface ConfigEnv {
  readonly XDG_CONFIG_HOME?: string;
  readonly HOME?: string;
}

const TOP_FIELDS = ["currentContext", "contexts"];
const NAME = /^[A-Za-z0-9][A-Za-z0-9._@:+-]{0,99}$/;

/** Why `name` cannot name a context (a phrase), or undefined; names stay short and safe to print in a table. */
export function contextNameProblem(name: string): string | undefined {
  if (NAME.test(name)) return undefined;
  return `${JSON.stringify(name)} is not a valid context name (letters, digits and . _ - @ : +, starting with a letter or digit, ` +
    "at most 100 characters)";
}

/** `$XDG_CONFIG_HOME/replica-api/config.json`, else `~/.config/replica-api/config.json` (XDG: a relative XDG_CONFIG_HOME is ignored). */
export function configFilePath(env: ConfigEnv): string | undefined {
  const base = env.XDG_CONFIG_HOME?.startsWith("/")
    ? env.XDG_CONFIG_HOME
    : env.HOME
    ? `${env.HOME.replace(/\/+$/, "")}/.config`
    : undefined;
  return base === undefined ? undefined : `${base.replace(/\/+$/, "")}/replica-api/config.json`;
}

/** Reads and checks the file at `path`; what goes wrong is kept in the answer, not thrown. */
export async function lookupConfig(path: string | undefined, readTextFile = Deno.readTextFile): Promise<ConfigLookup> {
  if (path === undefined) return { kind: "none", why: "neither XDG_CONFIG_HOME nor HOME is set" };
  let text: string;
  try {
    text = await readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { kind: "absent", path };
    return { kind: "unusable", path, error: new CliFailure(`cannot read the config file ${path}: ${reason(error)}`) };
  }
  try {
    return { kind: "loaded", path, file: parseConfigFile(text, path) };
  } catch (error) {
    if (error instanceof CliFailure) return { kind: "unusable", path, error };
    throw error;
  }
}

/** The file's contents, checked: JSON, no repeated names, known fields only, strings where strings belong. Throws CliFailure. */
export function parseConfigFile(text: string, path: string): ConfigFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliFailure(`the config file ${path} is not JSON: ${(error as Error).message}`);
  }
  const repeated = findRepeatedKey(text);
  if (repeated) {
    throw new CliFailure(
      `the config file ${path} has "${repeated.key}" twice in one object (line ${repeated.line}, column ${repeated.column}); ` +
        "keep one: JSON readers disagree on which one counts",
    );
  }
  const invalid = (what: string) => new CliFailure(`the config file ${path} is not valid: ${what}`);
  const top = object(value, "the top level", TOP_FIELDS, invalid);
  const current = top.currentContext;
  if (current !== undefined) {
    if (typeof current !== "string") throw invalid("currentContext must be a string (a context's name)");
    const problem = contextNameProblem(current);
    if (problem) throw invalid(`currentContext: ${problem}`);
  }
  const contexts = new Map<string, ContextEntry>();
  const listed = top.contexts === undefined ? {} : object(top.contexts, "contexts", undefined, invalid);
  for (const [name, raw] of Object.entries(listed)) {
    const problem = contextNameProblem(name);
    if (problem) throw invalid(`contexts: ${problem}`);
    const fields = object(raw, `contexts.${name}`, CONTEXT_FIELDS, invalid);
    const entry: Partial<Record<ContextField, string>> = {};
    for (const field of CONTEXT_FIELDS) {
      const v = fields[field];
      if (v === undefined) continue;
      if (typeof v !== "string" || v === "") {
        throw invalid(
          `contexts.${name}.${field} must be a non-empty string (${field === "url" ? "the API's https:// URL" : "a file path"})`,
        );
      }
      if (field === "url") {
        const url = parseBaseUrl(v);
        if (url.problem !== undefined) throw invalid(`contexts.${name}.url ${url.problem}`);
      }
      entry[field] = v;
    }
    contexts.set(name, entry);
  }
  return { currentContext: current, contexts };
}

/** The file's text: two-space indented, fields in a fixed order, a final newline. */
export function serializeConfigFile(file: ConfigFile): string {
  // Object.fromEntries defines properties, so even a name like "__proto__" (which names cannot be) stays a plain key.
  const contexts = Object.fromEntries(
    [...file.contexts].map((
      [name, entry],
    ) => [name, Object.fromEntries(CONTEXT_FIELDS.flatMap((f) => entry[f] === undefined ? [] : [[f, entry[f]]]))]),
  );
  const out = file.currentContext === undefined ? { contexts } : { currentContext: file.currentContext, contexts };
  return `${JSON.stringify(out, null, 2)}\n`;
}

/**
 * Replaces the file atomically: a reader (another replica-api run) sees the old file or the new one, never half of
 * one, and a failed write leaves the old file as it was. The temporary file sits next to it, so the rename stays
 * on one file system. A symbolic link is refused rather than replaced by a plain file, which would cut it loose.
 */
export async function writeConfigFile(path: string, file: ConfigFile): Promise<void> {
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  const cannot = (error: unknown) => new CliFailure(`cannot write the config file ${path}: ${reason(error)}`, { cause: error });
  try {
    // 0700 only for what this creates; an existing folder keeps the mode its owner gave it.
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw cannot(error);
  }
  try {
    if ((await Deno.lstat(path)).isSymlink) {
      throw new CliFailure(
        `the config file ${path} is a symbolic link; replica-api replaces the file when it writes it, which would cut the link: ` +
          "edit the file it points to by hand, or replace the link with the file",
      );
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error instanceof CliFailure ? error : cannot(error);
  }
  const temporary = `${dir}/.config.json.${crypto.randomUUID()}.tmp`;
  try {
    const bytes = new TextEncoder().encode(serializeConfigFile(file));
    const handle = await Deno.open(temporary, { write: true, createNew: true, mode: 0o600 });
    try {
      for (let written = 0; written < bytes.length;) written += await handle.write(bytes.subarray(written));
      // On disk before the rename, so a crash cannot leave an empty file under the real name.
      await handle.sync();
    } finally {
      handle.close();
    }
    // The umask may have taken bits away; this sets exactly owner read and write.
    await Deno.chmod(temporary, 0o600);
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw cannot(error);
  }
}

/** A JSON object with only the `known` fields (any, when undefined), as a null-prototype record. */
function object(
  value: unknown,
  where: string,
  known: readonly string[] | undefined,
  invalid: (what: string) => CliFailure,
): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw invalid(`${where} must be an object`);
  const record = Object.assign(Object.create(null), value) as Record<string, unknown>;
  for (const field of Object.keys(record)) {
    if (known && !known.includes(field)) {
      throw invalid(`unknown field ${JSON.stringify(field)} in ${where} (known: ${known.join(", ")})`);
    }
  }
  return record;
}

function reason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file or folder";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.IsADirectory) return "it is a folder";
  // Deno's own permission refusal (the CLI may write only in its config folder): say which permission is missing.
  if (error instanceof Deno.errors.NotCapable) return `not allowed (${(error as Error).message})`;
  return (error as Error).message;
}
