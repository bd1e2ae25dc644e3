/** A bad or missing setting. `setting` is the environment variable name, so the one-line message points at it. */
export class ConfigError extends Error {
  constructor(readonly setting: string, message: string) {
    super(`${setting}: ${message}`);
    this.name = "ConfigError";
  }
}
