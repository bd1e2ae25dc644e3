/**
 * Layers point one way (house style 12 and 15). Every module under src/ belongs to one layer of the ordered list
 * below, and may import only from its own layer or the ones before it; code outside a folder enters it only
 * through the folder's mod.ts. A new folder must be placed in the list, so nothing is ever left unchecked.
 */
import assert from "node:assert/strict";
import { dirname, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../../src/", import.meta.url)).replace(/\/$/, "");

/**
 * From the bottom up. Within kube/, the same rule orders its rooms: errors and names, the cache model, the API,
 * the informer that fills the model from the API, the writes, and the client that binds them.
 */
const LAYERS: readonly string[] = [
  // The browser console: served as files, run by the browser, never imported by the server (a test says so).
  "console/",
  "version.ts",
  "observability/",
  "files/",
  "limits/",
  "kube/kube_error.ts",
  "kube/names.ts",
  "kube/cache/",
  "kube/api/",
  "kube/informer/",
  "kube/writes/",
  "kube/client.ts",
  "kube/mod.ts",
  "http/",
  "tls/",
  "authz/",
  "handlers/",
  "config/",
  "cli/",
  "service.ts",
  "main.ts",
];

/** Module specifiers of static imports and re-exports (`… from "x"`), side-effect imports and dynamic imports. */
function specifiers(source: string): string[] {
  const pattern = /\bfrom\s*["']([^"']+)["']|\bimport\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']\s*\)/g;
  return [...source.matchAll(pattern)].map((m) => m[1] ?? m[2] ?? m[3]);
}

function layerOf(path: string, layers: readonly string[] = LAYERS): number {
  const rel = relative(SRC, path).split(sep).join("/");
  return layers.findIndex((layer) => layer.endsWith("/") ? rel.startsWith(layer) : rel === layer);
}

/**
 * The folder a import from `importer` must enter through: the outermost folder holding `target` but not
 * `importer` (undefined when `target` is in the importer's folder or one of its ancestors).
 */
function frontDoor(importer: string, target: string): string | undefined {
  let door: string | undefined;
  for (let dir = dirname(target); dir.startsWith(SRC) && dir !== SRC; dir = dirname(dir)) {
    if (!(dirname(importer) + sep).startsWith(dir + sep)) door = dir;
  }
  return door;
}

async function modules(dir = SRC): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) found.push(...await modules(path));
    else if (entry.isFile && /\.(ts|js)$/.test(entry.name)) found.push(path);
  }
  return found;
}

/** Every local import under src/: [importer, target], both absolute paths. */
async function edges(): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for (const module of await modules()) {
    for (const specifier of specifiers(await Deno.readTextFile(module))) {
      if (!specifier.startsWith(".")) continue; // npm:, node: — not a layer of ours
      const target = resolve(dirname(module), specifier);
      if (target.startsWith(SRC + sep)) out.push([module, target]);
    }
  }
  return out;
}

const rel = (path: string) => relative(SRC, path).split(sep).join("/");

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

Deno.test("the layer list and the front-door rule classify what they are meant to", () => {
  assert.ok(layerOf(`${SRC}/kube/cache/cache.ts`) < layerOf(`${SRC}/kube/api/client.ts`));
  assert.ok(layerOf(`${SRC}/kube/writes/scaler.ts`) < layerOf(`${SRC}/http/app.ts`));
  assert.equal(layerOf(`${SRC}/nowhere/x.ts`), -1);
  assert.equal(frontDoor(`${SRC}/handlers/replicas.ts`, `${SRC}/kube/cache/cache.ts`), `${SRC}/kube`);
  assert.equal(frontDoor(`${SRC}/kube/writes/scaler.ts`, `${SRC}/kube/cache/cache.ts`), `${SRC}/kube/cache`);
  assert.equal(frontDoor(`${SRC}/kube/writes/scaler.ts`, `${SRC}/kube/kube_error.ts`), undefined);
  assert.equal(frontDoor(`${SRC}/handlers/replicas.ts`, `${SRC}/handlers/validation.ts`), undefined);
});

Deno.test("every module under src/ sits in a layer of the ordered list", async () => {
  const all = await modules();
  // A wrong path would make every check here pass vacuously.
  assert.ok(all.length > 80, `found only ${all.length} modules under ${SRC}`);
  assert.deepEqual(all.filter((m) => layerOf(m) === -1).map(rel), [], "place these in LAYERS in tests/unit/layering_test.ts");
});

Deno.test("no module under src/ imports from a layer above its own", async () => {
  const upward = (await edges())
    .filter(([from, to]) => layerOf(to) > layerOf(from))
    .map(([from, to]) => `${rel(from)} (${LAYERS[layerOf(from)]}) -> ${rel(to)} (${LAYERS[layerOf(to)]})`);
  assert.deepEqual(upward, [], `these imports point up; move the shared piece down or invert the dependency:\n${upward.join("\n")}`);
});

Deno.test("code outside a folder enters it only through its mod.ts", async () => {
  const bypassing: string[] = [];
  for (const [from, to] of await edges()) {
    const door = frontDoor(from, to);
    if (door !== undefined && to !== `${door}/mod.ts`) bypassing.push(`${rel(from)} -> ${rel(to)} (use ${rel(door)}/mod.ts)`);
  }
  assert.deepEqual(bypassing, [], bypassing.join("\n"));
});

Deno.test("every folder under src/ that others import from has a mod.ts", async () => {
  const missing = new Set<string>();
  for (const [from, to] of await edges()) {
    const door = frontDoor(from, to);
    if (door === undefined) continue;
    try {
      await Deno.stat(`${door}/mod.ts`);
    } catch {
      missing.add(rel(door));
    }
  }
  assert.deepEqual([...missing], []);
});

Deno.test("the browser console and the server share no code: the console imports only its own files, the server none of them", async () => {
  const crossing = (await edges())
    .filter(([from, to]) => (layerOf(from) === 0) !== (layerOf(to) === 0))
    .map(([from, to]) => `${rel(from)} -> ${rel(to)}`);
  assert.deepEqual(crossing, [], crossing.join("\n"));
  // Nor anything from outside: no npm:, node: or URL import can reach a browser (there is no bundler).
  const outside: string[] = [];
  for (const module of (await modules()).filter((m) => layerOf(m) === 0)) {
    for (const specifier of specifiers(await Deno.readTextFile(module))) {
      if (!/^\.\/[a-z_]+\.js$/.test(specifier)) outside.push(`${rel(module)}: ${specifier}`);
    }
  }
  assert.deepEqual(outside, [], outside.join("\n"));
});
