/** Runs one job per Worker (tests/unit/limits/_shared_limits_worker.ts), all started at once through a shared gate. */
import type { Job } from "./_shared_limits_worker.ts";

export async function inWorkers<T>(count: number, job: (gate: SharedArrayBuffer) => Job): Promise<T[]> {
  const gate = new SharedArrayBuffer(8);
  const workers = Array.from(
    { length: count },
    () => new Worker(new URL("./_shared_limits_worker.ts", import.meta.url), { type: "module" }),
  );
  try {
    const done = Promise.all(workers.map((w) =>
      new Promise<T>((resolve, reject) => {
        w.onmessage = (e) => resolve(e.data);
        w.onerror = (e) => reject(e);
        w.postMessage(job(gate));
      })
    ));
    const flags = new Int32Array(gate);
    while (Atomics.load(flags, 0) < count) await new Promise((r) => setTimeout(r, 5));
    Atomics.store(flags, 1, 1);
    Atomics.notify(flags, 1);
    return await done;
  } finally {
    for (const w of workers) w.terminate();
  }
}
