/**
 * The one place that orders resourceVersions. They are opaque per the API conventions, but every etcd-backed API
 * server issues increasing decimal integers, so the cache may compare two of them when both look like that, and
 * must treat anything else as "cannot tell", which is always the safe answer: it can only make a caller wait.
 */

/** A resourceVersion that can be ordered: a decimal integer without leading zeros (what etcd issues). */
export function isComparableVersion(value: string): boolean {
  return /^(0|[1-9][0-9]{0,19})$/.test(value);
}

/** Whether `seen` is at least as new as `target`: equal, or both integers and `seen` the larger. */
export function isAtLeastVersion(seen: string, target: string): boolean {
  if (seen === target) return true;
  if (/^\d+$/.test(seen) && /^\d+$/.test(target)) {
    return seen.length !== target.length ? seen.length > target.length : seen > target;
  }
  return false;
}

/** Whether `a` is strictly newer than `b`; false whenever either cannot be ordered. */
export function isNewerVersion(a: string, b: string): boolean {
  return a !== b && isAtLeastVersion(a, b);
}
