import assert from "node:assert/strict";
import { PROBLEM_CONTENT_TYPE, problemResponse, toHttpError } from "../../../src/http/problem.ts";
import { HttpError } from "../../../src/http/http_error.ts";
import { KubeApiError } from "../../../src/kube/kube_api_error.ts";

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

Deno.test("toHttpError maps Kubernetes API failures", async (t) => {
  const cases: { kube: number; status: number; retryAfter?: string }[] = [
    { kube: 404, status: 404 },
    { kube: 409, status: 409 },
    { kube: 422, status: 422 },
    { kube: 401, status: 502 },
    { kube: 403, status: 502 },
    { kube: 0, status: 503, retryAfter: "5" },
    { kube: 429, status: 503, retryAfter: "1" },
    { kube: 500, status: 502 },
    { kube: 503, status: 503, retryAfter: "5" },
    { kube: 504, status: 504 },
    { kube: 408, status: 504 },
  ];
  for (const c of cases) {
    await t.step(`${c.kube} -> ${c.status}`, async () => {
      const message = `message-from-apiserver-${c.kube}`;
      const kubeError = new KubeApiError(c.kube, message, "Reason");
      const httpError = toHttpError(kubeError);
      assert.equal(httpError.status, c.status);
      assert.equal(httpError.cause, kubeError);
      assert.equal(httpError.headers["retry-after"], c.retryAfter);
      const response = problemResponse(httpError, "/x");
      assert.equal(response.status, c.status);
      assert.equal(response.headers.get("retry-after"), c.retryAfter ?? null);
      const body = await response.json();
      assert.equal(body.status, c.status);
      assert.ok(body.detail.includes(message), `the API server's message should be in the detail: ${body.detail}`);
    });
  }
});

Deno.test("toHttpError passes the API server's message through for 422", () => {
  const error = toHttpError(new KubeApiError(422, 'Scale.autoscaling "web" is invalid: spec.replicas: Invalid value: -1', "Invalid"));
  assert.equal(error.status, 422);
  assert.match(error.detail, /spec\.replicas: Invalid value: -1/);
});

Deno.test("toHttpError says the service's own credentials failed for 401 and 403", () => {
  for (const status of [401, 403]) {
    const error = toHttpError(new KubeApiError(status, "forbidden"));
    assert.equal(error.status, 502);
    assert.match(error.detail, /service's own credentials/);
  }
});

Deno.test("toHttpError uses the API server's Retry-After for 429", () => {
  const error = toHttpError(new KubeApiError(429, "too many requests", "TooManyRequests", 7));
  assert.equal(error.status, 503);
  assert.equal(error.headers["retry-after"], "7");
});
