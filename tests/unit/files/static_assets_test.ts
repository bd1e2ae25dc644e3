import assert from "node:assert/strict";
import { assetType, loadStaticAssets } from "../../../src/files/mod.ts";

Deno.test("only the console's kinds of file are served; a README, a config file, a hidden or extensionless file is not", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (
      const [name, text] of Object.entries({
        "index.html": "<!doctype html>",
        "app.js": "export {};",
        "site.css": "a{}",
        "README.md": "# x",
        "deno.json": "{}",
        ".app.js.swp": "x",
        "Makefile": "x",
      })
    ) {
      await Deno.writeTextFile(`${dir}/${name}`, text);
    }
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeTextFile(`${dir}/sub/inner.js`, "export {};");
    const assets = await loadStaticAssets(dir);
    assert.deepEqual(assets.names, ["app.js", "index.html", "site.css"]);
    assert.equal(assets.get("README.md"), undefined);
    assert.equal(assets.get("deno.json"), undefined);
    assert.equal(assets.totalBytes, "<!doctype html>".length + "export {};".length + "a{}".length);
    assert.equal(assets.get("app.js")?.contentType, "text/javascript; charset=utf-8");
    assert.equal(assets.get("index.html")?.contentType, "text/html; charset=utf-8");
    assert.equal(assetType("x.PNG"), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("each file's ETag is strong and changes exactly when its bytes change", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/a.js`, "export const a = 1;");
    await Deno.writeTextFile(`${dir}/b.js`, "export const a = 1;");
    const first = await loadStaticAssets(dir);
    assert.match(first.get("a.js")!.etag, /^"sha256-[A-Za-z0-9_-]{32}"$/);
    assert.equal(first.get("a.js")!.etag, first.get("b.js")!.etag, "same bytes, same tag");
    await Deno.writeTextFile(`${dir}/a.js`, "export const a = 2;");
    const second = await loadStaticAssets(dir);
    assert.notEqual(second.get("a.js")!.etag, first.get("a.js")!.etag);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a missing folder is an empty set (the caller answers 503), not a crash", async () => {
  const assets = await loadStaticAssets("/nonexistent/replica-api-console");
  assert.deepEqual(assets.names, []);
  assert.equal(assets.get("index.html"), undefined);
});
