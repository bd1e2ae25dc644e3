/**
 * Entry point: read settings, load credentials, start the service, and stop it
 * cleanly on SIGTERM/SIGINT. Wiring only; behaviour lives in the modules.
 *
 * Exit codes: 0 after a clean shutdown, 2 for a bad setting (one line naming it), 1 otherwise.
 */
import { type Config, ConfigError, loadConfig, usage } from "./config/mod.ts";
import { createLogger } from "./observability/mod.ts";
import { createKubeClient, loadKubeConfig } from "./kube/mod.ts";
import { startService } from "./service.ts";
import { loadStaticAssets, type StaticAssets } from "./files/mod.ts";
import { loadRevocationList, readTlsMaterial, type RevocationList, type TlsFiles, type TlsMaterial, TlsMaterialError } from "./tls/mod.ts";
import { type Authorizer, loadAuthorizer } from "./authz/mod.ts";
import { createServiceMetrics } from "./observability/mod.ts";
import { detectAllocator } from "./observability/mod.ts";

/** The TLS files, read and checked together (the key must belong to the certificate, the CA bundle hold CAs). */
function readTls(config: Config): { files: TlsFiles; material: TlsMaterial } {
  const files = { certFile: config.tlsCertFile, keyFile: config.tlsKeyFile, caFile: config.tlsClientCaFile };
  try {
    return { files, material: readTlsMaterial(files).material };
  } catch (error) {
    if (error instanceof TlsMaterialError) throw new ConfigError(error.setting, error.message);
    throw error;
  }
}

/**
 * The revocation lists at start. A CRL that is refused (unreadable, unparsable, not from the client CA) stops the
 * start: there is no earlier list to keep in force, and serving without it would let its revoked certificates in.
 */
async function readRevocations(config: Config, ca: string): Promise<RevocationList | undefined> {
  if (config.tlsClientCrlFiles.length === 0) return undefined;
  const list = await loadRevocationList(config.tlsClientCrlFiles, { caPem: ca });
  const refused = list.status.filter((s) => s.state === "refused");
  if (refused.length) throw new ConfigError("TLS_CLIENT_CRL_FILE", list.problems.join("; "));
  return list;
}

function readPolicy(config: Config): Authorizer {
  try {
    return loadAuthorizer(config.authzPolicyFile);
  } catch (error) {
    // PolicyError's message is "file:line:column: what is wrong"; a read failure names the file too.
    throw new ConfigError("AUTHZ_POLICY_FILE", (error as Error).message);
  }
}

/** reportingInstance of our Events: the host name, which in Kubernetes is the Pod name. */
function instanceName(): string {
  try {
    return `replica-api-${Deno.hostname()}`;
  } catch {
    return "replica-api";
  }
}

async function main(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage());
    return 0;
  }
  let config: Config;
  let tls: { files: TlsFiles; material: TlsMaterial };
  let authorizer: Authorizer;
  let revocations: RevocationList | undefined;
  let kube;
  const metrics = createServiceMetrics();
  try {
    config = loadConfig(Deno.env.toObject(), args);
    tls = readTls(config);
    authorizer = readPolicy(config);
    revocations = await readRevocations(config, tls.material.ca);
    try {
      const kc = loadKubeConfig(config);
      kube = createKubeClient(kc, {
        watchIdleTimeoutMs: config.watchTimeoutMs + 30_000,
        requestTimeoutMs: 10_000,
        observe: metrics.kubeRequest,
      });
    } catch (error) {
      throw new ConfigError(
        config.kubeconfig ? "KUBECONFIG" : "KUBECONFIG (or in-cluster ServiceAccount)",
        (error as Error).message.split("\n")[0],
      );
    }
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`replica-api: invalid setting ${error.message}`);
      return 2;
    }
    throw error;
  }

  const log = createLogger({ level: config.logLevel });
  // An unhandled rejection would kill Deno; log it (with its cause) and keep serving.
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    log.error("unhandled promise rejection", { error: event.reason });
  });
  // jemalloc or glibc: what RSS does after load depends on it (scripts/jemalloc.sh, BENCHMARKS.md).
  const malloc = detectAllocator(config.ldPreload);
  log.info("starting", {
    kubernetes: kube.server,
    watchNamespaces: config.watchNamespaces.length ? config.watchNamespaces : "all",
    allocator: malloc.allocator,
  });
  if (malloc.problem) log.warn(malloc.problem);

  // Read once at start: src/console/ next to this file (the image ships it with the rest of src/).
  let consoleAssets: StaticAssets | undefined;
  if (config.console) {
    const dir = new URL("./console", import.meta.url).pathname;
    try {
      consoleAssets = await loadStaticAssets(dir);
      if (!consoleAssets.get("index.html")) log.warn("the console's files are missing: / answers 503 (the API is unaffected)", { dir });
      else log.info("console", { dir, files: consoleAssets.names.length, bytes: consoleAssets.totalBytes });
    } catch (error) {
      log.error("failed to read the console's files", { dir, error });
      return 1;
    }
  }

  let service;
  try {
    service = await startService({
      consoleAssets,
      config,
      tls: tls.material,
      tlsFiles: tls.files,
      revocations,
      authorizer,
      source: kube.source,
      scaleApi: kube.scaleApi,
      deploymentApi: kube.deploymentApi,
      eventApi: kube.eventApi,
      instance: instanceName(),
      log,
      metrics,
    });
  } catch (error) {
    log.error("failed to start", { error });
    return 1;
  }

  const stopped = Promise.withResolvers<void>();
  const onSignal = (signal: string) => () => {
    log.info("signal received", { signal });
    service.shutdown().then(stopped.resolve);
  };
  Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));
  Deno.addSignalListener("SIGINT", onSignal("SIGINT"));
  await stopped.promise;
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
