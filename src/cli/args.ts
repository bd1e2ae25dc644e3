/**
 * Command-line parsing for the CLI: a pure function from argv and the
 * environment to one validated invocation, or a UsageError naming what is
 * wrong. Flags may stand before or after the command; `--` ends them.
 */
import { type ConfigAction, parseConfigAction } from "./config_command.ts";
import type { ConfigEnv, ConfigLookup } from "./config_file.ts";
import { type ConnectionSettings, connectionSettings } from "./connection_settings.ts";
import {
  expectOperands,
  ifMatchHeader,
  imagePair,
  type OutputFormat,
  outputFormat,
  parseDuration,
  replicaCount,
  revisionNumber,
  target,
} from "./arg_values.ts";
import { UsageError } from "./errors.ts";

interface Target {
  readonly namespace: string;
  readonly name: string;
}

/** What every write takes besides its own operands: scale and each rollout operation. */
export interface WriteFlags {
  readonly wait: boolean;
  readonly timeoutMs: number;
  readonly ifMatch?: string;
  readonly dryRun: boolean;
  readonly output: OutputFormat;
}

/** The rollout operations: writes of the pod template or spec.paused, never of the replica count. */
export type OperationCommand =
  | (Target & WriteFlags & { readonly kind: "restart" | "pause" | "resume" })
  | (Target & WriteFlags & { readonly kind: "undo"; readonly toRevision?: number })
  | (Target & WriteFlags & { readonly kind: "set-image"; readonly container: string; readonly image: string });

export type Command =
  | { readonly kind: "help"; readonly topic?: CommandName }
  | { readonly kind: "version" }
  | { readonly kind: "list"; readonly namespace?: string; readonly output: OutputFormat }
  | { readonly kind: "get"; readonly namespace: string; readonly name: string; readonly output: OutputFormat }
  | (Target & WriteFlags & { readonly kind: "scale"; readonly replicas: number; readonly force: boolean })
  | OperationCommand
  | { readonly kind: "history"; readonly namespace: string; readonly name: string; readonly output: OutputFormat }
  | { readonly kind: "watch"; readonly namespace?: string; readonly output: OutputFormat }
  | { readonly kind: "whoami"; readonly output: OutputFormat }
  | { readonly kind: "config"; readonly action: ConfigAction };

/** Every command, in the order help and the unknown-command error list them. */
export const COMMANDS = [
  "list",
  "get",
  "scale",
  "restart",
  "pause",
  "resume",
  "undo",
  "history",
  "set-image",
  "watch",
  "whoami",
  "config",
  "help",
] as const;
export type CommandName = typeof COMMANDS[number];
/** The writes: each takes --wait, --timeout, --if-match and --dry-run. */
const WRITES: readonly CommandName[] = ["scale", "restart", "pause", "resume", "undo", "set-image"];
/** The commands that talk to the API, and so present the client certificate. */
const CONNECTING: readonly CommandName[] = ["list", "get", ...WRITES, "history", "watch", "whoami"];

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
  "--output": { takesValue: true, commands: ["list", "get", ...WRITES, "history", "watch", "whoami"] },
  "--wait": { takesValue: false, commands: WRITES },
  // Not pause: it takes no --wait, so a timeout would be a second error to find after the first.
  "--timeout": { takesValue: true, commands: WRITES.filter((c) => c !== "pause") },
  "--if-match": { takesValue: true, commands: WRITES },
  "--dry-run": { takesValue: false, commands: WRITES },
  "--force": { takesValue: false, commands: ["scale"] },
  "--to-revision": { takesValue: true, commands: ["undo"] },
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
    case "scale":
      expectOperands(name, operands, 2, 2, "NAMESPACE/NAME REPLICAS");
      return {
        kind: "scale",
        ...target(operands[0]),
        replicas: replicaCount(operands[1]),
        ...writeFlags(name, flags, output),
        force: flags.has("--force"),
      };
    case "restart":
    case "pause":
    case "resume":
      expectOperands(name, operands, 1, 1, "NAMESPACE/NAME");
      return { kind: name, ...target(operands[0]), ...writeFlags(name, flags, output) };
    case "undo": {
      expectOperands(name, operands, 1, 1, "NAMESPACE/NAME [--to-revision N]");
      const revision = value("--to-revision");
      const toRevision = revision === undefined ? undefined : revisionNumber(revision);
      return { kind: "undo", ...target(operands[0]), toRevision, ...writeFlags(name, flags, output) };
    }
    case "set-image": {
      const pairs = operands.slice(1);
      if (pairs.length > 1 && pairs.every((p) => p.includes("="))) {
        throw new UsageError(
          `set-image takes exactly one CONTAINER=IMAGE, got ${pairs.length} (${pairs.join(" ")}): ` +
            "the API sets one container per request; run set-image once per container",
        );
      }
      expectOperands(name, operands, 2, 2, "NAMESPACE/NAME CONTAINER=IMAGE");
      return { kind: "set-image", ...target(operands[0]), ...imagePair(operands[1]), ...writeFlags(name, flags, output) };
    }
    case "history":
      expectOperands(name, operands, 1, 1, "NAMESPACE/NAME");
      return { kind: "history", ...target(operands[0]), output };
    case "whoami":
      expectOperands(name, operands, 0, 0, "[-o table|json]");
      return { kind: "whoami", output };
    case "config":
      return { kind: "config", action: parseConfigAction(operands, flags, context.cwd) };
  }
}

/** --wait, --timeout, --if-match, --dry-run and -o of a write, with the combinations that cannot mean anything refused. */
function writeFlags(name: CommandName, flags: ReadonlyMap<string, string | true>, output: OutputFormat): WriteFlags {
  const wait = flags.has("--wait");
  const dryRun = flags.has("--dry-run");
  const timeout = flags.get("--timeout") as string | undefined;
  if (wait && name === "pause") {
    throw new UsageError("--wait does not apply to pause: a paused Deployment does not roll out (resume --wait follows the rollout)");
  }
  if (timeout !== undefined && !wait) throw new UsageError("--timeout only applies with --wait");
  if (wait && dryRun) throw new UsageError("--wait cannot be combined with --dry-run: a dry run changes nothing to wait for");
  return {
    wait,
    timeoutMs: timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(timeout, "--timeout"),
    ifMatch: ifMatchHeader(flags.get("--if-match") as string | undefined),
    dryRun,
    output,
  };
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
