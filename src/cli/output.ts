/** Where the CLI's lines go, and its clock: injected so commands run in tests without a terminal or real waiting. */
export interface CliIo {
  /** One line of results (stdout). */
  out(line: string): void;
  /** One line of diagnostics or progress meant for people (stderr). */
  err(line: string): void;
}

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      }
      signal?.addEventListener("abort", done, { once: true });
    }),
};
