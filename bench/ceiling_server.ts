/**
 * The throughput ceiling for replica-api's stack: a node:https mTLS responder
 * in Deno with the same TLS settings as the service (TLS 1.3, client
 * certificate required and verified) that answers every request with a fixed
 * JSON body and does nothing else. The service's GET endpoints cannot be faster
 * than this; `make bench` reports them as a ratio of it.
 *
 *   deno run --allow-net --allow-read --allow-env bench/ceiling_server.ts
 *
 * Environment: TLS_CERT_FILE, TLS_KEY_FILE, TLS_CLIENT_CA_FILE (required),
 * LISTEN_ADDR (default 127.0.0.1:0), CEILING_BODY (default: a body shaped like
 * GET .../replicas), CEILING_HEADERS (a JSON object of extra response headers,
 * default none: with the service's own extra headers it shows what the bigger
 * response alone costs). Prints one JSON line {"msg":"listening","api":"host:port"}.
 */
import https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";

const env = (name: string, fallback?: string): string => {
  const value = Deno.env.get(name) ?? fallback;
  if (value === undefined) {
    console.error(`ceiling_server: ${name} is required`);
    Deno.exit(2);
  }
  return value;
};

const body = new TextEncoder().encode(
  env("CEILING_BODY", '{"namespace":"bench-00","name":"app-000","replicas":1,"readyReplicas":0,"availableReplicas":0}'),
);
const extraHeaders = Object.entries(JSON.parse(env("CEILING_HEADERS", "{}")) as Record<string, string>);
const [hostname, port] = (() => {
  const addr = env("LISTEN_ADDR", "127.0.0.1:0");
  const i = addr.lastIndexOf(":");
  return [addr.slice(0, i) || "0.0.0.0", Number(addr.slice(i + 1))];
})();

const server = https.createServer({
  cert: Deno.readTextFileSync(env("TLS_CERT_FILE")),
  key: Deno.readTextFileSync(env("TLS_KEY_FILE")),
  ca: Deno.readTextFileSync(env("TLS_CLIENT_CA_FILE")),
  requestCert: true,
  rejectUnauthorized: true,
  minVersion: "TLSv1.3",
}, (_req: IncomingMessage, res: ServerResponse) => {
  res.statusCode = 200;
  res.setHeader("content-type", "application/json");
  for (const [name, value] of extraHeaders) res.setHeader(name, value);
  res.end(body); // a single end(chunk): node adds Content-Length
});
server.on("tlsClientError", (_err: Error, socket: { destroy(): void }) => socket.destroy());

server.listen(port, hostname, () => {
  const address = server.address();
  const bound = typeof address === "object" && address ? address.port : port;
  console.log(JSON.stringify({ msg: "listening", api: `${hostname}:${bound}` }));
});

const stop = () => server.close(() => Deno.exit(0));
Deno.addSignalListener("SIGTERM", stop);
Deno.addSignalListener("SIGINT", stop);
