/**
 * Command-line parsing for the CLI: a pure function from argv and the
 * environment to one validated invocation, or a UsageError naming what is
 * wrong. Flags may stand before or after the command; `--` ends them.
 */
import { type ConfigAction, parseConfigAction } from "./config_command.ts";
import type { ConfigEnv, ConfigLookup } from "./config_file.ts";
import { type ConnectionSettings, connectionSettings } from "./connection_settings.ts";
import { UsageError } from "./errors.ts";

export type OutputFormat = "table" | "json";

export type Command =
  | { readonly kind: "help"; readonly topic?: CommandName }
  | { readonly kind: "version" }
  | { readonly kind: "list"; readonly namespace?: string; readonly output: OutputFormat }
  | { readonly kind: "get"; readonly namespace: string; readonly name: string; readonly output: OutputFormat }
  | {
    readonly kind: "scale";
    readonly namespace: string;
    readonly name: string;
    readonly replicas: number;
    readonly wait: boolean;
    readonly timeoutMs: number;
    readonly ifMatch?: string;
    readonly dryRun: boolean;
    readonly force: boolean;
    readonly output: OutputFormat;
  }
  | { readonly kind: "watch"; readonly namespace?: string; readonly output: OutputFormat }
  | { readonly kind: "whoami"; readonly output: OutputFormat }
  | { readonly kind: "config"; readonly action: ConfigAction };

export type CommandName = "list" | "get" | "scale" | "watch" | "whoami" | "config" | "help";
export const COMMANDS: readonly CommandName[] = ["list", "get", "scale", "watch", "whoami", "config", "help"];
/** The commands that talk to the API, and so present the client certificate. */
const CONNECTING: readonly CommandName[] = ["list", "get", "scale", "watch", "whoami"];

export interface Invocation {
  readonly command: Command;
  /** For the commands that talk to the API only. */
  readonly connection?: ConnectionSettings;
}

/** The variables the CLI reads; everything else in the environment is ignored. */
export interface CliEnv extends ConfigEnv {
  readonly REPLICA_API_URL?: string;
  readonly REPLICA_API_CERT?: string;
  readonly REPLICA_API_KEY?: string;
  readonly REPLICA_API_CACERT?: string;
  readonly REPLICA_API_CONTEXT?: string;
}

export interface ParseContext {
  readonly env: CliEnv;
  /** Relative paths from flags and variables are resolved against this directory. */
  readonly cwd: string;
  /** Directory of the dev PKI (`make certs`), used when no certificate setting is given. */
  readonly defaultCertDir: string;
  /** The config file with the contexts, as read before parsing; none when not given. */
  readonly config?: ConfigLookup;
}

export const DEFAULT_TIMEOUT_MS = 60_000;

interface FlagSpec {
  readonly takesValue: boolean;
  /** Commands that accept it; undefined = every command. */
  readonly commands?: readonly CommandName[];
}

const FLAGS: Readonly<Record<string, FlagSpec>> = {
  "--url": { takesValue: true },
  "--cert": { takesValue: true },
  "--key": { takesValue: true },
  "--cacert": { takesValue: true },
  "--context": { takesValue: true, commands: CONNECTING },
  "--help": { takesValue: false },
  "--version": { takesValue: false },
  "--namespace": { takesValue: true, commands: ["list", "watch"] },
  "--output": { takesValue: true, commands: ["list", "get", "scale", "watch", "whoami"] },
  "--wait": { takesValue: false, commands: ["scale"] },
  "--timeout": { takesValue: true, commands: ["scale"] },
  "--if-match": { takesValue: true, commands: ["scale"] },
  "--dry-run": { takesValue: false, commands: ["scale"] },
  "--force": { takesValue: false, commands: ["scale"] },
};

const SHORT: Readonly<Record<string, string>> = { "-n": "--namespace", "-o": "--output", "-h": "--help" };

/** Parses argv; throws UsageError with a message that names the offending argument. */
export function parseArgs(argv: readonly string[], context: ParseContext): Invocation {
  const { flags, positionals } = tokenize(argv);
  const [name, ...operands] = positionals;

  if (flags.has("--version")) return { command: { kind: "version" } };
  if (name === undefined) {
    if (flags.has("--help")) return { command: { kind: "help" } };
    throw new UsageError("no command given");
  }
  if (!isCommandName(name)) throw new UsageError(`unknown command "${name}"; commands: ${COMMANDS.join(", ")}`);
  if (flags.has("--help")) return { command: { kind: "help", topic: name === "help" ? undefined : name } };
  for (const flag of flags.keys()) {
    const allowed = FLAGS[flag].commands;
    if (allowed && !allowed.includes(name)) throw new UsageError(`${flag} does not apply to "${name}"`);
  }
  const parsed = command(name, operands, flags, context);
  // Settings are resolved (and the config file consulted) only for commands that use them.
  return CONNECTING.includes(name) ? { command: parsed, connection: connectionSettings(flags, context) } : { command: parsed };
}

function command(
  name: CommandName,
  operands: readonly string[],
  flags: ReadonlyMap<string, string | true>,
  context: ParseContext,
): Command {
  const value = (flag: string) => flags.get(flag) as string | undefined;
  const output = outputFormat(value("--output"));
  const namespace = value("--namespace");
  if (namespace !== undefined && namespace === "") throw new UsageError("--namespace must not be empty");
  switch (name) {
    case "help": {
      expectOperands(name, operands, 0, 1, "[COMMAND]");
      const topic = operands[0];
      if (topic !== undefined && !isCommandName(topic)) throw new UsageError(`no help for unknown command "${topic}"`);
      return { kind: "help", topic };
    }
    case "list":
      expectOperands(name, operands, 0, 0, "[-n NAMESPACE]");
      return { kind: "list", namespace, output };
    case "watch":
      expectOperands(name, operands, 0, 0, "[-n NAMESPACE]");
      return { kind: "watch", namespace, output };
    case "get": {
      expectOperands(name, operands, 1, 1, "NAMESPACE/NAME");
      return { kind: "get", ...target(operands[0]), output };
    }
    case "scale": {
      expectOperands(name, operands, 2, 2, "NAMESPACE/NAME REPLICAS");
      const wait = flags.has("--wait");
      const dryRun = flags.has("--dry-run");
      const timeout = value("--timeout");
      if (timeout !== undefined && !wait) throw new UsageError("--timeout only applies with --wait");
      if (wait && dryRun) throw new UsageError("--wait cannot be combined with --dry-run: a dry run changes nothing to wait for");
      return {
        kind: "scale",
        ...target(operands[0]),
        replicas: replicaCount(operands[1]),
        wait,
        timeoutMs: timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(timeout, "--timeout"),
        ifMatch: ifMatchHeader(value("--if-match")),
        dryRun,
        force: flags.has("--force"),
        output,
      };
    }
    case "whoami":
      expectOperands(name, operands, 0, 0, "[-o table|json]");
      return { kind: "whoami", output };
    case "config":
      return { kind: "config", action: parseConfigAction(operands, flags, context.cwd) };
  }
}

/** Splits argv into flags (long names, last one wins) and positionals. */
function tokenize(argv: readonly string[]): { flags: Map<string, string | true>; positionals: string[] } {
  const flags = new Map<string, string | true>();
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    // "-1" is a (bad) replica count, not a flag: let the operand check say so.
    if (!arg.startsWith("-") || arg === "-" || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    let flag: string;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      [flag, inline] = eq === -1 ? [arg, undefined] : [arg.slice(0, eq), arg.slice(eq + 1)];
    } else {
      // -n demo, -ndemo, -n=demo
      const long = SHORT[arg.slice(0, 2)];
      if (long === undefined) throw new UsageError(`unknown flag ${arg.slice(0, 2)}`);
      flag = long;
      const rest = arg.slice(2);
      inline = rest === "" ? undefined : rest.startsWith("=") ? rest.slice(1) : rest;
    }
    const spec = FLAGS[flag];
    if (spec === undefined) throw new UsageError(`unknown flag ${flag}`);
    if (!spec.takesValue) {
      if (inline !== undefined) throw new UsageError(`${flag} takes no value`);
      flags.set(flag, true);
      continue;
    }
    if (inline === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
      inline = argv[++i];
    }
    flags.set(flag, inline);
  }
  return { flags, positionals };
}

function isCommandName(name: string): name is CommandName {
  return (COMMANDS as readonly string[]).includes(name);
}

function expectOperands(name: string, operands: readonly string[], min: number, max: number, usage: string): void {
  if (operands.length < min) throw new UsageError(`${name} needs ${usage}`);
  if (operands.length > max) throw new UsageError(`unexpected argument "${operands[max]}" for ${name} (usage: ${name} ${usage})`);
}

function outputFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === "table") return "table";
  if (value === "json") return "json";
  throw new UsageError(`--output must be "table" or "json", not "${value}"`);
}

/** NAMESPACE/NAME; the names themselves are checked by the API, which says what a valid name is. */
function target(value: string): { namespace: string; name: string } {
  const parts = value.split("/");
  if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
    throw new UsageError(`expected NAMESPACE/NAME (e.g. demo/web), not "${value}"`);
  }
  return { namespace: parts[0], name: parts[1] };
}

function replicaCount(value: string): number {
  const count = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(count)) throw new UsageError(`REPLICAS must be a whole number ≥ 0, not "${value}"`);
  return count;
}

/** `500ms`, `30s`, `2m`, `1h` or plain seconds; more than zero. */
export function parseDuration(value: string, flag: string): number {
  const match = /^(\d{1,9})(ms|s|m|h)?$/.exec(value);
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match?.[2] ?? "s"] ?? 1000;
  const ms = match ? Number(match[1]) * factor : NaN;
  if (!(ms > 0)) throw new UsageError(`${flag} must be a duration like 500ms, 30s, 5m or 1h, more than zero; not "${value}"`);
  return ms;
}

/** An ETag as the API prints it ("123"), or the bare resourceVersion (123), or *; always sent quoted. */
function ifMatchHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const tag = value.trim();
  if (tag === "*" || /^(W\/)?"[\x21\x23-\x7e]*"$/.test(tag)) return tag;
  if (/^[A-Za-z0-9._-]+$/.test(tag)) return `"${tag}"`;
  throw new UsageError(`--if-match must be an ETag such as "12345" (or the bare resourceVersion 12345), not ${JSON.stringify(value)}`);
}
