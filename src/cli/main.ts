/**
 * The replica-api CLI (`deno task cli`, bin/replica-api): wires the process
 * (arguments, the REPLICA_API_* variables and those that locate the config
 * file, stdout/stderr) to runCli and exits with its code.
 */
import { runCli } from "./run.ts";
import { realClock } from "./output.ts";
import { VERSION } from "../version.ts";

const encoder = new TextEncoder();

/** Writes a whole line; a closed pipe (`| head`) ends the CLI quietly, as it does for other Unix tools. */
function writer(file: typeof Deno.stdout): (line: string) => void {
  return (line) => {
    const bytes = encoder.encode(`${line}\n`);
    try {
      for (let written = 0; written < bytes.length;) written += file.writeSync(bytes.subarray(written));
    } catch (error) {
      if (error instanceof Deno.errors.BrokenPipe) Deno.exit(0);
      throw error;
    }
  };
}

const env = (name: string) => Deno.env.get(name);
const code = await runCli(Deno.args, {
  io: { out: writer(Deno.stdout), err: writer(Deno.stderr) },
  env: {
    REPLICA_API_URL: env("REPLICA_API_URL"),
    REPLICA_API_CERT: env("REPLICA_API_CERT"),
    REPLICA_API_KEY: env("REPLICA_API_KEY"),
    REPLICA_API_CACERT: env("REPLICA_API_CACERT"),
    REPLICA_API_CONTEXT: env("REPLICA_API_CONTEXT"),
    XDG_CONFIG_HOME: env("XDG_CONFIG_HOME"),
    HOME: env("HOME"),
  },
  // `deno task` runs in the repository root; INIT_CWD is where the user typed the command.
  cwd: env("INIT_CWD") ?? Deno.cwd(),
  defaultCertDir: new URL("../../certs", import.meta.url).pathname,
  version: VERSION,
  clock: realClock,
});
Deno.exit(code);
