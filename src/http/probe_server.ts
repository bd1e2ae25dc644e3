/**
 * The plain-HTTP probe listener (/livez, /readyz). Deno.serve is fine here: this
 * port carries no client authentication by design and is never exposed by a
 * Service; it must keep answering even when the mTLS side is saturated.
 */
import type { Handler } from "./types.ts";
import type { Logger } from "../observability/mod.ts";
import { nativeResponse } from "./response.ts";
import { problemResponse, toHttpError } from "./problem.ts";

export interface ProbeServer {
  readonly port: number;
  close(): Promise<void>;
}

export function startProbeServer(options: { hostname: string; port: number; handler: Handler; log: Logger }): ProbeServer {
  const server = Deno.serve({
    hostname: options.hostname,
    port: options.port,
    onListen: () => {},
    // Reached only when the handler itself throws (createApp never does): answered like every other error.
    onError: (error) => {
      options.log.error("probe request failed", { error });
      return nativeResponse(problemResponse(toHttpError(error)));
    },
  }, async (request, info) => {
    const addr = info.remoteAddr as Deno.NetAddr;
    // Deno.serve reads the native header list and body, not the getters (see nativeResponse).
    return nativeResponse(await options.handler(request, { remoteAddr: `${addr.hostname}:${addr.port}`, params: {} }));
  });
  return {
    port: (server.addr as Deno.NetAddr).port,
    close: () => server.shutdown(),
  };
}
