/**
 * `make bench-console`: the console with 10,000 Deployments (100 namespaces × 100, bench/lib.ts populate, on the
 * benchmarks' own control plane, bench/cluster.sh), in headless Debian chromium (the browser suite's harness).
 * Not a timed test: it prints numbers against the issue's targets (first render ≤ 1 s, a filter keystroke ≤ 100 ms)
 * and writes them to .cache/bench/results/console.{md,json}.
 *
 * - first render: the page's own mark `console:rendered` (after the first render of the full snapshot), as
 *   milliseconds since navigation start (so it includes whoami, the 10k snapshot over the SSE watch and the render),
 *   over BENCH_CONSOLE_LOADS (5) fresh page loads; also when `html[data-ready]` was set.
 * - filter: the page's `console:filter` measures, one per keystroke, while typing BENCH_CONSOLE_QUERY
 *   ("bench-042/app-0001") one key at a time, then deleting it key by key; plus the time from each key press to the
 *   next frame after the count changed, seen from the test (includes the DevTools round trip).
 */
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_ARGS, skipReason } from "../tests/browser/harness.ts";
import { createTestPki } from "../tests/support/pki.ts";
import { startService } from "../tests/integration/harness/service.ts";
import { BIG } from "./scale.ts";
import { BENCH_CACHE, clusterUp, envNumber, fmt, Kube, log, median, populate, quantile, table } from "./lib.ts";

// Page functions run in the browser, not here: the DOM is only named for the type-checker.
// deno-lint-ignore no-explicit-any
declare const document: any;
// deno-lint-ignore no-explicit-any
declare const MutationObserver: any;

const reason = skipReason();
if (reason) {
  console.log(`SKIP: bench-console: ${reason}`);
  Deno.exit(0);
}

const loads = envNumber("BENCH_CONSOLE_LOADS", 5);
const query = Deno.env.get("BENCH_CONSOLE_QUERY") ?? "bench-042/app-0001";
const total = BIG.namespaces * BIG.perNamespace;

const cluster = await clusterUp();
const kube = new Kube(cluster);
log(`bench-console: making sure ${total} Deployments exist (${BIG.namespaces} namespaces)`);
const created = await populate(kube, BIG);
kube.close();
log(`bench-console: created ${created.created} in ${created.seconds.toFixed(1)} s`);

const pki = await createTestPki();
const svc = await startService({
  kubeconfig: cluster.kubeconfig,
  pki,
  env: { RATE_LIMIT_READS: "off", OPERATIONS: "scale,restart,pause,undo,image" },
});
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
const result: Record<string, unknown> = { deployments: total, chromium: browser.version() };
try {
  // Wait until the service's cache holds all of them.
  for (let i = 0; i < 600; i++) {
    const h = await svc.api("/api/v1/health");
    if (h.body?.cache?.deployments >= total) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    clientCertificates: [{ origin: svc.apiUrl, certPath: pki.alice.certPath, keyPath: pki.alice.keyPath }],
    viewport: { width: 1280, height: 800 },
  });
  context.setDefaultTimeout(60_000);
  // When html[data-ready] turns true (whoami and the first snapshot in), in page time.
  await context.addInitScript(() => {
    new MutationObserver((_: unknown, observer: { disconnect(): void }) => {
      if (document.documentElement.dataset.ready === "true") {
        // deno-lint-ignore no-explicit-any
        (globalThis as any).__readyAt = performance.now();
        observer.disconnect();
      }
    }).observe(document.documentElement, { attributes: true, attributeFilter: ["data-ready"] });
  });
  const rendered: number[] = [];
  const ready: number[] = [];
  let bytes = 0;
  for (let i = 0; i < loads; i++) {
    const page = await context.newPage();
    if (i === 0) {
      page.on("response", async (r) => {
        if (r.url().startsWith(svc.apiUrl) && !r.url().includes("/api/")) bytes += (await r.body().catch(() => new Uint8Array())).length;
      });
    }
    await page.goto(`${svc.apiUrl}/`);
    await page.waitForFunction(() => performance.getEntriesByName("console:rendered").length > 0, undefined, { timeout: 60_000 });
    await page.waitForSelector("html[data-ready=true]", { state: "attached", timeout: 60_000 });
    const t = await page.evaluate(() => ({
      rendered: performance.getEntriesByName("console:rendered")[0].startTime,
      rows: document.querySelectorAll("table#deployments tbody tr[data-key]").length,
      count: document.querySelector("#count")?.textContent ?? "",
    }));
    rendered.push(t.rendered);
    // deno-lint-ignore no-explicit-any
    ready.push(await page.evaluate(() => (globalThis as any).__readyAt ?? NaN));
    log(
      `bench-console: load ${i + 1}: console:rendered at ${fmt(t.rendered, 0)} ms, data-ready at ${
        fmt(ready[i], 0)
      } ms; ${t.rows} rows in the DOM; #count "${t.count.trim()}"`,
    );
    if (i < loads - 1) await page.close();
    else {
      // Filter keystrokes on the last page.
      await page.locator("#filter").focus();
      const filter: number[] = [];
      const perKey: number[] = [];
      const keys = [...query.split(""), ...query.split("").map(() => "Backspace")];
      for (const key of keys) {
        const before = await page.evaluate(() => performance.getEntriesByName("console:filter").length);
        const t0 = performance.now();
        await page.keyboard.press(key);
        await page.waitForFunction((n) => performance.getEntriesByName("console:filter").length > n, before, { polling: "raf" });
        perKey.push(performance.now() - t0);
        filter.push(
          await page.evaluate(() => {
            const all = performance.getEntriesByName("console:filter");
            return all[all.length - 1].duration;
          }),
        );
      }
      result.filter = { keystrokes: keys.length, measures: filter, perKeyRoundTrip: perKey };
      log(
        `bench-console: filter: ${keys.length} keystrokes; console:filter p50 ${fmt(median(filter))} ms, p90 ${
          fmt(quantile(filter, 0.9))
        } ms, max ${fmt(Math.max(...filter))} ms; key press to next frame (incl. DevTools) p50 ${fmt(median(perKey))} ms, max ${
          fmt(Math.max(...perKey))
        } ms`,
      );
    }
  }
  result.firstRender = { rendered, ready };
  result.firstLoadBytes = bytes;
  // deno-lint-ignore no-explicit-any
  const f = result.filter as any;
  const md = [
    `### Console with ${total} Deployments (headless Chromium ${browser.version()})`,
    "",
    table(["measure", "p50", "max", "target"], [
      [
        `first render (console:rendered since navigation start, ${loads} loads)`,
        `${fmt(median(rendered), 0)} ms`,
        `${fmt(Math.max(...rendered), 0)} ms`,
        "≤ 1000 ms",
      ],
      [
        `filter keystroke (console:filter, ${f.keystrokes} keys)`,
        `${fmt(median(f.measures))} ms`,
        `${fmt(Math.max(...f.measures))} ms`,
        "≤ 100 ms",
      ],
      [`data-ready (whoami and first snapshot in)`, `${fmt(median(ready), 0)} ms`, `${fmt(Math.max(...ready), 0)} ms`, ""],
      [
        "key press to next frame, from the test (incl. DevTools round trip)",
        `${fmt(median(f.perKeyRoundTrip))} ms`,
        `${fmt(Math.max(...f.perKeyRoundTrip))} ms`,
        "",
      ],
    ]),
    "",
    `Console files on first load (HTML, CSS, JS; API answers excluded): ${(bytes / 1024).toFixed(1)} KB (target < 150 KB).`,
  ].join("\n");
  console.log(`\n${md}\n`);
  await Deno.mkdir(`${BENCH_CACHE}/results`, { recursive: true });
  await Deno.writeTextFile(`${BENCH_CACHE}/results/console.md`, md + "\n");
  await Deno.writeTextFile(`${BENCH_CACHE}/results/console.json`, JSON.stringify(result, null, 2) + "\n");
} finally {
  await browser.close().catch(() => {});
  await svc.stop();
  await pki.cleanup();
}
