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
import { ceilingAddress, ceilingBody, ceilingEnv, ceilingTls } from "./_ceiling_config.ts";

const env = (name: string, fallback?: string) => ceilingEnv("ceiling_server", name, fallback);
const body = ceilingBody("ceiling_server");
const extraHeaders = Object.entries(JSON.parse(env("CEILING_HEADERS", "{}")) as Record<string, string>);
const [hostname, port] = ceilingAddress("ceiling_server");

const server = https.createServer(ceilingTls("ceiling_server"), (_req: IncomingMessage, res: ServerResponse) => {
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
