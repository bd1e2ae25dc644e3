/**
 * Which malloc the process runs on, for the start log line. The allocator decides how much memory a Pod keeps
 * after a burst of load (BENCHMARKS.md, "The allocator after load"): jemalloc, preloaded by the image and by
 * `deno task start` when it is installed (scripts/jemalloc.sh), gives freed pages back within about a second;
 * glibc's malloc keeps much of them. A preload that silently did not happen (a missing library, a changed
 * path) would otherwise go unnoticed until the memory graphs say so.
 *
 * Read from LD_PRELOAD and the file it names, not from /proc/self/maps: Deno asks for --allow-all to read
 * that file, and the service runs with less.
 */

export type Allocator = "jemalloc" | "glibc";

export interface AllocatorInfo {
  allocator: Allocator;
  /** Set when a jemalloc preload was asked for but cannot have happened. */
  problem?: string;
}

/**
 * The allocator the dynamic loader gave this process: jemalloc when LD_PRELOAD names a jemalloc library that
 * exists (the loader preloads it before main), else glibc's malloc. `preload` is the LD_PRELOAD value.
 */
export function detectAllocator(
  preload: string | undefined,
  isFile: (path: string) => boolean = fileExists,
): AllocatorInfo {
  // ld.so takes a list separated by spaces or colons.
  const lib = (preload ?? "").split(/[\s:]+/).find((entry) => /(^|\/)libjemalloc[^/]*\.so/.test(entry));
  if (lib === undefined) return { allocator: "glibc" };
  if (!isFile(lib)) return { allocator: "glibc", problem: `LD_PRELOAD names ${lib}, which does not exist; running on glibc's malloc` };
  return { allocator: "jemalloc" };
}

function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
