/** The settings both ceiling responders read (bench/ceiling_server.ts, bench/ceiling_workers.ts): see their headers. */

/** The environment variable `name`, else `fallback`; exits with a message naming `script` when neither is there. */
export function ceilingEnv(script: string, name: string, fallback?: string): string {
  const value = Deno.env.get(name) ?? fallback;
  if (value === undefined) {
    console.error(`${script}: ${name} is required`);
    Deno.exit(2);
  }
  return value;
}

/** CEILING_BODY as bytes (default: a body shaped like GET .../replicas). */
export function ceilingBody(script: string): Uint8Array {
  return new TextEncoder().encode(
    ceilingEnv(script, "CEILING_BODY", '{"namespace":"bench-00","name":"app-000","replicas":1,"readyReplicas":0,"availableReplicas":0}'),
  );
}

/** LISTEN_ADDR (default 127.0.0.1:0) as hostname and port. */
export function ceilingAddress(script: string): [string, number] {
  const addr = ceilingEnv(script, "LISTEN_ADDR", "127.0.0.1:0");
  const i = addr.lastIndexOf(":");
  return [addr.slice(0, i) || "0.0.0.0", Number(addr.slice(i + 1))];
}

/** The TLS options of the service's listener: TLS 1.3, a client certificate required and checked against the CA. */
export function ceilingTls(script: string) {
  return {
    cert: Deno.readTextFileSync(ceilingEnv(script, "TLS_CERT_FILE")),
    key: Deno.readTextFileSync(ceilingEnv(script, "TLS_KEY_FILE")),
    ca: Deno.readTextFileSync(ceilingEnv(script, "TLS_CLIENT_CA_FILE")),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.3" as const,
  };
}
