/**
 * Files that change under a running process: a debounced directory watch with a polling fallback, shared by
 * everything the service reloads without a restart (certificates, the policy, revocation lists); and a folder of
 * static files read once into memory (the browser console).
 * @module
 */
export { dirnameOf, type FileWatch, type FileWatchOptions, type FileWatchTiming, type ReloadOutcome, watchFiles } from "./file_watch.ts";
export { ASSET_NAME, assetType, loadStaticAssets, type StaticAsset, type StaticAssets } from "./static_assets.ts";
