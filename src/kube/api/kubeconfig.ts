/**
 * The kubeconfig, loaded and applied the way client-node's KubeConfig does it, from client-node's own narrow
 * modules (YAML, kubeconfig entries, authenticators) instead of its `KubeConfig` class.
 *
 * Why: `dist/config.js`, where KubeConfig lives, imports client-node's whole generated API (`dist/gen/index.js`,
 * 23 MB of JavaScript that V8 keeps on its heap), which cost the service ~35 MB of RSS for four kinds of request it
 * makes on Deno's fetch anyway (BENCHMARKS.md, "Memory: what is not met"). The package has no "exports" map, so its
 * `dist/` modules can be imported one by one; the service still depends on exactly one npm package.
 *
 * What is kept from KubeConfig, method for method (loadFromFile, loadFromDefault, loadFromCluster, mergeConfig,
 * makePathsAbsolute, applyToHTTPSOptions): the same entry parsing (`config_types.js`), relative certificate paths
 * resolved against the kubeconfig's folder, `KUBECONFIG` lists merged, the in-cluster ServiceAccount (token file
 * re-read every 60 s by client-node's FileAuth, so rotated tokens apply), exec plugins (ExecAuth, with its credential
 * cache), the Azure and GCP auth providers, OIDC (loaded only when a kubeconfig uses it: its module imports
 * `dist/config.js`), static and `token-file` tokens, basic auth, impersonation, and CA / client certificate files read
 * afresh on every call.
 */
import type { Authenticator } from "@kubernetes/client-node/dist/auth.js";
import { type Cluster, type Context, newClusters, newContexts, newUsers, type User } from "@kubernetes/client-node/dist/config_types.js";
import { loadYaml } from "@kubernetes/client-node/dist/yaml.js";
import { ExecAuth } from "@kubernetes/client-node/dist/exec_auth.js";
import { FileAuth } from "@kubernetes/client-node/dist/file_auth.js";
import { AzureAuth } from "@kubernetes/client-node/dist/azure_auth.js";
import { GoogleCloudPlatformAuth } from "@kubernetes/client-node/dist/gcp_auth.js";
import { dirname, isAbsolute, join } from "node:path";
import { isIPv6 } from "node:net";

export type { Cluster, User };

/** What applyToHTTPSOptions fills in, as Node's https options: files arrive as Buffers, exec plugins give strings. */
export interface HttpsOptions {
  headers?: Record<string, unknown>;
  auth?: string;
  ca?: string | Uint8Array | (string | Uint8Array)[];
  cert?: string | Uint8Array;
  key?: string | Uint8Array;
  rejectUnauthorized?: boolean;
  servername?: string;
}

/** Where the in-cluster ServiceAccount is mounted; a test seam (client-node's loadFromCluster pathPrefix). */
const SERVICEACCOUNT_ROOT = "/var/run/secrets/kubernetes.io/serviceaccount";

export interface LoadOptions {
  kubeconfig?: string;
  context?: string;
  inCluster: boolean;
  /** Defaults to Deno.env; read for KUBECONFIG, HOME and KUBERNETES_SERVICE_HOST/_PORT, as client-node does. */
  env?: (name: string) => string | undefined;
  /** Prefix of the ServiceAccount mount (tests); empty in production. */
  serviceAccountPrefix?: string;
}

export class Kubeconfig {
  clusters: Cluster[] = [];
  users: User[] = [];
  contexts: Context[] = [];
  currentContext: string | undefined;
  // One set per kubeconfig, as in KubeConfig: FileAuth and ExecAuth cache what they read or ran.
  #authenticators: Authenticator[] = [new AzureAuth(), new GoogleCloudPlatformAuth(), new ExecAuth(), new FileAuth()];
  #oidc: Promise<Authenticator> | undefined;

  /** KubeConfig.loadFromFile: entries from the YAML, certificate paths relative to the file's folder. */
  loadFromFile(file: string): void {
    this.loadFromString(Deno.readTextFileSync(file));
    const root = dirname(file);
    const absolute = (path: string) => isAbsolute(path) ? path : join(root, path);
    for (const cluster of this.clusters) if (cluster.caFile) (cluster as { caFile?: string }).caFile = absolute(cluster.caFile);
    for (const user of this.users) {
      if (user.certFile) (user as { certFile?: string }).certFile = absolute(user.certFile);
      if (user.keyFile) (user as { keyFile?: string }).keyFile = absolute(user.keyFile);
    }
  }

  loadFromString(text: string): void {
    const obj = loadYaml(text) as Record<string, unknown>;
    this.clusters = newClusters(obj.clusters as never);
    this.contexts = newContexts(obj.contexts as never);
    this.users = newUsers(obj.users as never);
    this.currentContext = obj["current-context"] as string | undefined;
  }

  /** KubeConfig.loadFromCluster: the mounted ServiceAccount and the Service's address from the environment. */
  loadFromCluster(env: (name: string) => string | undefined, prefix = ""): void {
    const host = env("KUBERNETES_SERVICE_HOST");
    const port = env("KUBERNETES_SERVICE_PORT");
    const scheme = port === "80" || port === "8080" || port === "8001" ? "http" : "https";
    const serverHost = host && isIPv6(host) ? `[${host}]` : host;
    this.clusters = [{
      name: "inCluster",
      caFile: `${prefix}${SERVICEACCOUNT_ROOT}/ca.crt`,
      server: `${scheme}://${serverHost}:${port}`,
      skipTLSVerify: false,
    }];
    this.users = [{
      name: "inClusterUser",
      authProvider: { name: "tokenFile", config: { tokenFile: `${prefix}${SERVICEACCOUNT_ROOT}/token` } },
    }];
    let namespace: string | undefined;
    try {
      namespace = Deno.readTextFileSync(`${prefix}${SERVICEACCOUNT_ROOT}/namespace`);
    } catch {
      // As in client-node: the namespace file is optional.
    }
    this.contexts = [{ cluster: "inCluster", name: "inClusterContext", user: "inClusterUser", namespace } as Context];
    this.currentContext = "inClusterContext";
  }

  /** KubeConfig.loadFromDefault: KUBECONFIG (a list, merged), else ~/.kube/config, else in-cluster, else localhost:8080. */
  loadFromDefault(env: (name: string) => string | undefined, prefix = ""): void {
    const list = (env("KUBECONFIG") ?? "").split(":").filter(Boolean);
    if (list.length) {
      this.loadFromFile(list[0]);
      for (const file of list.slice(1)) {
        const other = new Kubeconfig();
        other.loadFromFile(file);
        this.#merge(other);
      }
      return;
    }
    const home = env("HOME");
    if (home && exists(join(home, ".kube", "config"))) {
      this.loadFromFile(join(home, ".kube", "config"));
      return;
    }
    if (exists(`${prefix}${SERVICEACCOUNT_ROOT}/token`)) {
      this.loadFromCluster(env, prefix);
      return;
    }
    this.clusters = [{ name: "cluster", server: "http://localhost:8080", skipTLSVerify: false }];
    this.users = [{ name: "user" } as User];
    this.contexts = [{ cluster: "cluster", user: "user", name: "loaded-context" } as Context];
    this.currentContext = "loaded-context";
  }

  /** KubeConfig.mergeConfig: the later file's current context wins; a duplicate name is an error. */
  #merge(other: Kubeconfig): void {
    if (other.currentContext) this.currentContext = other.currentContext;
    const add = <T extends { name: string }>(list: T[], items: T[], what: string) => {
      for (const item of items) {
        if (list.some((x) => x.name === item.name)) throw new Error(`Duplicate ${what}: ${item.name}`);
        list.push(item);
      }
    };
    add(this.clusters, other.clusters, "cluster");
    add(this.users, other.users, "user");
    add(this.contexts, other.contexts, "context");
  }

  getContextObject(name: string): Context | undefined {
    return this.contexts.find((c) => c.name === name);
  }

  setCurrentContext(name: string): void {
    this.currentContext = name;
  }

  getCurrentCluster(): Cluster | undefined {
    const context = this.currentContext === undefined ? undefined : this.getContextObject(this.currentContext);
    return context ? this.clusters.find((c) => c.name === context.cluster) : undefined;
  }

  getCurrentUser(): User | undefined {
    const context = this.currentContext === undefined ? undefined : this.getContextObject(this.currentContext);
    return context ? this.users.find((u) => u.name === context.user) : undefined;
  }

  /** KubeConfig.applyToHTTPSOptions: TLS material, authentication headers and basic auth, as client-node applies them. */
  async applyToHTTPSOptions(opts: HttpsOptions): Promise<void> {
    const cluster = this.getCurrentCluster();
    const user = this.getCurrentUser();
    if (!user) return;
    if (cluster?.skipTLSVerify) opts.rejectUnauthorized = false;
    if (cluster?.tlsServerName) opts.servername = cluster.tlsServerName;
    const ca = cluster ? fileOrData(cluster.caFile, cluster.caData) : undefined;
    if (ca) opts.ca = ca;
    const cert = fileOrData(user.certFile, user.certData);
    if (cert) opts.cert = cert;
    const key = fileOrData(user.keyFile, user.keyData);
    if (key) opts.key = key;
    opts.headers ??= {};
    if (user.impersonateUser != null) opts.headers["Impersonate-User"] = user.impersonateUser;
    const authenticator = user.authProvider?.name === "oidc"
      ? await (this.#oidc ??= import("@kubernetes/client-node/dist/oidc_auth.js").then((m) => new m.OpenIDConnectAuth() as Authenticator))
      : this.#authenticators.find((a) => a.isAuthProvider(user));
    // Typed with Node's https.RequestOptions; they only set headers, and read nothing else.
    if (authenticator) await authenticator.applyAuthentication(user, opts as never);
    if (user.token) opts.headers.Authorization = `Bearer ${user.token}`;
    if (user.username) opts.auth = `${user.username}:${user.password}`;
  }
}

/**
 * The kubeconfig the service uses: the file given, else the in-cluster ServiceAccount when asked for, else
 * client-node's default search; then the context, if one is named. Refuses a cluster entry that skips TLS verification.
 */
export function loadKubeconfig(options: LoadOptions): Kubeconfig {
  const env = options.env ?? ((name: string) => Deno.env.get(name));
  const kc = new Kubeconfig();
  if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
  else if (options.inCluster) kc.loadFromCluster(env, options.serviceAccountPrefix);
  else kc.loadFromDefault(env, options.serviceAccountPrefix);
  if (options.context) {
    if (!kc.getContextObject(options.context)) throw new Error(`kubeconfig has no context "${options.context}"`);
    kc.setCurrentContext(options.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  if (cluster.skipTLSVerify) {
    throw new Error(`kubeconfig cluster "${cluster.name}" sets insecure-skip-tls-verify; refusing to talk to the API server unverified`);
  }
  return kc;
}

/** client-node's bufferFromFileOrString: a file read afresh, or base64 data. */
function fileOrData(file: string | undefined, data: string | undefined): Uint8Array | undefined {
  if (file) return Deno.readFileSync(file);
  if (data) return Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
  return undefined;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
