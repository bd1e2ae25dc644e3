/**
 * Lists a collection in pages (`limit` + `continue`), as client-go's pager does
 * for its reflectors, and trims every page before asking for the next.
 *
 * Why: one unpaginated LIST of 10,000 Deployments is ~12 MB of JSON, decoded
 * into full model objects all at once before anything is trimmed; that spiked
 * the service's RSS by ~80 MB at every start and relist (BENCHMARKS.md). Page by
 * page, at most one page of full objects is alive at a time.
 *
 * Semantics, as the API server defines them: every page of one paginated list is
 * served from the snapshot of the first page, so the list as a whole is as
 * consistent as an unpaginated one and its resourceVersion is the first page's
 * (client-go's pager keeps that one too). A continue token expires with the
 * snapshot's compaction (410 Expired, typically after 5 minutes); then, like
 * client-go (FullListIfExpired), we start over with one unpaginated list, which
 * cannot expire half-way, instead of risking an endless series of expiring tries.
 */
import type { Logger } from "../../observability/mod.ts";

// deno-lint-ignore no-explicit-any
type KubeObject = any;

/** What one page request asks for: no limit means "everything at once". */
export interface ListPage {
  limit?: number;
  continue?: string;
}

export interface ListResult {
  metadata?: { resourceVersion?: string; continue?: string };
  items: KubeObject[];
}

/** A list function taking the page to fetch; sources that ignore it return everything and no continue token. */
export type PagedList = (page: ListPage) => Promise<ListResult>;

/** client-go's reflector page size. */
export const DEFAULT_PAGE_SIZE = 500;

export interface PagedListResult {
  resourceVersion: string | undefined;
  /** Trimmed items of all pages, in the API server's order. */
  items: KubeObject[];
  pages: number;
  /** True when a continue token expired and the list was redone unpaginated. */
  fellBack: boolean;
}

export async function listAllPages(
  list: PagedList,
  trim: (obj: KubeObject) => KubeObject,
  options: { pageSize?: number; log?: Logger } = {},
): Promise<PagedListResult> {
  const limit = options.pageSize ?? DEFAULT_PAGE_SIZE;
  const items: KubeObject[] = [];
  let resourceVersion: string | undefined;
  let pages = 0;
  let token: string | undefined;
  do {
    let result: ListResult;
    try {
      result = await list(token ? { limit, continue: token } : { limit });
    } catch (error) {
      if (!token || statusOf(error) !== 410) throw error;
      options.log?.info("list continue token expired (410); listing again without pages", { pagesDone: pages });
      const full = await list({});
      return { resourceVersion: full.metadata?.resourceVersion, items: (full.items ?? []).map(trim), pages: pages + 1, fellBack: true };
    }
    pages++;
    // Every page carries the first page's snapshot version; the first is the one the watch must start from.
    if (pages === 1) resourceVersion = result.metadata?.resourceVersion;
    for (const item of result.items ?? []) items.push(trim(item));
    token = result.metadata?.continue || undefined;
  } while (token);
  return { resourceVersion, items, pages, fellBack: false };
}

/** The HTTP status of a failed list: KubeApiError's `status`, or `statusCode` as client-node's errors carry it. */
function statusOf(error: unknown): number | undefined {
  const e = error as { status?: unknown; statusCode?: unknown; code?: unknown } | undefined;
  for (const value of [e?.status, e?.statusCode, e?.code]) if (typeof value === "number") return value;
  return undefined;
}
