import assert from "node:assert/strict";
import { isDns1123Label, isDns1123Subdomain } from "../../../src/kube/names.ts";
import { validateQuery } from "../../../src/http/query.ts";
import {
  validateDeploymentName,
  validateImageReference,
  validateNamespace,
  validateReplicasBody,
} from "../../../src/handlers/validation.ts";
import { HttpError } from "../../../src/http/http_error.ts";

const MAX = 1000;

interface RejectCase {
  readonly name: string;
  readonly run: () => unknown;
  /** Part of the detail the caller needs to fix the request. */
  readonly detail: RegExp;
}

/** Parses like the body reader does, so cases such as 1e400 and -0 arrive exactly as a client would send them. */
const body = (json: string) => () => validateReplicasBody(JSON.parse(json), MAX);

const REJECTED: readonly RejectCase[] = [
  // Namespaces are DNS-1123 labels.
  { name: "namespace with upper case", run: () => validateNamespace("Prod"), detail: /namespace "Prod"/ },
  { name: "namespace of 64 characters", run: () => validateNamespace("a".repeat(64)), detail: /at most 63/ },
  { name: "namespace with a leading dash", run: () => validateNamespace("-prod"), detail: /namespace "-prod"/ },
  { name: "namespace with a trailing dash", run: () => validateNamespace("prod-"), detail: /namespace "prod-"/ },
  { name: "namespace with a dot", run: () => validateNamespace("team.prod"), detail: /namespace "team\.prod"/ },
  { name: "namespace with an underscore", run: () => validateNamespace("team_prod"), detail: /namespace "team_prod"/ },
  { name: "empty namespace", run: () => validateNamespace(""), detail: /namespace ""/ },
  { name: "namespace with a space", run: () => validateNamespace("team prod"), detail: /namespace/ },
  { name: "namespace with a slash", run: () => validateNamespace("a/b"), detail: /namespace/ },
  { name: "namespace with non-ASCII", run: () => validateNamespace("prüf"), detail: /namespace/ },
  // Deployment names are DNS-1123 subdomains.
  { name: "deployment name with upper case", run: () => validateDeploymentName("Web"), detail: /deployment name "Web"/ },
  { name: "deployment name of 254 characters", run: () => validateDeploymentName("a".repeat(254)), detail: /at most 253/ },
  { name: "deployment name with a leading dash", run: () => validateDeploymentName("-web"), detail: /deployment name/ },
  { name: "deployment name with a trailing dash", run: () => validateDeploymentName("web-"), detail: /deployment name/ },
  { name: "deployment name with a leading dot", run: () => validateDeploymentName(".web"), detail: /deployment name/ },
  { name: "deployment name with a trailing dot", run: () => validateDeploymentName("web."), detail: /deployment name/ },
  { name: "deployment name with two dots in a row", run: () => validateDeploymentName("web..v2"), detail: /deployment name/ },
  { name: "deployment name label ending in a dash", run: () => validateDeploymentName("web-.v2"), detail: /deployment name/ },
  { name: "deployment name with an underscore", run: () => validateDeploymentName("web_v2"), detail: /deployment name "web_v2"/ },
  { name: "empty deployment name", run: () => validateDeploymentName(""), detail: /deployment name ""/ },
  // The PUT body: exactly {"replicas": <integer 0..max>}.
  { name: "body that is an array", run: body("[3]"), detail: /JSON object/ },
  { name: "body that is null", run: body("null"), detail: /JSON object/ },
  { name: "body that is a number", run: body("3"), detail: /JSON object/ },
  { name: "body that is a string", run: body('"3"'), detail: /JSON object/ },
  { name: "body that is a boolean", run: body("true"), detail: /JSON object/ },
  { name: "body with an unknown field", run: body('{"replicas":3,"paused":true}'), detail: /unknown field.*"paused"/ },
  { name: "body with a misspelt field only", run: body('{"replica":3}'), detail: /unknown field.*"replica"/ },
  { name: "body with a __proto__ field", run: body('{"replicas":3,"__proto__":{}}'), detail: /unknown field.*"__proto__"/ },
  { name: "body missing replicas", run: body("{}"), detail: /missing the "replicas" field/ },
  { name: "replicas as a string", run: body('{"replicas":"3"}'), detail: /JSON number, got string/ },
  { name: "replicas as null", run: body('{"replicas":null}'), detail: /JSON number, got null/ },
  { name: "replicas as a boolean", run: body('{"replicas":true}'), detail: /JSON number, got boolean/ },
  { name: "replicas as an array", run: body('{"replicas":[3]}'), detail: /JSON number, got object/ },
  { name: "fractional replicas", run: body('{"replicas":1.5}'), detail: /whole number, got 1\.5/ },
  { name: "negative replicas", run: body('{"replicas":-1}'), detail: /must not be negative, got -1/ },
  { name: "replicas above the maximum", run: body('{"replicas":1001}'), detail: /at most 1000 \(MAX_REPLICAS\), got 1001/ },
  { name: "replicas far above the maximum", run: body('{"replicas":1e15}'), detail: /at most 1000/ },
  { name: "replicas overflowing to Infinity (1e400)", run: body('{"replicas":1e400}'), detail: /whole number/ },
  { name: "replicas overflowing to -Infinity (-1e400)", run: body('{"replicas":-1e400}'), detail: /whole number/ },
  // Query parameters.
  {
    name: "unknown query parameter",
    run: () => validateQuery("https://localhost/api/v1/deployments?namepsace=prod", ["namespace"]),
    detail: /unknown query parameter "namepsace"; supported: namespace/,
  },
  {
    name: "query parameter on an endpoint that takes none",
    run: () => validateQuery(new URL("https://localhost/api/v1/health?verbose=1"), []),
    detail: /unknown query parameter "verbose"; this endpoint takes none/,
  },
  {
    name: "known and unknown query parameters together",
    run: () => validateQuery(new URL("https://localhost/x?namespace=a&limit=5"), ["namespace"]),
    detail: /"limit"/,
  },
];

Deno.test("validation rejects every malformed input with 400 and a detail saying what is wrong", async (t) => {
  for (const c of REJECTED) {
    await t.step(c.name, () => {
      assert.throws(c.run, (error: unknown) => {
        assert.ok(error instanceof HttpError, `expected HttpError, got ${error}`);
        assert.equal(error.status, 400);
        assert.match(error.detail, c.detail);
        return true;
      });
    });
  }
});

Deno.test("validation accepts valid names at the length limits", async (t) => {
  const namespaces = ["a", "0", "prod", "team-a", "a1-b2", "a".repeat(63)];
  for (const ns of namespaces) {
    await t.step(`namespace ${ns.length > 20 ? `of ${ns.length} characters` : ns}`, () => assert.equal(validateNamespace(ns), ns));
  }
  const names = ["a", "web", "web-v2", "web.v2", "web.prod.example", "0web", "a".repeat(253), `${"a".repeat(63)}.${"b".repeat(63)}`];
  for (const name of names) {
    await t.step(
      `deployment ${name.length > 20 ? `of ${name.length} characters` : name}`,
      () => assert.equal(validateDeploymentName(name), name),
    );
  }
});

Deno.test("isDns1123Label and isDns1123Subdomain agree with the validators", () => {
  assert.equal(isDns1123Label("a".repeat(63)), true);
  assert.equal(isDns1123Label("a".repeat(64)), false);
  assert.equal(isDns1123Label("a.b"), false);
  assert.equal(isDns1123Subdomain("a.b"), true);
  assert.equal(isDns1123Subdomain("a".repeat(253)), true);
  assert.equal(isDns1123Subdomain("a".repeat(254)), false);
});

Deno.test("validateReplicasBody accepts whole numbers from 0 to the maximum", async (t) => {
  const cases: [string, number][] = [
    ['{"replicas":0}', 0],
    ['{"replicas":1}', 1],
    ['{"replicas":3}', 3],
    ['{"replicas":1.0}', 1],
    ['{"replicas":1e3}', 1000],
    [`{"replicas":${MAX}}`, MAX],
  ];
  for (const [json, expected] of cases) {
    await t.step(json, () => assert.equal(body(json)(), expected));
  }
});

Deno.test("validateReplicasBody normalises -0 to 0", () => {
  const replicas = body('{"replicas":-0}')();
  assert.ok(Object.is(replicas, 0), `expected +0, got ${Object.is(replicas, -0) ? "-0" : replicas}`);
  assert.equal(JSON.stringify({ replicas }), '{"replicas":0}');
});

Deno.test("validateReplicasBody honours a maximum of 0", () => {
  assert.equal(validateReplicasBody({ replicas: 0 }, 0), 0);
  assert.throws(() => validateReplicasBody({ replicas: 1 }, 0), HttpError);
});

Deno.test("validateQuery accepts known parameters and none at all", () => {
  validateQuery(new URL("https://localhost/api/v1/deployments?namespace=prod"), ["namespace"]);
  validateQuery(new URL("https://localhost/api/v1/deployments"), ["namespace"]);
  validateQuery(new URL("https://localhost/api/v1/health"), []);
});

Deno.test("validation truncates long input echoed in the detail", () => {
  assert.throws(() => validateNamespace("X".repeat(10_000)), (error: unknown) => {
    assert.ok(error instanceof HttpError);
    assert.ok(error.detail.length < 500, `detail is ${error.detail.length} characters`);
    return true;
  });
});

Deno.test("image references the runtime accepts, with a tag or a digest, pass unchanged", () => {
  const digest = "sha256:" + "a".repeat(64);
  for (
    const image of [
      "nginx:1.27",
      "library/nginx:1.27-alpine",
      "registry.internal/team/app:1.3",
      "registry.internal:5000/team/app:v2",
      "localhost/app:dev",
      "localhost:5000/app:dev",
      "[::1]:5000/app:1",
      "app@" + digest,
      "registry.internal/app:1.3@" + digest,
      "Registry.Example/app_x/a__b/c-d.e:TAG_1.x",
      "a".repeat(255) + ":" + "t".repeat(128),
    ]
  ) assert.equal(validateImageReference(image), image);
});

Deno.test("an image reference the runtime would refuse, or one without tag or digest, is a 400 that says why", () => {
  const cases: [string, RegExp][] = [
    ["", /empty/],
    ["nginx", /give a tag or a digest.*:latest/],
    ["registry.internal:5000/app", /give a tag or a digest/],
    ["nginx:", /the tag ""/],
    ["nginx:-bad", /the tag "-bad"/],
    ["nginx:" + "t".repeat(129), /1 to 128/],
    ["Nginx:1", /path component "Nginx"/],
    ["team//app:1", /path component ""/],
    ["team/app-:1", /path component "app-"/],
    ["bad_host.example/app:1", /registry "bad_host.example"/],
    ["registry.internal:port/app:1", /port "port"/],
    ["app@sha256:abc", /digest/],
    ["app@sha256:" + "a".repeat(63), /digest|64 hex digits/],
    ["app:1 ", /whitespace/],
    ["app :1", /whitespace/],
    ["a".repeat(256) + ":1", /longer than 255/],
    ["a:" + "b".repeat(600), /longer than 512/],
  ];
  for (const [image, detail] of cases) {
    assert.throws(() => validateImageReference(image), (e: unknown) => {
      assert.ok(e instanceof HttpError, image);
      assert.equal(e.status, 400, image);
      assert.match(e.message, detail, image);
      return true;
    });
  }
});
