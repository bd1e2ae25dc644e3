/**
 * Reading the CRL files named by `TLS_CLIENT_CRL_FILE` and building the revocation list from them. The only part of
 * this folder that touches the file system; everything it decides is in `buildRevocationList`.
 * @module
 */
import { buildRevocationList, type CrlFile, type RevocationList } from "./revocation_list.ts";

/** What {@link loadRevocationList} needs besides the paths. */
export interface LoadRevocationListOptions {
  /** The client CA bundle(s) in PEM: the CRLs must be issued and signed by one of these. */
  readonly caPem: string | readonly string[];
  /** The list in force so far; its CRLs stay in force for a file whose new content is refused. */
  readonly previous?: RevocationList;
  /** Default: the current time. */
  readonly now?: Date;
  /** Default: Deno.readFile. A test seam. */
  readonly readFile?: (path: string) => Promise<Uint8Array>;
}

/**
 * The paths of a `TLS_CLIENT_CRL_FILE` value: comma-separated, spaces around entries ignored, an empty or unset value
 * meaning no CRL. Throws TypeError naming the setting for an empty entry ("a.pem,,b.pem"), which is a typo rather
 * than a wish.
 */
export function crlPathsFromSetting(value: string | undefined, setting = "TLS_CLIENT_CRL_FILE"): string[] {
  if (value === undefined || value.trim() === "") return [];
  const paths = value.split(",").map((p) => p.trim());
  if (paths.some((p) => p === "")) throw new TypeError(`${setting}: empty path in "${value}" (paths are comma-separated)`);
  return [...new Set(paths)];
}

/**
 * Reads every file (an unreadable one is refused like a bad CRL, with the previous copy kept) and builds the list.
 * Throws TypeError only when `caPem` has no readable certificate.
 */
export async function loadRevocationList(paths: readonly string[], options: LoadRevocationListOptions): Promise<RevocationList> {
  const readFile = options.readFile ?? Deno.readFile;
  const files = await Promise.all(
    paths.map(async (path): Promise<CrlFile> => {
      try {
        return { path, bytes: await readFile(path) };
      } catch (err) {
        return { path, readError: err instanceof Error ? err.message : String(err) };
      }
    }),
  );
  return buildRevocationList({ files, caPem: options.caPem, now: options.now ?? new Date(), previous: options.previous });
}
