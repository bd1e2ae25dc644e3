import assert from "node:assert/strict";
import { PROBLEM_CONTENT_TYPE, problemResponse, toHttpError } from "../../../src/http/problem.ts";
import { HttpError } from "../../../src/http/http_error.ts";
import { KubeApiError } from "../../../src/kube/api/kube_api_error.ts";
import {
  KubeError,
  type KubeErrorKind,
  PreconditionFailedError,
  StateRefusedError,
  UnknownPartError,
} from "../../../src/kube/kube_error.ts";

Deno.test("problemResponse renders RFC 9457 problem+json", async () => {
  const response = problemResponse(new HttpError(404, 'deployment "prod/web" not found'), "/api/v1/namespaces/prod/deployments/web");
  assert.equal(response.status, 404);
  assert.equal(response.headers.get("content-type"), PROBLEM_CONTENT_TYPE);
  assert.equal(PROBLEM_CONTENT_TYPE, "application/problem+json");
  assert.equal(response.headers.get("cache-control"), "no-store");
  assert.deepEqual(await response.json(), {
    type: "about:blank",
    title: "Not Found",
    status: 404,
    detail: 'deployment "prod/web" not found',
    instance: "/api/v1/namespaces/prod/deployments/web",
  });
});

Deno.test("problemResponse omits instance when none is given and honours a custom title", async () => {
  const response = problemResponse(new HttpError(400, "bad", { title: "Invalid Replicas" }));
  assert.deepEqual(await response.json(), { type: "about:blank", title: "Invalid Replicas", status: 400, detail: "bad" });
});

Deno.test("problemResponse carries the error's extra headers", async () => {
  const response = problemResponse(new HttpError(405, "no", { headers: { allow: "GET, HEAD" } }), "/x");
  assert.equal(response.headers.get("allow"), "GET, HEAD");
  assert.equal(response.headers.get("content-type"), PROBLEM_CONTENT_TYPE);
  await response.body?.cancel();
});

Deno.test("problemResponse never lets error headers override the problem content type", async () => {
  const response = problemResponse(new HttpError(400, "no", { headers: { "content-type": "text/html" } }));
  assert.equal(response.headers.get("content-type"), PROBLEM_CONTENT_TYPE);
  await response.body?.cancel();
});

Deno.test("toHttpError passes an HttpError through unchanged", () => {
  const error = new HttpError(412, "changed");
  assert.equal(toHttpError(error), error);
});

Deno.test("toHttpError turns an unknown error into a generic 500 that leaks nothing", async (t) => {
  const secret = "password=hunter2 at /var/run/secrets/token";
  const thrown: [string, unknown][] = [
    ["Error", new Error(secret)],
    ["TypeError", new TypeError(secret)],
    ["string", secret],
    ["object", { message: secret }],
    ["undefined", undefined],
  ];
  for (const [name, value] of thrown) {
    await t.step(name, async () => {
      const httpError = toHttpError(value);
      assert.equal(httpError.status, 500);
      assert.equal(httpError.cause, value, "the original error is kept as the cause for the log");
      const response = problemResponse(httpError, "/api/v1/deployments");
      const text = await response.text();
      assert.ok(!text.includes("hunter2"), `response leaks the error: ${text}`);
      assert.deepEqual(JSON.parse(text), {
        type: "about:blank",
        title: "Internal Server Error",
        status: 500,
        detail: "An unexpected error occurred; it has been logged.",
        instance: "/api/v1/deployments",
      });
    });
  }
});

interface KubeCase {
  readonly name: string;
  readonly error: KubeError;
  readonly status: number;
  readonly title: string;
  readonly detail: string;
  readonly headers?: Record<string, string>;
}

const M = "message-from-apiserver";

/**
 * The whole mapping from the Kubernetes layer's errors to what a client sees, keyed by kind: the Record type makes a
 * kind added to KubeErrorKind fail `deno check` here until it has rows. The rows pin the answers the API gave before
 * kube/ had its own error types.
 */
const KUBE_MAPPING: Record<KubeErrorKind, readonly KubeCase[]> = {
  NotFound: [{ name: "404", error: new KubeApiError(404, M, "NotFound"), status: 404, title: "Not Found", detail: `Kubernetes API: ${M}` }],
  Conflict: [
    { name: "409", error: new KubeApiError(409, M, "Conflict"), status: 409, title: "Conflict", detail: `Kubernetes API conflict: ${M}` },
  ],
  PreconditionFailed: [
    {
      name: "current version known",
      error: new PreconditionFailedError(M, "123"),
      status: 412,
      title: "Precondition Failed",
      detail: 'If-Match does not match: the current ETag is "123"',
      headers: { etag: '"123"' },
    },
    {
      name: "changed during the write",
      error: new PreconditionFailedError(M, undefined, { cause: new KubeApiError(409, "the object has been modified") }),
      status: 412,
      title: "Precondition Failed",
      detail: "If-Match does not match: the Deployment changed",
    },
  ],
  Invalid: [
    {
      name: "422",
      error: new KubeApiError(422, M, "Invalid"),
      status: 422,
      title: "Unprocessable Content",
      detail: `Kubernetes API rejected the change: ${M}`,
    },
  ],
  Forbidden: [401, 403].map((code) => ({
    name: String(code),
    error: new KubeApiError(code, M),
    status: 502,
    title: "Bad Gateway",
    detail: `the Kubernetes API refused the service's own credentials (${code}): ${M}`,
  })),
  TooManyRequests: [
    {
      name: "429 with the API server's Retry-After",
      error: new KubeApiError(429, M, "TooManyRequests", 7),
      status: 503,
      title: "Service Unavailable",
      detail: `the Kubernetes API is throttling requests: ${M}`,
      headers: { "retry-after": "7" },
    },
    {
      name: "429 without Retry-After",
      error: new KubeApiError(429, M, "TooManyRequests"),
      status: 503,
      title: "Service Unavailable",
      detail: `the Kubernetes API is throttling requests: ${M}`,
      headers: { "retry-after": "1" },
    },
  ],
  Unreachable: [
    {
      name: "no answer at all (status 0)",
      error: new KubeApiError(0, M),
      status: 503,
      title: "Service Unavailable",
      detail: `the Kubernetes API is unreachable: ${M}`,
      headers: { "retry-after": "5" },
    },
  ],
  Unavailable: [
    {
      name: "503",
      error: new KubeApiError(503, M),
      status: 503,
      title: "Service Unavailable",
      detail: `the Kubernetes API is unavailable: ${M}`,
      headers: { "retry-after": "5" },
    },
  ],
  Timeout: [408, 504].map((code) => ({
    name: String(code),
    error: new KubeApiError(code, M),
    status: 504,
    title: "Gateway Timeout",
    detail: `the Kubernetes API did not answer in time: ${M}`,
  })),
  StateRefused: [
    {
      name: "paused: the remedy is a resume",
      error: new StateRefusedError("prod", "web", "paused", 'deployment "prod/web" is paused; resume it first'),
      status: 409,
      title: "Conflict",
      detail: 'deployment "prod/web" is paused; resume it first: POST /api/v1/namespaces/prod/deployments/web/resume',
    },
    {
      name: "no previous revision: the revisions say what there is",
      error: new StateRefusedError("prod", "web", "no-previous-revision", 'deployment "prod/web" has no revision before 1 to undo to'),
      status: 409,
      title: "Conflict",
      detail:
        'deployment "prod/web" has no revision before 1 to undo to; GET /api/v1/namespaces/prod/deployments/web/revisions lists its revisions',
    },
  ],
  UnknownPart: [
    {
      name: "container: the message names the containers",
      error: new UnknownPartError(
        "prod",
        "web",
        "container",
        "x",
        ["web"],
        'deployment "prod/web" has no container "x"; its containers: "web"',
      ),
      status: 404,
      title: "Not Found",
      detail: 'deployment "prod/web" has no container "x"; its containers: "web"',
    },
    {
      name: "revision: the message names the revisions, the detail where to see them",
      error: new UnknownPartError(
        "prod",
        "web",
        "revision",
        "9",
        ["1", "2"],
        'deployment "prod/web" has no revision 9; its revisions: 1, 2',
      ),
      status: 404,
      title: "Not Found",
      detail: 'deployment "prod/web" has no revision 9; its revisions: 1, 2 (GET /api/v1/namespaces/prod/deployments/web/revisions)',
    },
  ],
  Unknown: [400, 410, 412, 500, 502].map((code) => ({
    name: String(code),
    error: new KubeApiError(code, M),
    status: 502,
    title: "Bad Gateway",
    detail: `the Kubernetes API failed (${code}): ${M}`,
  })),
};

Deno.test("toHttpError maps every kind of Kubernetes failure to its status, title, detail and headers", async (t) => {
  for (const [kind, cases] of Object.entries(KUBE_MAPPING)) {
    assert.ok(cases.length > 0, `${kind} has no case`);
    for (const c of cases) {
      await t.step(`${kind} (${c.name}) -> ${c.status}`, async () => {
        assert.equal(c.error.kind, kind, "the row's error is of the kind it is filed under");
        const httpError = toHttpError(c.error);
        assert.equal(httpError.status, c.status);
        assert.equal(httpError.title, c.title);
        assert.equal(httpError.detail, c.detail);
        assert.deepEqual(httpError.headers, c.headers ?? {});
        assert.equal(httpError.cause, c.error, "the domain error is kept as the cause for the log");
        const response = problemResponse(httpError, "/x");
        assert.equal(response.status, c.status);
        for (const [name, value] of Object.entries(c.headers ?? {})) assert.equal(response.headers.get(name), value);
        assert.deepEqual(await response.json(), {
          type: "about:blank",
          title: c.title,
          status: c.status,
          detail: c.detail,
          instance: "/x",
        });
      });
    }
  }
});

Deno.test("toHttpError answers a Kubernetes error of a kind it does not know with a generic 500, not a crash", () => {
  class Strange extends KubeError {
    readonly kind = "Strange" as unknown as KubeErrorKind;
  }
  const error = new Strange("secret detail");
  const httpError = toHttpError(error);
  assert.equal(httpError.status, 500);
  assert.equal(httpError.detail, "An unexpected error occurred; it has been logged.");
  assert.equal(httpError.cause, error);
});
