/**
 * The TLS side of the CLI: reads the client certificate, key and CA files,
 * builds the Deno.HttpClient that presents them, and turns fetch's transport
 * errors into one sentence that says what to check.
 */
import type { ConnectionSettings, Setting } from "./connection_settings.ts";
import type { Fetch } from "./api_client.ts";
import { CliFailure, ConnectionError } from "./errors.ts";

export interface Connection {
  readonly fetch: Fetch;
  close(): void;
}

export type ReadTextFile = (path: string) => Promise<string>;

/** Reads and checks the three PEM files, then builds an HTTP client that presents the certificate. */
export async function openConnection(settings: ConnectionSettings, readTextFile: ReadTextFile = Deno.readTextFile): Promise<Connection> {
  // One after the other, so the first missing file is always the one reported.
  const cert = await readPem(settings.cert, "client certificate", /-----BEGIN CERTIFICATE-----/, readTextFile);
  const key = await readPem(settings.key, "client key", /-----BEGIN [A-Z ]*PRIVATE KEY-----/, readTextFile);
  const ca = await readPem(settings.cacert, "CA certificate", /-----BEGIN CERTIFICATE-----/, readTextFile);
  let client: Deno.HttpClient;
  try {
    client = Deno.createHttpClient({ cert, key, caCerts: [ca] });
  } catch (error) {
    const why = (error as Error).message;
    throw new CliFailure(
      `the client certificate ${settings.cert.path} (${settings.cert.source}) and key ${settings.key.path} (${settings.key.source}) ` +
        `cannot be used together: ${why}`,
    );
  }
  return {
    fetch: (url, init) => fetch(url, { ...init, client }),
    close: () => client.close(),
  };
}

async function readPem(setting: Setting, what: string, marker: RegExp, readTextFile: ReadTextFile): Promise<string> {
  let text: string;
  try {
    text = await readTextFile(setting.path);
  } catch (error) {
    const hint = setting.source === "default" ? `; run \`make certs\` for the dev PKI, or set ${setting.howToSet}` : "";
    throw new CliFailure(`cannot read the ${what} ${setting.path} (${setting.source}): ${reason(error)}${hint}`);
  }
  if (!marker.test(text)) throw new CliFailure(`the ${what} ${setting.path} (${setting.source}) holds no PEM ${what.split(" ").pop()}`);
  return text;
}

function reason(error: unknown): string {
  if (error instanceof Deno.errors.NotFound) return "no such file";
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  return (error as Error).message;
}

/**
 * A fetch failure as a ConnectionError: one line naming the server and what to check, and whether trying again
 * could help (a refused or reset connection may; a certificate problem will not).
 */
export function connectionError(error: unknown, baseUrl: string, timeoutMs?: number): ConnectionError {
  const { message, retryable } = classify(error, baseUrl, timeoutMs);
  return new ConnectionError(message, retryable, { cause: error });
}

function classify(error: unknown, baseUrl: string, timeoutMs?: number): { message: string; retryable: boolean } {
  const name = (error as Error)?.name;
  if (name === "TimeoutError") {
    return { message: `${baseUrl} did not answer${timeoutMs ? ` within ${timeoutMs / 1000} s` : " in time"}`, retryable: true };
  }
  if (name === "AbortError") return { message: `the request to ${baseUrl} was cancelled`, retryable: true };
  // Deno puts the transport's own message (rustls, hyper, the resolver) in the cause.
  const text = [(error as Error)?.message, ((error as Error)?.cause as Error)?.message].filter(Boolean).join(": ");
  const at = `cannot connect to ${baseUrl}`;
  const rules: [RegExp, string, boolean][] = [
    [/Connection refused/i, `${at}: connection refused (is replica-api running there? set REPLICA_API_URL or --url)`, true],
    [/dns error|failed to lookup address|Name or service not known/i, `${at}: the host name does not resolve`, false],
    [/UnknownIssuer/, `${at}: its certificate is not signed by the CA in REPLICA_API_CACERT / --cacert`, false],
    [/not valid for name/, `${at}: its certificate is not valid for that host name (${certificateNames(text)})`, false],
    [/invalid peer certificate: (Expired|NotValidYet)/, `${at}: its certificate has expired or is not valid yet`, false],
    [/invalid peer certificate/, `${at}: its certificate was rejected: ${afterLast(text, "invalid peer certificate: ")}`, false],
    [
      /CertificateRequired|close_notify|unexpected-eof|BadCertificate|UnknownCA|CertificateExpired|alert/i,
      `${at}: the server refused our client certificate (REPLICA_API_CERT / --cert: not issued by the server's client CA, expired, ` +
      `or without clientAuth usage)`,
      false,
    ],
    [
      /invalid HTTP version|wrong version number|InvalidContentType|corrupt message/i,
      `${at}: the server does not speak HTTPS there`,
      false,
    ],
    [
      /Connection reset|broken pipe|connection closed|IncompleteMessage|unexpected end/i,
      `${at}: the connection was closed unexpectedly`,
      true,
    ],
    [/Network is unreachable|No route to host|timed out/i, `${at}: ${lastClause(text)}`, true],
  ];
  for (const [pattern, message, retryable] of rules) if (pattern.test(text)) return { message, retryable };
  return { message: `${at}: ${lastClause(text) || "unknown network error"}`, retryable: true };
}

/** rustls says which names the certificate is valid for; keep that part, it is what the user needs. */
function certificateNames(text: string): string {
  const match = /certificate is only valid for (.*)$/.exec(text);
  return match ? `it is valid for ${match[1]}` : "see --url";
}

function afterLast(text: string, marker: string): string {
  const i = text.lastIndexOf(marker);
  return i === -1 ? text : text.slice(i + marker.length);
}

/** The innermost clause of hyper's "a: b: c (os error n)" chain. */
function lastClause(text: string): string {
  const parts = text.split(": ");
  return parts[parts.length - 1]?.trim() ?? "";
}
