/**
 * `replica-api config ...`: kubectl config's verbs for the contexts of the
 * CLI's config file (get-contexts, current-context, use-context, set-context,
 * delete-context). Parsing is pure and lives here with the verbs, so args.ts
 * only hands the operands over; running reads the file as runCli found it and
 * writes it back whole.
 */
import { parseBaseUrl } from "./base_url.ts";
import { type ConfigFile, type ConfigLookup, type ContextEntry, contextNameProblem, writeConfigFile } from "./config_file.ts";
import { joinPath } from "./connection_settings.ts";
import { CliFailure, UsageError } from "./errors.ts";
import { formatTable } from "./format.ts";
import type { CliIo } from "./output.ts";

export type ConfigAction =
  | { readonly verb: "get-contexts" | "current-context" }
  | { readonly verb: "use-context" | "delete-context"; readonly name: string }
  /** Only the fields given change; paths are absolute (taken from the working directory). */
  | { readonly verb: "set-context"; readonly name: string; readonly fields: ContextEntry };

const VERBS = ["get-contexts", "current-context", "use-context", "set-context", "delete-context"] as const;
const FIELD_FLAGS = { "--url": "url", "--cert": "cert", "--key": "key", "--cacert": "cacert" } as const;
const USAGE = `${VERBS.join(" | ")} (see replica-api help config)`;

/** The operands after `config`, and the flags given; throws UsageError. */
export function parseConfigAction(operands: readonly string[], flags: ReadonlyMap<string, string | true>, cwd: string): ConfigAction {
  const [verb, ...rest] = operands;
  if (verb === undefined) throw new UsageError(`config needs one of ${USAGE}`);
  if (!isVerb(verb)) throw new UsageError(`unknown config command "${verb}"; ${USAGE}`);
  const usage = verb === "set-context" ? "NAME [--url URL] [--cert FILE] [--key FILE] [--cacert FILE]" : "NAME";
  if (verb !== "set-context") {
    // Outside set-context they would connect nowhere: refuse rather than ignore them.
    const flag = Object.keys(FIELD_FLAGS).find((f) => flags.has(f));
    if (flag) throw new UsageError(`${flag} does not apply to "config ${verb}"`);
  }
  if (verb === "get-contexts" || verb === "current-context") {
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}" for config ${verb}`);
    return { verb };
  }
  if (rest.length === 0) throw new UsageError(`config ${verb} needs ${usage}`);
  if (rest.length > 1) throw new UsageError(`unexpected argument "${rest[1]}" for config ${verb} (usage: config ${verb} ${usage})`);
  const name = rest[0];
  const problem = contextNameProblem(name);
  if (problem) throw new UsageError(problem);
  if (verb !== "set-context") return { verb, name };
  const fields: { -readonly [F in keyof ContextEntry]: string } = {};
  for (const [flag, field] of Object.entries(FIELD_FLAGS)) {
    const value = flags.get(flag) as string | undefined;
    if (value === undefined) continue;
    if (value === "") throw new UsageError(`${flag} must not be empty`);
    if (field === "url") {
      const url = parseBaseUrl(value);
      if (url.problem !== undefined) throw new UsageError(`--url ${url.problem}`);
      fields.url = url.url;
    } else {
      // Typed relative to where the user is; stored absolute, so the file means the same from anywhere.
      fields[field] = joinPath(cwd, value);
    }
  }
  return { verb, name, fields };
}

/**
 * Runs one verb against the file runCli looked up. `overriddenBy` is REPLICA_API_CONTEXT: the verbs show and change
 * the file, and say so when the environment picks another context for the other commands.
 */
export async function configCommand(action: ConfigAction, lookup: ConfigLookup, io: CliIo, overriddenBy?: string): Promise<void> {
  if (lookup.kind === "none") throw new CliFailure(`cannot find the config file: ${lookup.why}`);
  if (lookup.kind === "unusable") throw lookup.error;
  const { path } = lookup;
  const file: ConfigFile = lookup.kind === "loaded" ? lookup.file : { contexts: new Map() };
  const note = () => {
    if (overriddenBy && overriddenBy !== file.currentContext) {
      io.err(`replica-api: note: REPLICA_API_CONTEXT=${JSON.stringify(overriddenBy)} overrides the current context in this environment`);
    }
  };
  const existing = (name: string) => {
    const entry = file.contexts.get(name);
    if (entry) return entry;
    const names = [...file.contexts.keys()];
    throw new UsageError(`context "${name}" is not in ${path}; ${names.length ? `it has ${names.join(", ")}` : "it has none"}`);
  };
  switch (action.verb) {
    case "get-contexts": {
      if (file.contexts.size === 0) {
        io.err(`No contexts in ${path}.`);
        break;
      }
      const dir = path.slice(0, path.lastIndexOf("/"));
      const shown = (value: string | undefined) => value === undefined ? "" : joinPath(dir, value);
      const rows = [...file.contexts].map(([name, c]) => [name === file.currentContext ? "*" : "", name, c.url ?? "", shown(c.cert)]);
      io.out(formatTable(["CURRENT", "NAME", "URL", "CERT"], rows));
      note();
      break;
    }
    case "current-context": {
      if (file.currentContext === undefined) {
        throw new CliFailure(`no current context is set in ${path} (\`replica-api config use-context NAME\` sets one)`);
      }
      io.out(file.currentContext);
      note();
      break;
    }
    case "use-context": {
      existing(action.name);
      await writeConfigFile(path, { ...file, currentContext: action.name });
      io.out(`Switched to context "${action.name}".`);
      note();
      break;
    }
    case "set-context": {
      const before = file.contexts.get(action.name);
      const contexts = new Map(file.contexts).set(action.name, { ...before, ...action.fields });
      await writeConfigFile(path, { ...file, contexts });
      io.out(`Context "${action.name}" ${before ? "modified" : "created"}.`);
      break;
    }
    case "delete-context": {
      existing(action.name);
      const contexts = new Map(file.contexts);
      contexts.delete(action.name);
      const wasCurrent = file.currentContext === action.name;
      await writeConfigFile(path, { contexts, currentContext: wasCurrent ? undefined : file.currentContext });
      io.out(`Deleted context "${action.name}" from ${path}.`);
      if (wasCurrent) {
        io.err(`replica-api: warning: "${action.name}" was the current context; none is now (\`replica-api config use-context NAME\`)`);
      }
      break;
    }
  }
}

function isVerb(value: string): value is typeof VERBS[number] {
  return (VERBS as readonly string[]).includes(value);
}
