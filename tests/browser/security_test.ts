/**
 * [browser] The console's security, seen from a real browser: mTLS before any page, the cross-origin guard against a
 * hostile page, a read-only identity, the security headers, CSP, and assets that revalidate.
 */
import assert from "node:assert/strict";
import { CSP, kubectl, requests, row, scenario, specReplicas, waitFor, watchCsp, withConsole } from "./harness.ts";

// Page functions (page.evaluate, waitForFunction, addInitScript) run in the browser, not here: the DOM is only named for the type-checker.
// deno-lint-ignore no-explicit-any
declare const document: any;

scenario("the page loads only with a valid client certificate; without one the TLS handshake fails", async () => {
  await withConsole({ deployments: { web: 2 } }, async (c) => {
    const { page } = await c.open();
    assert.equal(await page.title(), "replica-api");
    await page.locator("#identity").filter({ hasText: "alice" }).waitFor();

    const refused: Record<string, string> = {};
    for (
      const [label, identity] of [
        ["no certificate", null],
        ["a certificate from an unknown CA", c.pki.foreignClient],
        ["an expired certificate", c.pki.expiredClient],
      ] as const
    ) {
      const context = await c.context({ identity });
      const other = await context.newPage();
      const error = await other.goto(`${c.origin}/`, { timeout: 10_000 }).then(
        (r) => `loaded with status ${r?.status()}`,
        (e: Error) => e.message.split("\n")[0],
      );
      refused[label] = error;
      assert.match(error, /net::ERR_/, `${label}: the page must not load (${error})`);
    }
    console.log(`browser: refused handshakes: ${JSON.stringify(refused)}`);
    // The service counted the refusals as handshake failures (nothing reached HTTP).
    const metrics = await (await fetch(`${c.svc.probeUrl}/metrics`)).text();
    assert.match(metrics, /replica_api_tls_handshake_failures_total\{reason="no_client_certificate"\} [1-9]/);
    assert.ok(
      !requests(c.svc).some((r) => r.status === 401 || r.status === 403),
      "no request reached the HTTP layer without a certificate",
    );
  });
});

scenario("security headers are on the page, its assets, the API and problems", async () => {
  await withConsole({ deployments: { web: 1 } }, async (c) => {
    const context = await c.context();
    const page = await context.newPage();
    const seen: { url: string; headers: Record<string, string> }[] = [];
    page.on("response", (r) => {
      if (r.url().startsWith(c.origin)) seen.push({ url: r.url(), headers: r.headers() });
    });
    const main = await page.goto(`${c.origin}/`);
    await page.waitForSelector("html[data-ready=true]", { state: "attached", timeout: 15_000 });
    assert.ok(main);
    for (const extra of ["/api/v1/whoami", "/console/does-not-exist.js", `/api/v1/namespaces/${c.namespace}/deployments/nope`]) {
      const r = await page.request.get(`${c.origin}${extra}`);
      seen.push({ url: r.url(), headers: r.headers() });
    }
    assert.ok(seen.length >= 5, `page, assets and API answers seen: ${seen.map((s) => s.url).join(", ")}`);
    for (const { url, headers } of seen) {
      assert.equal(headers["content-security-policy"], CSP, `CSP on ${url}`);
      assert.equal(headers["x-content-type-options"], "nosniff", `nosniff on ${url}`);
      assert.equal(headers["referrer-policy"], "no-referrer", `Referrer-Policy on ${url}`);
    }
  });
});

scenario("the console breaks no CSP rule (violations are detected: an inline script is caught)", async () => {
  await withConsole({ deployments: { web: 3, api: 1 } }, async (c) => {
    const { page, cspViolations, errors } = await c.open();
    // Exercise the page a little: filter, sort, open and close a dialog.
    await page.locator("#filter").fill("web");
    await page.locator("table#deployments th button").first().click();
    await row(page, c.namespace, "web").click();
    await page.keyboard.press("Escape");
    await page.waitForTimeout(300);
    assert.deepEqual(cspViolations, [], "no CSP violation while using the console");

    // The detector works: an inline script and an inline style injected into the real page are blocked and seen.
    const probe = await c.context();
    const p = await probe.newPage();
    const caught: string[] = [];
    await watchCsp(p, caught);
    await p.goto(`${c.origin}/`);
    await p.evaluate(() => {
      const s = document.createElement("script");
      s.textContent = "document.title = 'inline ran'";
      document.body.append(s);
      const st = document.createElement("style");
      st.textContent = "body { color: red }";
      document.head.append(st);
    });
    await waitFor(() => caught.length >= 2, 5_000, "the CSP violations of the probe");
    assert.notEqual(await p.title(), "inline ran", "the inline script was blocked");
    assert.deepEqual(errors.filter((e) => !/favicon/.test(e)), [], "no console errors");
  });
});

scenario("assets carry ETags, are always revalidated and answer 304 to If-None-Match", async () => {
  await withConsole({ deployments: { web: 1 } }, async (c) => {
    const { page } = await c.open();
    const assets: string[] = await page.evaluate(() => [
      location.origin + "/",
      ...performance.getEntriesByType("resource").map((e) => e.name).filter((u) => new URL(u).pathname.startsWith("/console/")),
    ]);
    assert.ok(assets.length >= 3, `the page and its assets: ${assets.join(", ")}`);
    const checked = await page.evaluate(async (urls) => {
      const out = [];
      for (const url of urls) {
        const first = await fetch(url, { cache: "no-store" });
        const etag = first.headers.get("etag");
        const again = etag ? await fetch(url, { headers: { "If-None-Match": etag } }) : undefined;
        out.push({ url, status: first.status, etag, cacheControl: first.headers.get("cache-control"), revalidated: again?.status });
      }
      return out;
    }, assets);
    for (const a of checked) {
      assert.equal(a.status, 200, a.url);
      assert.match(a.etag ?? "", /^"[^"]+"$/, `a strong ETag on ${a.url}`);
      assert.match(a.cacheControl ?? "", /no-cache/, `Cache-Control: no-cache on ${a.url}`);
      assert.equal(a.revalidated, 304, `304 for an unchanged ${a.url}`);
    }
    console.log(`browser: ${checked.length} console files with ETags, all 304 on If-None-Match`);
  });
});

scenario("a read-only identity is offered no control, and its forged PUT from the page gets 403", async () => {
  await withConsole({
    deployments: { web: 2 },
    identities: { viewer: { cn: "viewer", organizations: ["audit"] } },
    policy: [
      { subjects: [{ group: "sre" }], permissions: { read: ["*"], scale: ["*"] } },
      { subjects: [{ cn: "viewer" }], permissions: { read: ["*"] } },
    ],
  }, async (c) => {
    const { page } = await c.open({ identity: c.identities.viewer });
    await page.locator("#identity").filter({ hasText: "viewer" }).waitFor();
    await row(page, c.namespace, "web").waitFor();
    assert.equal(await page.locator("button[data-action=scale]").count(), 0, "no scale button for a read-only identity");
    await row(page, c.namespace, "web").click();
    await page.keyboard.press("Enter");
    assert.equal(await page.locator("dialog#deployment-dialog [data-action]").count(), 0, "no operation in the Deployment dialog");
    await page.keyboard.press("Escape");

    const forged = await page.evaluate(async (url) => {
      const r = await fetch(url, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ replicas: 9 }) });
      return { status: r.status, body: await r.json().catch(() => null) };
    }, `/api/v1/namespaces/${c.namespace}/deployments/web/replicas`);
    assert.equal(forged.status, 403, JSON.stringify(forged));
    assert.equal(await specReplicas(c.namespace, "web"), 2, "nothing changed");

    // The same console shows the control to alice (O=sre).
    const sre = await c.open();
    await sre.page.locator(`button[data-action=scale][aria-label="Scale ${c.namespace}/web"]`).waitFor();
  });
});

scenario("a cross-site page's form POST and fetch PUT to the console origin are refused; nothing changes", async () => {
  await withConsole({ deployments: { web: 2 }, env: { OPERATIONS: "scale,restart" } }, async (c) => {
    // The hostile page: plain HTTP on another port, its own origin. The browser still presents the client
    // certificate to the console origin (there are no cookies: SameSite does not help), which is why the guard exists.
    const target = `${c.origin}/api/v1/namespaces/${c.namespace}/deployments/web`;
    const hostile = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
      new Response(
        `<!doctype html><title>evil</title>
<form id=f method=POST action="${target}/restart" enctype="text/plain"><input name='{"a":"' value='"}'></form>
<script>
  window.results = {};
  fetch("${target}/replicas", { method: "PUT", headers: { "content-type": "application/json" }, body: '{"replicas":9}' })
    .then((r) => (window.results.put = r.status), (e) => (window.results.put = "blocked: " + e.message));
  fetch("${target}/restart", { method: "POST", mode: "no-cors", body: "{}" })
    .then((r) => (window.results.noCors = r.type), (e) => (window.results.noCors = "blocked: " + e.message));
  setTimeout(() => document.getElementById("f").submit(), 300);
</script>`,
        { headers: { "content-type": "text/html" } },
      ));
    try {
      const evil = `http://127.0.0.1:${hostile.addr.port}/`;
      const before = requests(c.svc).length;
      const context = await c.context();
      const page = await context.newPage();
      await page.goto(evil);
      // The form navigates to the console origin, which answers the problem.
      await page.waitForURL(/\/restart$/, { timeout: 10_000 });
      const text = await page.locator("body").innerText();
      // The form POST and the no-cors POST reach the service (the PUT needs a preflight, which fails: never sent).
      const unsafe = () => requests(c.svc).slice(before).filter((r) => r.method !== "GET" && r.method !== "HEAD" && r.method !== "OPTIONS");
      await waitFor(() => unsafe().length >= 2, 5_000, "the two cross-site POSTs at the service").catch(() => {});
      const seen = requests(c.svc).slice(before);
      console.log(`browser: cross-site requests seen by the service: ${seen.map((r) => `${r.method} ${r.path} ${r.status}`).join(", ")}`);
      assert.ok(unsafe().length >= 2, "both cross-site POSTs reached the service (so the refusal is the server's)");
      assert.deepEqual(unsafe().map((r) => r.status), unsafe().map(() => 403), "the service refused each with 403");
      assert.match(text, /403|origin|cross/i, "the problem is shown");
      assert.ok(seen.every((r) => r.method === "GET" || r.method === "OPTIONS" || r.status === 403), "every unsafe request was refused");
      assert.ok(!seen.some((r) => r.method === "PUT" && r.status < 400), "the PUT never succeeded");
      assert.equal(await specReplicas(c.namespace, "web"), 2, "the replicas did not change");
      const restarted = await kubectl([
        "get",
        "deployment",
        "web",
        "-n",
        c.namespace,
        "-o",
        "jsonpath={.spec.template.metadata.annotations}",
      ]);
      assert.doesNotMatch(restarted.stdout, /restartedAt/, "no restart happened");
    } finally {
      await hostile.shutdown();
    }
  });
});
