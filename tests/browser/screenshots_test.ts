/**
 * [browser] The console in light and dark, on a desktop and a phone, with a realistic set of Deployments, and the
 * scale dialog warning about an HPA. `make screenshots` writes them to docs/screenshots/ (SCREENSHOTS_DIR); in
 * `make test` they go to a temp dir and only prove every layout renders without errors.
 */
import assert from "node:assert/strict";
import { createDeployment, hpaManifest, kubectl, row, scenario, withConsole } from "./harness.ts";

const NAMESPACES: Record<string, [string, number, string][]> = {
  demo: [["web", 3, "nginx:1.27"], ["api", 5, "registry.example/api:2.4.1"], ["worker", 2, "registry.example/worker:2.4.1"]],
  staging: [
    ["web", 2, "nginx:1.27"],
    ["checkout", 4, "registry.example/checkout:1.9.0"],
    ["search-indexer", 0, "registry.example/indexer:0.8.3"],
    ["payments", 6, "registry.example/payments:3.1.2"],
  ],
};

scenario("screenshots: light and dark, desktop and phone, and the scale dialog with an HPA", async () => {
  const out = Deno.env.get("SCREENSHOTS_DIR") || await Deno.makeTempDir({ prefix: "replica-api-screens-" });
  await Deno.mkdir(out, { recursive: true });
  for (const [ns, items] of Object.entries(NAMESPACES)) {
    await kubectl(["create", "namespace", ns], { allowFail: true });
    for (const [name, replicas, image] of items) await createDeployment(ns, name, replicas, image);
  }
  await kubectl(["apply", "-f", "-"], { stdin: hpaManifest("staging", "checkout", "checkout", 2, 12) });
  const written: string[] = [];
  await withConsole(
    { env: { WATCH_NAMESPACES: Object.keys(NAMESPACES).join(","), OPERATIONS: "scale,restart,pause,undo,image" } },
    async (c) => {
      const shots = [
        { file: "console-light.png", colorScheme: "light", viewport: { width: 1280, height: 720 } },
        { file: "console-dark.png", colorScheme: "dark", viewport: { width: 1280, height: 720 } },
        { file: "console-phone-light.png", colorScheme: "light", viewport: { width: 390, height: 844 }, isMobile: true },
        { file: "console-phone-dark.png", colorScheme: "dark", viewport: { width: 390, height: 844 }, isMobile: true },
      ] as const;
      for (const s of shots) {
        const { page, errors } = await c.open({ colorScheme: s.colorScheme, viewport: s.viewport, isMobile: "isMobile" in s });
        await row(page, "staging", "payments").waitFor();
        await page.locator('#connection[data-state="live"]').waitFor({ state: "attached" });
        await page.screenshot({ path: `${out}/${s.file}` });
        written.push(s.file);
        if (!("isMobile" in s)) {
          const button = page.locator('button[data-action=scale][aria-label="Scale staging/checkout"]');
          await button.click();
          const dialog = page.locator("dialog#op-dialog[data-op=scale]");
          await dialog.waitFor({ state: "visible" });
          await dialog.locator("#op-replicas").fill("8");
          await dialog.locator("#op-warning").filter({ hasText: "checkout" }).waitFor();
          const file = `scale-dialog-${s.colorScheme}.png`;
          await page.screenshot({ path: `${out}/${file}` });
          written.push(file);
        }
        assert.deepEqual(errors, [], `no console errors (${s.file})`);
      }
    },
  );
  console.log(`browser: screenshots in ${out}: ${written.join(", ")}`);
});
