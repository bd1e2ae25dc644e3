/**
 * Makes a KubeConfig's HTTP clients never negotiate HTTP/2 with the API server.
 *
 * Why: client-node 2.0.1 builds undici Agents without `allowH2`, and undici 8
 * enables HTTP/2 by default. When kube-apiserver shuts down gracefully it sends
 * GOAWAY, and Deno 2.9.6's nghttp2 binding then aborts the whole process
 * (`find_stream_on_goaway_func: Assertion 'stream->closed_next == NULL'
 * failed`, exit 134), as tests/integration/faults_test.ts showed. HTTP/1.1 has
 * no GOAWAY, and one watch per connection is what client-go does over HTTP/1.1.
 *
 * `createDispatcher` is private in client-node's typings but an ordinary method
 * at run time (config.js calls `this.createDispatcher`), so we wrap it on the
 * instance. We reuse the Agent class client-node itself constructs (undici's),
 * so the service still imports exactly one npm package. Re-check on upgrades:
 * tests/unit/kube/http1_only_test.ts fails if this stops taking effect.
 */
import type { KubeConfig } from "@kubernetes/client-node";

// deno-lint-ignore no-explicit-any
type Dispatcher = any;
type DispatcherOptions = { type: string; connect?: Record<string, unknown> };
interface DispatcherFactory {
  createDispatcher(cluster: unknown, agentOptions: Record<string, unknown>): Dispatcher;
  createDispatcherOptions(cluster: unknown, agentOptions: Record<string, unknown>): DispatcherOptions;
}

export function forceHttp1(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as DispatcherFactory;
  const original = target.createDispatcher.bind(kc);
  let AgentClass: (new (options: Record<string, unknown>) => Dispatcher) | undefined;
  const agentClass = () => {
    if (!AgentClass) {
      // Learn undici's Agent class from a dispatcher client-node builds for a throwaway TLS setting.
      const probe = original({ name: "probe", server: "https://127.0.0.1", skipTLSVerify: false }, { ca: "probe" });
      AgentClass = probe.constructor;
      probe.close?.();
    }
    return AgentClass!;
  };
  target.createDispatcher = (cluster, agentOptions) => {
    const options = target.createDispatcherOptions(cluster, agentOptions);
    switch (options.type) {
      case "agent":
        return new (agentClass())({ connect: options.connect, allowH2: false });
      case "none":
        // No TLS settings (publicly trusted CA): undici's global dispatcher would allow HTTP/2.
        return new (agentClass())({ connect: { keepAlive: true, keepAliveInitialDelay: 30_000 }, allowH2: false });
      default:
        // Proxies tunnel with CONNECT over HTTP/1.1; keep client-node's behaviour.
        return original(cluster, agentOptions);
    }
  };
  return kc;
}
