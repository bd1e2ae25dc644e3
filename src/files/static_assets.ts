/**
 * A folder of static files read once into memory: the browser console's HTML, CSS and ES modules. Read at start,
 * not per request, so serving them never touches the disk, a file changed under a running Pod cannot be served
 * half-written, and each file's entity tag is computed once (SHA-256 of its bytes).
 */

/** One file, ready to send. */
export interface StaticAsset {
  /** The file's name in the folder, e.g. `app.js`. */
  readonly name: string;
  readonly contentType: string;
  /** The file as text (every type served is text) and as the bytes to send. */
  readonly text: string;
  readonly bytes: Uint8Array;
  /** A strong entity tag, quoted: `"sha256-…"`. */
  readonly etag: string;
}

/** The files of the folder by name; empty when the folder is missing (the caller decides what that means). */
export interface StaticAssets {
  readonly dir: string;
  get(name: string): StaticAsset | undefined;
  readonly names: readonly string[];
  /** Bytes of every file together. */
  readonly totalBytes: number;
}

/**
 * Extensions served and their types. Text only: the console is HTML, CSS, modules and SVG. Anything else in the
 * folder (a README, an editor's swap file) is not served, so a file dropped there is never published by accident.
 */
const TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  mjs: "text/javascript; charset=utf-8",
  svg: "image/svg+xml",
  webmanifest: "application/manifest+json",
};

/** A file name the loader accepts: one path segment, no leading dot (so never `..` or a hidden file). */
export const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** The content type for a file name, or undefined when that kind of file is not served. */
export function assetType(name: string): string | undefined {
  const dot = name.lastIndexOf(".");
  return dot > 0 ? TYPES[name.slice(dot + 1).toLowerCase()] : undefined;
}

/** Reads the served files of `dir` (not its subfolders). A missing folder gives an empty set; other errors throw. */
export async function loadStaticAssets(dir: string): Promise<StaticAssets> {
  const byName = new Map<string, StaticAsset>();
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) entries = [];
    else throw error;
  }
  let totalBytes = 0;
  for (const entry of entries) {
    const contentType = assetType(entry.name);
    if (!entry.isFile || !contentType || !ASSET_NAME.test(entry.name)) continue;
    const bytes = await Deno.readFile(`${dir}/${entry.name}`);
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
    const etag = `"sha256-${base64url(digest).slice(0, 32)}"`;
    byName.set(entry.name, { name: entry.name, contentType, text: new TextDecoder().decode(bytes), bytes, etag });
    totalBytes += bytes.length;
  }
  const names = Object.freeze([...byName.keys()].sort());
  return { dir, get: (name) => byName.get(name), names, totalBytes };
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}
