/**
 * The client certificate's expiry, looked at before a command presents it:
 * one that expires within a week, or has expired, draws one warning line on
 * stderr, so a person renews it before the server starts refusing it (short-
 * lived certificates are what this project has instead of revocation). It never
 * changes the outcome: an unreadable or unparsable file is left to
 * openConnection, which says what is wrong with it.
 */
import { X509Certificate } from "node:crypto";
import type { Setting } from "./connection_settings.ts";
import { oneLine } from "./errors.ts";
import { humanDuration } from "./format.ts";
import type { CliIo } from "./output.ts";

/** Warn this long before notAfter. */
export const EXPIRY_WARNING_MS = 7 * 86_400_000;

/**
 * The warning for the (first, leaf) certificate in `pem`, or undefined when it is valid for more than a week or cannot
 * be parsed. node:crypto's X509Certificate (which Deno implements) reads notAfter; no hand-written ASN.1.
 */
export function expiryWarning(pem: string, path: string, nowMs: number): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    return undefined;
  }
  const notAfter = cert.validToDate;
  const left = notAfter.getTime() - nowMs;
  if (!(left <= EXPIRY_WARNING_MS)) return undefined;
  // The subject comes as one "CN=alice" / "O=sre" per line.
  const cn = cert.subject.split("\n").find((rdn) => rdn.startsWith("CN="));
  const who = cn ? ` (${oneLine(cn)})` : "";
  const when = left > 0 ? `expires in ${humanDuration(left)}` : "has expired";
  return `replica-api: warning: client certificate ${path}${who} ${when} (${notAfter.toISOString()})`;
}

/** Reads the certificate `setting` names and prints the warning, if any, on stderr. */
export async function warnIfExpiring(setting: Setting, io: CliIo, nowMs: number, readTextFile = Deno.readTextFile): Promise<void> {
  let pem: string;
  try {
    pem = await readTextFile(setting.path);
  } catch {
    return;
  }
  const warning = expiryWarning(pem, setting.path, nowMs);
  if (warning) io.err(warning);
}
