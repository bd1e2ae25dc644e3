/**
 * The values on a command line, one parser each: a usage error names the
 * argument and what it should look like. Names, container names and image
 * references are left to the API, which says what a valid one is; only what
 * the CLI itself must split or send is checked here.
 */
import { UsageError } from "./errors.ts";

export type OutputFormat = "table" | "json";

export function expectOperands(name: string, operands: readonly string[], min: number, max: number, usage: string): void {
  if (operands.length < min) throw new UsageError(`${name} needs ${usage}`);
  if (operands.length > max) throw new UsageError(`unexpected argument "${operands[max]}" for ${name} (usage: ${name} ${usage})`);
}

export function outputFormat(value: string | undefined): OutputFormat {
  if (value === undefined || value === "table") return "table";
  if (value === "json") return "json";
  throw new UsageError(`--output must be "table" or "json", not "${value}"`);
}

/** NAMESPACE/NAME; the names themselves are checked by the API, which says what a valid name is. */
export function target(value: string): { namespace: string; name: string } {
  const parts = value.split("/");
  if (parts.length !== 2 || parts[0] === "" || parts[1] === "") {
    throw new UsageError(`expected NAMESPACE/NAME (e.g. demo/web), not "${value}"`);
  }
  return { namespace: parts[0], name: parts[1] };
}

export function replicaCount(value: string): number {
  const count = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(count)) throw new UsageError(`REPLICAS must be a whole number ≥ 0, not "${value}"`);
  return count;
}

/** --to-revision N: a revision as `history` lists them, 1 or more. */
export function revisionNumber(value: string): number {
  const revision = /^\d{1,15}$/.test(value) ? Number(value) : NaN;
  if (!(Number.isSafeInteger(revision) && revision >= 1)) {
    throw new UsageError(`--to-revision must be a revision number ≥ 1 as history lists them, not "${value}"`);
  }
  return revision;
}

/**
 * CONTAINER=IMAGE, split at the first "=" (a reference cannot hold one). `*=IMAGE` (kubectl's every container) is
 * refused: the API sets one named container per request, so the CLI never changes more than it was told.
 */
export function imagePair(value: string): { container: string; image: string } {
  const eq = value.indexOf("=");
  const [container, image] = eq === -1 ? [value, ""] : [value.slice(0, eq), value.slice(eq + 1)];
  if (container === "" || image === "") {
    throw new UsageError(`expected CONTAINER=IMAGE (e.g. web=registry.internal/app:1.3), not "${value}"`);
  }
  if (container === "*") {
    throw new UsageError(`set-image names one container, not "*": the API sets one container per request; run it once per container`);
  }
  return { container, image };
}

/** `500ms`, `30s`, `2m`, `1h` or plain seconds; more than zero. */
export function parseDuration(value: string, flag: string): number {
  const match = /^(\d{1,9})(ms|s|m|h)?$/.exec(value);
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match?.[2] ?? "s"] ?? 1000;
  const ms = match ? Number(match[1]) * factor : NaN;
  if (!(ms > 0)) throw new UsageError(`${flag} must be a duration like 500ms, 30s, 5m or 1h, more than zero; not "${value}"`);
  return ms;
}

/** An ETag as the API prints it ("123"), or the bare resourceVersion (123), or *; always sent quoted. */
export function ifMatchHeader(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const tag = value.trim();
  if (tag === "*" || /^(W\/)?"[\x21\x23-\x7e]*"$/.test(tag)) return tag;
  if (/^[A-Za-z0-9._-]+$/.test(tag)) return `"${tag}"`;
  throw new UsageError(`--if-match must be an ETag such as "12345" (or the bare resourceVersion 12345), not ${JSON.stringify(value)}`);
}
