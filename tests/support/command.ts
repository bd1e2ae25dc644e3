/** Runs a command to completion and captures its output; shared by the integration harness and the benchmarks. */

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  stdin?: string;
  env?: Record<string, string>;
  /** Let stderr through to ours instead of capturing it (long-running scripts whose progress matters). */
  passStderr?: boolean;
}

export async function run(cmd: string, args: string[], options: RunOptions = {}): Promise<CommandResult> {
  const child = new Deno.Command(cmd, {
    args,
    env: options.env,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: options.passStderr ? "inherit" : "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(options.stdin));
    await w.close();
  }
  const out = await child.output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: options.passStderr ? "" : dec.decode(out.stderr) };
}
