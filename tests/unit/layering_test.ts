/**
 * Layers point downward (house style 12): `src/kube/` knows nothing of HTTP or of anything built on it. This reads
 * the import statements of every module under src/kube, follows the local ones transitively, and fails naming the
 * chain when one reaches a layer above kube.
 */
import assert from "node:assert/strict";

const SRC = new URL("../../src/", import.meta.url);
const KUBE = new URL("kube/", SRC);
/** What sits above kube: the HTTP layer and everything that serves or wires it. */
const ABOVE_KUBE = ["http/", "handlers/", "authz/", "tls/", "cli/", "main.ts", "service.ts"].map((p) => new URL(p, SRC).href);

/** Module specifiers of static imports and re-exports (`… from "x"`), side-effect imports and dynamic imports. */
function specifiers(source: string): string[] {
  const pattern = /\bfrom\s*["']([^"']+)["']|\bimport\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)/g;
  return [...source.matchAll(pattern)].map((m) => m[1] ?? m[2] ?? m[3]);
}

async function kubeModules(dir: URL = KUBE): Promise<URL[]> {
  const found: URL[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isDirectory) found.push(...await kubeModules(new URL(`${entry.name}/`, dir)));
    else if (entry.isFile && entry.name.endsWith(".ts")) found.push(new URL(entry.name, dir));
  }
  return found;
}

/** For each local module reachable from `start`, the import chain that reaches it. */
async function reachable(start: URL): Promise<Map<string, string[]>> {
  const chains = new Map<string, string[]>([[start.href, [start.href]]]);
  const queue = [start.href];
  while (queue.length) {
    const href = queue.shift()!;
    for (const specifier of specifiers(await Deno.readTextFile(new URL(href)))) {
      if (!specifier.startsWith(".")) continue; // npm:, node:, jsr: — not a layer of ours
      const target = new URL(specifier, href).href;
      if (chains.has(target)) continue;
      chains.set(target, [...chains.get(href)!, target]);
      // A layer above kube is reported, not followed: the first offending edge is the one to fix.
      if (!ABOVE_KUBE.some((layer) => target.startsWith(layer) || target === layer)) queue.push(target);
    }
  }
  return chains;
}

const relative = (href: string) => href.slice(SRC.href.length);

Deno.test("the import scanner finds every form of import, so the layering check cannot pass by missing one", () => {
  const source = `
import { a } from "./a.ts";
import type { B } from "../http/b.ts";
import {
  c,
  d,
} from '../http/c.ts';
export { e } from "./e.ts";
export * from "./f.ts";
import "../http/side_effect.ts";
const g = await import("../http/g.ts");
import { Watch } from "@kubernetes/client-node";
`;
  assert.deepEqual(specifiers(source), [
    "./a.ts",
    "../http/b.ts",
    "../http/c.ts",
    "./e.ts",
    "./f.ts",
    "../http/side_effect.ts",
    "../http/g.ts",
    "@kubernetes/client-node",
  ]);
});

Deno.test("no module under src/kube imports from src/http or any layer above it, directly or indirectly", async () => {
  const modules = await kubeModules();
  // A wrong path would make this pass vacuously; kube has well over a dozen modules, scaler.ts among them.
  assert.ok(modules.length > 10, `found only ${modules.length} modules under ${KUBE.pathname}`);
  assert.ok(modules.some((m) => m.href.endsWith("/kube/scaler.ts")));
  const violations: string[] = [];
  for (const module of modules) {
    for (const [target, chain] of await reachable(module)) {
      if (ABOVE_KUBE.some((layer) => target.startsWith(layer) || target === layer)) {
        violations.push(chain.map(relative).join(" -> "));
      }
    }
  }
  assert.deepEqual(
    violations,
    [],
    `kube/ must know nothing of HTTP; map its errors in src/http/problem.ts instead:\n${violations.join("\n")}`,
  );
});
