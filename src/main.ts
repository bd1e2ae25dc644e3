/**
 * Entry point: read settings, load credentials, start the service, and stop it
 * cleanly on SIGTERM/SIGINT. Wiring only; behaviour lives in the modules.
 *
 * Exit codes: 0 after a clean shutdown, 2 for a bad setting (one line naming it), 1 otherwise.
 */
import { type Config, ConfigError, loadConfig, usage } from "./config/mod.ts";
import { createLogger } from "./observability/logger.ts";
import { createKubeClient, loadKubeConfig } from "./kube/client.ts";
import { startService, type TlsMaterial } from "./service.ts";
import { createServiceMetrics } from "./observability/service_metrics.ts";

function readSettingFile(setting: string, path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    throw new ConfigError(setting, `cannot read ${path}: ${(error as Error).message}`);
  }
}

function readTls(config: Config): TlsMaterial {
  const cert = readSettingFile("TLS_CERT_FILE", config.tlsCertFile);
  const key = readSettingFile("TLS_KEY_FILE", config.tlsKeyFile);
  const ca = readSettingFile("TLS_CLIENT_CA_FILE", config.tlsClientCaFile);
  if (!cert.includes("-----BEGIN CERTIFICATE-----")) {
    throw new ConfigError("TLS_CERT_FILE", `${config.tlsCertFile} holds no PEM certificate`);
  }
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
    throw new ConfigError("TLS_KEY_FILE", `${config.tlsKeyFile} holds no PEM private key`);
  }
  if (!ca.includes("-----BEGIN CERTIFICATE-----")) {
    throw new ConfigError("TLS_CLIENT_CA_FILE", `${config.tlsClientCaFile} holds no PEM certificate`);
  }
  return { cert, key, ca };
}

async function main(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(usage());
    return 0;
  }
  let config: Config;
  let tls: TlsMaterial;
  let kube;
  const metrics = createServiceMetrics();
  try {
    config = loadConfig(Deno.env.toObject(), args);
    tls = readTls(config);
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
  log.info("starting", { kubernetes: kube.server, watchNamespaces: config.watchNamespaces.length ? config.watchNamespaces : "all" });

  let service;
  try {
    service = await startService({ config, tls, source: kube.source, scaleApi: kube.scaleApi, log, metrics });
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
