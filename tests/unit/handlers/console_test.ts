import assert from "node:assert/strict";
import { createConsoleHandlers } from "../../../src/handlers/console.ts";
import { loadStaticAssets } from "../../../src/files/mod.ts";
import { HttpError } from "../../../src/http/mod.ts";
import type { RequestContext } from "../../../src/http/mod.ts";

const CONTEXT: RequestContext = { remoteAddr: "127.0.0.1", params: {} };

async function withAssets(files: Record<string, string>, fn: (h: ReturnType<typeof createConsoleHandlers>) => Promise<void> | void) {
  const dir = await Deno.makeTempDir();
  try {
    for (const [name, text] of Object.entries(files)) await Deno.writeTextFile(`${dir}/${name}`, text);
    await fn(createConsoleHandlers({ assets: await loadStaticAssets(dir) }));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the page and its files are served with their type, a strong ETag and no-cache, and revalidate to a bodiless 304", async () => {
  await withAssets({ "index.html": "<!doctype html><title>x</title>", "main.js": "export {};" }, async (h) => {
    const page = await h.page(new Request("https://h/"), CONTEXT);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(page.headers.get("cache-control"), "no-cache");
    const etag = page.headers.get("etag")!;
    assert.match(etag, /^"sha256-/);
    assert.equal(await page.text(), "<!doctype html><title>x</title>");
    const again = await h.page(new Request("https://h/", { headers: { "if-none-match": etag } }), CONTEXT);
    assert.equal(again.status, 304);
    assert.equal(again.headers.get("etag"), etag);
    assert.equal(await again.text(), "");
    const other = await h.page(new Request("https://h/", { headers: { "if-none-match": '"sha256-old"' } }), CONTEXT);
    assert.equal(other.status, 200, "a stale tag gets the new page");

    const js = await h.asset(new Request("https://h/console/main.js"), { ...CONTEXT, params: { file: "main.js" } });
    assert.equal(js.headers.get("content-type"), "text/javascript; charset=utf-8");
    assert.equal(await js.text(), "export {};");
  });
});

Deno.test("an unknown console file is a 404 naming it; a missing page is a 503 that says the API still works", async () => {
  await withAssets({ "main.js": "export {};" }, (h) => {
    assert.throws(() => h.asset(new Request("https://h/console/nope.js"), { ...CONTEXT, params: { file: "nope.js" } }), (e) => {
      return e instanceof HttpError && e.status === 404 && /nope\.js/.test(e.detail);
    });
    assert.throws(() => h.page(new Request("https://h/"), CONTEXT), (e) => {
      return e instanceof HttpError && e.status === 503 && /index\.html/.test(e.detail) && /\/api\/v1 works/.test(e.detail);
    });
  });
});

Deno.test("the console as shipped: an index.html and its modules, all of it under the 150 KB first-load budget", async () => {
  const assets = await loadStaticAssets(new URL("../../../src/console", import.meta.url).pathname);
  assert.ok(assets.get("index.html"), "the page is there");
  assert.ok(assets.names.includes("main.js") && assets.names.includes("console.css"), assets.names.join(", "));
  // Every served file is loaded by the first visit (the page imports each module), so their sum is what it transfers.
  assert.ok(assets.totalBytes < 150_000, `${assets.totalBytes} bytes`);
  for (const name of assets.names) {
    if (!name.endsWith(".js")) continue;
    const source = assets.get(name)!.text;
    for (const [, specifier] of source.matchAll(/\bfrom\s*"([^"]+)"/g)) {
      assert.ok(assets.get(specifier.replace(/^\.\//, "")), `${name} imports ${specifier}, which is served`);
    }
  }
});

Deno.test("the page preloads every module it imports, so a new module cannot add a round trip unnoticed", async () => {
  const assets = await loadStaticAssets(new URL("../../../src/console", import.meta.url).pathname);
  const page = assets.get("index.html")!.text;
  const missing = assets.names.filter((n) =>
    n.endsWith(".js") && n !== "main.js" && n !== "types.js" && !page.includes(`<link rel="modulepreload" href="/console/${n}">`)
  );
  // types.js holds only JSDoc typedefs: nothing imports it at run time.
  assert.deepEqual(missing, []);
});
