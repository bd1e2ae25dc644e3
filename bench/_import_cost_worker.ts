/** bench/import_cost.ts's "worker" variant: client-node's KubeConfig loaded inside a Worker. */
/// <reference lib="deno.worker" />
self.onmessage = async (e: MessageEvent<string>) => {
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  kc.loadFromFile(e.data);
  const options: Record<string, unknown> = {};
  await kc.applyToHTTPSOptions(options);
  self.postMessage(Object.keys(options).join(","));
};
