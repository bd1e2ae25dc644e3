/**
 * What loading parts of @kubernetes/client-node costs a process in RSS, as `deno task start` runs it (its malloc
 * environment and V8 flags must be given on the command line; see the usage). One fresh process per variant; RSS
 * and the JS heap 8 s after loading, no forced GC. Measures the options for dropping client-node's generated API
 * from the service (BENCHMARKS.md, "Memory: what is not met"); not part of `make bench`.
 *
 *   for v in none whole worker listwatch narrow narrow-no-models; do
 *     MALLOC_ARENA_MAX=2 MALLOC_TRIM_THRESHOLD_=131072 deno run --v8-flags=--max-semi-space-size=4,--heap-growing-percent=50 \
 *       -A bench/import_cost.ts $v <kubeconfig>; done
 *
 * - none: nothing imported (the runtime alone)
 * - whole: KubeConfig from the package root, loadFromFile + applyToHTTPSOptions (what the service does today)
 * - worker: the same in a Worker that is then terminated (does tearing the isolate down give the memory back?)
 * - listwatch: only dist/cache.js (ListWatch, which the reflector uses; it pulls in dist/gen/models)
 * - narrow: the modules a fetch-based client would still need: dist/yaml.js (js-yaml; also pulls in the models),
 *   dist/config_types.js, dist/exec_auth.js, dist/file_auth.js, and dist/cache.js; parses the kubeconfig
 * - narrow-no-models: dist/config_types.js, dist/exec_auth.js, dist/file_auth.js only (no YAML, no ListWatch)
 */
const PKG = "@kubernetes/client-node";
const [variant, kubeconfig] = Deno.args;
if (!variant || !kubeconfig) throw new Error("usage: import_cost.ts <variant> <kubeconfig>");
const rssMb = () => Math.round(Number(/VmRSS:\s*(\d+)/.exec(Deno.readTextFileSync("/proc/self/status"))![1]) / 1024);

async function wholePackage(): Promise<string> {
  const { KubeConfig } = await import(PKG);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const options: Record<string, unknown> = {};
  await kc.applyToHTTPSOptions(options);
  return Object.keys(options).join(",");
}

let loaded: unknown;
switch (variant) {
  case "none":
    break;
  case "whole":
    loaded = await wholePackage();
    break;
  case "worker": {
    const worker = new Worker(new URL("./_import_cost_worker.ts", import.meta.url), { type: "module" });
    loaded = await new Promise((resolve, reject) => {
      worker.onmessage = (e) => resolve(e.data);
      worker.onerror = (e) => reject(e);
      worker.postMessage(kubeconfig);
    });
    worker.terminate();
    break;
  }
  case "listwatch":
    loaded = typeof (await import(`${PKG}/dist/cache.js`)).ListWatch;
    break;
  case "narrow":
  case "narrow-no-models": {
    const modules = ["config_types.js", "exec_auth.js", "file_auth.js"];
    if (variant === "narrow") modules.push("cache.js", "yaml.js");
    const counts = [];
    for (const m of modules) counts.push(Object.keys(await import(`${PKG}/dist/${m}`)).length);
    if (variant === "narrow") {
      const { loadYaml } = await import(`${PKG}/dist/yaml.js`);
      counts.push((loadYaml(Deno.readTextFileSync(kubeconfig)) as { clusters: unknown[] }).clusters.length);
    }
    loaded = counts.join(",");
    break;
  }
  default:
    throw new Error(`unknown variant ${variant}`);
}
await new Promise((r) => setTimeout(r, 8000));
console.log(JSON.stringify({ variant, rssMb: rssMb(), heapMb: Math.round(Deno.memoryUsage().heapUsed / 1048576), loaded }));
