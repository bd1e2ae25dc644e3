/**
 * [browser] Harness for the console's real-browser suite: Debian's chromium driven by playwright-core under Deno,
 * the service started as users run it (tests/integration/harness/service.ts) with a test PKI, on the local control
 * plane (tests/integration/harness/cluster.ts), and a browser context presenting a client certificate for exactly the
 * service's origin (`clientCertificates`: Playwright's relay makes the TLS connection and presents the certificate).
 *
 * Each scenario gets its own namespace, service and browser (a second or two), so scenarios never depend on each
 * other's leftovers. The suite skips, printing why, when no chromium is installed (scripts/browser-test.sh installs
 * Debian's package when it can: as root on Debian).
 */
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { createTestPki, type TestPki } from "../support/pki.ts";
import { createDeployment, createNamespace, hpaManifest, kubectl, specReplicas, uniqueName } from "../integration/harness/cluster.ts";
import { type RunningService, startService, waitFor } from "../integration/harness/service.ts";

// Page functions (page.evaluate, waitForFunction, addInitScript) run in the browser, not here: the DOM is only named for the type-checker.
// deno-lint-ignore no-explicit-any
declare const document: any;

export { createDeployment, createNamespace, hpaManifest, kubectl, specReplicas, uniqueName, waitFor };
export type { Browser, BrowserContext, Page, RunningService, TestPki };

export const CHROMIUM = Deno.env.get("CHROMIUM") || "/usr/bin/chromium";

/** Flags measured to work headless on this machine kind (shared notes, console-anchors.md section 3). */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** Why the suite cannot run here, or undefined when it can. */
export function skipReason(): string | undefined {
  try {
    if (!Deno.statSync(CHROMIUM).isFile) return `${CHROMIUM} is not a file`;
  } catch {
    return `no chromium at ${CHROMIUM} (make test-browser installs Debian's package as root on Debian; or set CHROMIUM)`;
  }
  return undefined;
}

const reason = skipReason();
if (reason) console.log(`SKIP: browser suite: ${reason}`);

/**
 * Registers one scenario (a Deno test), or nothing when the suite skips. Playwright keeps a connection to the
 * browser and timers across awaits, so Deno's op and resource sanitizers are off; each scenario cleans up itself.
 */
export function scenario(name: string, fn: () => Promise<void>): void {
  if (reason) return;
  Deno.test({ name: `[browser] ${name}`, sanitizeOps: false, sanitizeResources: false, fn });
}

export function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** The CSP every mTLS response carries (console contract, branch `sec`). */
export const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export interface Identity {
  readonly certPath: string;
  readonly keyPath: string;
}

export interface ContextOptions {
  /** The client certificate to present; null = none. Default: alice (CN=alice, O=sre, O=oncall). */
  identity?: Identity | null;
  colorScheme?: "light" | "dark";
  viewport?: { width: number; height: number };
  isMobile?: boolean;
}

export interface Console {
  readonly namespace: string;
  readonly svc: RunningService;
  readonly pki: TestPki;
  readonly browser: Browser;
  /** https://localhost:<port>: the exact origin the certificates are presented to. */
  readonly origin: string;
  /** A fresh browser context (client certificate for `origin`), closed with the fixture. */
  context(options?: ContextOptions): Promise<BrowserContext>;
  /** A page of a fresh context with the console loaded (`html[data-ready=true]`) and CSP violations recorded. */
  open(options?: ContextOptions): Promise<ConsolePage>;
  /** Stops the service (SIGTERM) and starts it again on the same port with the same PKI and settings. */
  restartService(): Promise<void>;
}

export interface ConsolePage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** CSP violations seen so far: `securitypolicyviolation` events and "Refused to …" console messages. */
  readonly cspViolations: string[];
  /** Console errors and uncaught page errors seen so far. */
  readonly errors: string[];
}

export interface FixtureOptions {
  /** Deployments created before the service starts: name → replicas. */
  deployments?: Record<string, number>;
  /** Extra service environment (OPERATIONS, AUTHZ_POLICY_FILE, …). */
  env?: Record<string, string>;
  /** Client certificates to issue before the service starts: name → { cn, organizations }. */
  identities?: Record<string, { cn: string; organizations?: string[] }>;
  /** Authorization policy rules (src/authz/README.md): written next to the PKI and given as AUTHZ_POLICY_FILE. */
  policy?: unknown[];
}

export interface Fixture extends Console {
  readonly identities: Record<string, Identity>;
}

/** Runs `fn` with a namespace, a service watching it and a browser; tears all of it down afterwards. */
export async function withConsole(options: FixtureOptions, fn: (c: Fixture) => Promise<void>): Promise<void> {
  const namespace = uniqueName("browser");
  await createNamespace(namespace);
  for (const [name, replicas] of Object.entries(options.deployments ?? {})) await createDeployment(namespace, name, replicas);
  const pki = await createTestPki();
  const identities: Record<string, Identity> = {};
  for (const [name, spec] of Object.entries(options.identities ?? {})) {
    identities[name] = await pki.issueClient({ name, cn: spec.cn, organizations: spec.organizations });
  }
  const port = freePort();
  const env: Record<string, string> = {
    LISTEN_ADDR: `127.0.0.1:${port}`,
    WATCH_NAMESPACES: namespace,
    RATE_LIMIT_READS: "off",
    ...options.env,
  };
  if (options.policy) env.AUTHZ_POLICY_FILE = await writePolicy(pki, options.policy);
  const { clusterEnv } = await import("../integration/harness/cluster.ts");
  const kubeconfig = clusterEnv().kubeconfig;
  let svc = await startService({ kubeconfig, pki, env });
  const browser = await launch();
  const contexts: BrowserContext[] = [];
  const origin = `https://localhost:${port}`;
  const c: Fixture = {
    namespace,
    get svc() {
      return svc;
    },
    pki,
    browser,
    origin,
    identities,
    async context(o = {}) {
      const identity = o.identity === undefined ? pki.alice : o.identity;
      const context = await browser.newContext({
        // The relay checks the server's certificate with Node's TLS and the test CA is private: the alternative,
        // NODE_EXTRA_CA_CERTS, is read once at process start, before this run's PKI exists.
        ignoreHTTPSErrors: true,
        clientCertificates: identity ? [{ origin, certPath: identity.certPath, keyPath: identity.keyPath }] : [],
        colorScheme: o.colorScheme ?? "light",
        viewport: o.viewport ?? { width: 1280, height: 800 },
        ...(o.isMobile ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}),
      });
      context.setDefaultTimeout(10_000);
      contexts.push(context);
      return context;
    },
    async open(o = {}) {
      const context = await c.context(o);
      const page = await context.newPage();
      const cspViolations: string[] = [];
      const errors: string[] = [];
      await watchCsp(page, cspViolations);
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
      await page.goto(`${origin}/`);
      await page.waitForSelector("html[data-ready=true]", { state: "attached", timeout: 15_000 });
      return { page, context, cspViolations, errors };
    },
    async restartService() {
      await svc.stop();
      svc = await startService({ kubeconfig, pki, env });
    },
  };
  try {
    await fn(c);
  } finally {
    for (const context of contexts) await context.close().catch(() => {});
    await browser.close().catch(() => {});
    await svc.stop().catch(() => {});
    await pki.cleanup().catch(() => {});
    await kubectl(["delete", "namespace", namespace, "--wait=false"], { allowFail: true });
  }
}

/**
 * Records CSP violations two ways: a `securitypolicyviolation` listener installed by an init script (Playwright
 * injects it over the DevTools protocol, which CSP does not govern: verified by csp_probe in security_test.ts), and
 * the "Refused to …" messages Chromium prints to the console for every blocked load or inline code.
 */
export async function watchCsp(page: Page, into: string[]): Promise<void> {
  await page.exposeBinding("__reportCsp", (_source, text: string) => {
    into.push(text);
  });
  await page.addInitScript(() => {
    // deno-lint-ignore no-explicit-any
    document.addEventListener("securitypolicyviolation", (e: any) => {
      // deno-lint-ignore no-explicit-any
      (globalThis as any).__reportCsp(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} (${e.sourceFile}:${e.lineNumber})`);
    });
  });
  page.on("console", (m) => {
    if (/Refused to|Content Security Policy/.test(m.text())) into.push(m.text());
  });
}

/** The row of a Deployment in the console's table. */
export function row(page: Page, namespace: string, name: string) {
  return page.locator(`tr[data-key="${namespace}/${name}"]`);
}

/** Resolves when the row's replicas cell shows exactly `n` as its first number; returns the milliseconds waited. */
export async function waitReplicasShown(page: Page, namespace: string, name: string, n: number, timeoutMs = 10_000): Promise<number> {
  const start = performance.now();
  await page.waitForFunction(
    ({ key, n }) => {
      const cell = document.querySelector(`tr[data-key="${key}"] [data-col=replicas]`);
      const first = cell?.textContent?.match(/\d+/)?.[0];
      return first !== undefined && Number(first) === n;
    },
    { key: `${namespace}/${name}`, n },
    { timeout: timeoutMs, polling: "raf" },
  );
  return performance.now() - start;
}

/** A policy file: `rules` as in src/authz/README.md; removed with the PKI dir. */
export async function writePolicy(pki: TestPki, rules: unknown[]): Promise<string> {
  const path = `${pki.dir}/policy.json`;
  await Deno.writeTextFile(path, JSON.stringify({ rules }));
  return path;
}

/** Access-log lines of the service (`msg: "request"`). */
export function requests(svc: RunningService): { method: string; path: string; status: number; route?: string; clientCN?: string }[] {
  // deno-lint-ignore no-explicit-any
  return svc.logs.filter((l) => l.msg === "request") as any;
}

export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Milliseconds, one decimal, for the printed measurements. */
export function ms(n: number): string {
  return `${Math.round(n * 10) / 10} ms`;
}
