/**
 * Files that change under a running process: a debounced directory watch with a polling fallback, shared by
 * everything the service reloads without a restart (certificates, the policy, revocation lists).
 * @module
 */
export { dirnameOf, type FileWatch, type FileWatchOptions, type FileWatchTiming, type ReloadOutcome, watchFiles } from "./file_watch.ts";
