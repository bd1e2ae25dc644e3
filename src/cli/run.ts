/**
 * The CLI as a function: argv and injected surroundings in, exit code out.
 * Every failure ends here, as one "error: ..." line and the exit code
 * errors.ts assigns to it; nothing thrown reaches the runtime.
 */
import { ApiClient, type Fetch } from "./api_client.ts";
import { type CliEnv, type Command, parseArgs } from "./args.ts";
import { warnIfExpiring } from "./cert_expiry.ts";
import { configCommand } from "./config_command.ts";
import { configFilePath, lookupConfig } from "./config_file.ts";
import type { ConnectionSettings } from "./connection_settings.ts";
import { openConnection } from "./connection.ts";
import { ApiError, errorMessage, EXIT_OK, exitCodeFor, UsageError } from "./errors.ts";
import { deploymentDetail, deploymentTable, formatJson, revisionsTable, whoamiReport } from "./format.ts";
import { helpText } from "./help.ts";
import type { CliIo, Clock } from "./output.ts";
import { operationCommand } from "./operation.ts";
import { scaleCommand } from "./scale.ts";
import { watchCommand, type WatchOptions } from "./watch.ts";

export interface CliDeps {
  readonly io: CliIo;
  readonly env: CliEnv;
  readonly cwd: string;
  readonly defaultCertDir: string;
  readonly version: string;
  readonly clock: Clock;
  /** Builds the transport; default: the PEM files and a Deno.HttpClient (connection.ts). */
  readonly connect?: (settings: ConnectionSettings) => Promise<{ fetch: Fetch; close(): void }>;
  readonly watch?: WatchOptions;
}

export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  const { io } = deps;
  // For the hint after a failure: what was being done.
  let attempted: Command | undefined;
  try {
    // Read up front (a missing or broken file is not an error yet): parsing is pure and resolves contexts from it.
    const config = await lookupConfig(configFilePath(deps.env));
    const { command, connection } = parseArgs(argv, { ...deps, config });
    attempted = command;
    if (command.kind === "help") {
      io.out(helpText(command.topic));
      return EXIT_OK;
    }
    if (command.kind === "version") {
      io.out(`replica-api CLI ${deps.version}`);
      return EXIT_OK;
    }
    if (command.kind === "config") {
      await configCommand(command.action, config, io, deps.env.REPLICA_API_CONTEXT);
      return EXIT_OK;
    }
    if (connection === undefined) throw new Error(`no connection settings for ${command.kind}`);
    // Once per run, here, before the first request: a watch that reconnects for hours does not repeat it.
    await warnIfExpiring(connection.cert, io, deps.clock.now());
    const transport = await (deps.connect ?? openConnection)(connection);
    try {
      const client = new ApiClient({ baseUrl: connection.url, fetch: transport.fetch });
      switch (command.kind) {
        case "list": {
          const items = await client.list(command.namespace);
          if (command.output === "json") io.out(formatJson({ items }));
          else if (items.length === 0) {
            io.err(command.namespace === undefined ? "No Deployments found." : `No Deployments in ${command.namespace}.`);
          } else io.out(deploymentTable(items));
          break;
        }
        case "get": {
          const { body } = await client.get(command.namespace, command.name);
          io.out(command.output === "json" ? formatJson(body) : deploymentDetail(body));
          break;
        }
        case "scale":
          await scaleCommand(command, client, io, deps.clock);
          break;
        case "restart":
        case "pause":
        case "resume":
        case "undo":
        case "set-image":
          await operationCommand(command, client, io, deps.clock);
          break;
        case "history": {
          const body = await client.revisions(command.namespace, command.name);
          if (command.output === "json") io.out(formatJson(body));
          else if (body.revisions.length === 0) io.err(`No revisions of ${command.namespace}/${command.name}.`);
          else io.out(revisionsTable(body));
          break;
        }
        case "watch":
          await watchCommand(command, client, io, deps.clock, deps.watch);
          break;
        case "whoami": {
          const body = await client.whoami();
          io.out(command.output === "json" ? formatJson(body) : whoamiReport(body));
          break;
        }
      }
    } finally {
      transport.close();
    }
    return EXIT_OK;
  } catch (error) {
    io.err(`error: ${errorMessage(error)}`);
    if (error instanceof UsageError) io.err("Run 'replica-api help' for usage.");
    const hint = hintFor(attempted, error);
    if (hint) io.err(`hint: ${hint}`);
    return exitCodeFor(error);
  }
}

const ROLLOUT_COMMANDS: readonly Command["kind"][] = ["restart", "pause", "resume", "undo", "set-image", "history"];

/** What to try next, for the failures where the next step is not obvious from the error alone. */
function hintFor(command: Command | undefined, error: unknown): string | undefined {
  if (!(error instanceof ApiError)) return undefined;
  if (command?.kind === "scale" && !command.force && error.status === 409 && /autoscaler/i.test(error.message)) {
    return "--force scales anyway; the autoscaler may change it back";
  }
  // The API's detail names the HTTP call; the hint names the command that does it.
  if ((command?.kind === "restart" || command?.kind === "undo") && error.status === 409 && /\bpaused\b/i.test(error.message)) {
    return `replica-api resume ${command.namespace}/${command.name} resumes it; then run ${command.kind} again`;
  }
  // The router's own 404, not one of a Deployment, container or revision: a service from before these commands.
  if (command && ROLLOUT_COMMANDS.includes(command.kind) && error.status === 404 && /^no such endpoint/.test(error.message)) {
    return "the service at --url may be older than the rollout operations (restart, pause, resume, undo, set-image, history)";
  }
  // A 404 on this fixed path can only mean there is no such route: a service from before whoami.
  if (command?.kind === "whoami" && error.status === 404) return "the service at --url may be older than GET /api/v1/whoami";
  return undefined;
}
