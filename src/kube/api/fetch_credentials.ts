/**
 * The kubeconfig's credentials in the form Deno's fetch takes them, for every
 * request the service makes (deno_watch.ts, kube_requests.ts), or the reason it
 * cannot use them.
 *
 * Credentials are taken from applyToHTTPSOptions on every call (kubeconfig.ts,
 * which applies them as client-node's KubeConfig does), so they are exactly what
 * client-node would send: bearer tokens, token files re-read as client-node
 * re-reads them (rotated in-cluster ServiceAccount tokens), exec and other auth
 * plugins, basic auth, impersonation, and CA / client certificate files read
 * afresh.
 */
import type { Cluster, HttpsOptions, User } from "./kubeconfig.ts";
import type { FetchCredentials } from "./deno_watch.ts";

/** What is read from a kubeconfig: kubeconfig.ts's Kubeconfig, or client-node's KubeConfig (tests compare the two). */
export interface KubeconfigLike {
  getCurrentCluster(): Cluster | null | undefined;
  getCurrentUser(): User | null | undefined;
  applyToHTTPSOptions(opts: HttpsOptions): Promise<void>;
}

export type FetchCredentialsSource =
  | { readonly credentials: () => Promise<FetchCredentials>; readonly unsupported?: undefined }
  | { readonly unsupported: string; readonly credentials?: undefined };

type PemInput = string | Uint8Array;

/**
 * Checks once what Deno.createHttpClient cannot do (it has no option to skip verification, to verify against
 * another server name, or to take client-node's proxy settings) and whether it accepts the kubeconfig's
 * certificates and key; the caller refuses to start and says why.
 */
export function fetchCredentialsFrom(kc: KubeconfigLike): FetchCredentialsSource {
  const cluster = kc.getCurrentCluster();
  if (!cluster) return { unsupported: "the kubeconfig has no current cluster" };
  if (!cluster.server.startsWith("https://")) return { unsupported: `the API server URL ${cluster.server} is not https` };
  if (cluster.skipTLSVerify) return { unsupported: "the kubeconfig sets insecure-skip-tls-verify, which Deno's fetch cannot do" };
  if (cluster.tlsServerName) return { unsupported: "the kubeconfig sets tls-server-name, which Deno's fetch cannot do" };
  if (cluster.proxyUrl) return { unsupported: "the kubeconfig sets proxy-url, which this watch does not implement" };
  const user = kc.getCurrentUser();
  try {
    // Deno's TLS stack is not Node's: a key format it cannot parse would otherwise fail every watch.
    const ca = readPem(cluster.caFile, cluster.caData);
    const cert = readPem(user?.certFile, user?.certData);
    const key = readPem(user?.keyFile, user?.keyData);
    Deno.createHttpClient({ caCerts: ca ? [ca] : undefined, ...(cert && key ? { cert, key } : {}) }).close();
  } catch (error) {
    return { unsupported: `Deno's fetch cannot use the kubeconfig's certificates or key: ${(error as Error).message}` };
  }
  return {
    async credentials() {
      const options: HttpsOptions = {};
      await kc.applyToHTTPSOptions(options);
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(options.headers ?? {})) {
        if (value !== undefined) headers[name] = String(value);
      }
      // client-node passes basic auth as Node's `auth` option rather than as a header.
      if (options.auth) headers.Authorization = `Basic ${base64(new TextEncoder().encode(options.auth))}`;
      const ca = options.ca === undefined ? [] : Array.isArray(options.ca) ? options.ca : [options.ca];
      return {
        server: cluster.server,
        headers,
        caCerts: ca.length ? ca.map(text) : undefined,
        cert: options.cert === undefined ? undefined : text(options.cert),
        key: options.key === undefined ? undefined : text(options.key),
      };
    },
  };
}

/** A kubeconfig certificate or key: a file path, or base64 data (as client-node reads them). */
function readPem(file: string | undefined, data: string | undefined): string | undefined {
  if (file) return Deno.readTextFileSync(file);
  if (data) return new TextDecoder().decode(Uint8Array.from(atob(data), (c) => c.charCodeAt(0)));
  return undefined;
}

/** Base64 of bytes (UTF-8 user names and passwords, as client-node's Buffer encodes them; btoa only takes Latin-1). */
function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

function text(pem: PemInput): string {
  return typeof pem === "string" ? pem : new TextDecoder().decode(pem);
}
