/**
 * Reads the `NAME=value` files tests/cluster/up.sh writes (cluster.env): the
 * integration harness and the benchmarks both need the control plane's settings.
 */

/** The variables of an env file; surrounding quotes are removed, other lines ignored. */
export function parseEnvFile(text: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) vars[m[1]] = m[2].replace(/^["']|["']$/g, "");
  }
  return vars;
}
