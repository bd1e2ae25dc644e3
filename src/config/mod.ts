export { type Config, flagName, loadConfig, SETTINGS, usage } from "./load_config.ts";
export { ConfigError } from "./config_error.ts";
export type { ListenAddress } from "./parse.ts";
