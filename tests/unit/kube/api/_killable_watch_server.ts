/**
 * Child process for deno_watch_test.ts: a TLS server that answers every request with a watch stream holding one
 * event and then stays open, and prints {"port":N} once listening. The test SIGKILLs this process: the kernel
 * closes its sockets with no TLS close_notify and no final chunk, exactly as for a SIGKILLed kube-apiserver.
 * Arguments: server certificate path, server key path.
 */
const [certPath, keyPath] = Deno.args;
const line = JSON.stringify({ type: "ADDED", object: { metadata: { namespace: "prod", name: "web", resourceVersion: "5" } } }) + "\n";
Deno.serve({
  hostname: "127.0.0.1",
  port: 0,
  cert: Deno.readTextFileSync(certPath),
  key: Deno.readTextFileSync(keyPath),
  onListen: ({ port }) => console.log(JSON.stringify({ port })),
}, () => {
  const body = new ReadableStream<Uint8Array>({ start: (controller) => controller.enqueue(new TextEncoder().encode(line)) });
  return new Response(body, { headers: { "content-type": "application/json" } });
});
