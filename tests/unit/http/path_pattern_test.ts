import assert from "node:assert/strict";
import { compilePathPattern } from "../../../src/http/path_pattern.ts";

const patterns = [
  "/api/v1/deployments",
  "/api/v1/namespaces/:namespace/deployments",
  "/api/v1/namespaces/:namespace/deployments/:name",
  "/api/v1/namespaces/:namespace/deployments/:name/replicas",
  "/livez",
  "/things/:id(\\d+)", // beyond the fast path: must fall back to URLPattern
  "/files/*",
];

const paths = [
  "/",
  "/api/v1/deployments",
  "/api/v1/deployments/",
  "/api/v1/deployments/x",
  "/api/v1/namespaces/demo/deployments",
  "/api/v1/namespaces//deployments",
  "/api/v1/namespaces/demo/deployments/web",
  "/api/v1/namespaces/demo/deployments/web.v2",
  "/api/v1/namespaces/demo/deployments/web/replicas",
  "/api/v1/namespaces/demo/deployments/web/replicas/",
  "/api/v1/namespaces/d%65mo/deployments/w%2Fb/replicas",
  "/api/v1/namespaces/a:b/deployments/x",
  "/API/v1/deployments",
  "/livez",
  "/livez/",
  "/things/12",
  "/things/ab",
  "/files/a/b/c",
];

Deno.test("compiled path patterns match exactly what URLPattern matches, with the same raw parameters", () => {
  for (const pattern of patterns) {
    const reference = new URLPattern({ pathname: pattern });
    const compiled = compilePathPattern(pattern);
    for (const path of paths) {
      const expected = reference.exec({ pathname: path })?.pathname.groups;
      const cleaned = expected && Object.fromEntries(Object.entries(expected).filter(([, v]) => v !== undefined));
      assert.deepEqual(compiled.exec(path), cleaned, `${pattern} vs ${path}`);
    }
  }
});

Deno.test("a pattern that names a parameter twice is refused, as URLPattern refuses it", () => {
  assert.throws(() => new URLPattern({ pathname: "/a/:x/b/:x" }), TypeError);
  assert.throws(() => compilePathPattern("/a/:x/b/:x"), TypeError);
});
