/**
 * Configuration: `loadConfig(env, args)` turns the environment and flags into one frozen, validated `Config`, or
 * fails naming the bad setting. The only module that reads the process environment.
 * @module
 */
export { ConfigError } from "./config_error.ts";
export { type Config, loadConfig } from "./load_config.ts";
export { flagName, type SettingName, SETTINGS, usage } from "./settings.ts";
export type { ListenAddress } from "./parse.ts";
