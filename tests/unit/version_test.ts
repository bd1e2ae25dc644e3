import assert from "node:assert/strict";
import { VERSION } from "../../src/version.ts";

Deno.test("the service version equals the newest released version in CHANGELOG.md", async () => {
  const changelog = await Deno.readTextFile(new URL("../../CHANGELOG.md", import.meta.url));
  const released = /^## \[(\d+\.\d+\.\d+)\]/m.exec(changelog)?.[1];
  assert.equal(VERSION, released);
});
