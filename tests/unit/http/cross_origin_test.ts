import assert from "node:assert/strict";
import { crossOriginRefusal } from "../../../src/http/cross_origin.ts";

const URL_ = "https://replica-api.example:8443/api/v1/namespaces/demo/deployments/web/replicas";

function request(method: string, headers: Record<string, string>): Request {
  // Request drops a Host header; the listener adapter sets it from the wire, so set it the same way here.
  const r = new Request(URL_, { method, headers });
  if (headers.host) r.headers.set("host", headers.host);
  return r;
}

Deno.test("a browser's state-changing request from another site, a sibling site or no site at all is refused, naming the header", () => {
  for (const site of ["cross-site", "same-site", "none"]) {
    const refusal = crossOriginRefusal(request("PUT", { "sec-fetch-site": site }));
    assert.equal(refusal?.reason, `sec-fetch-site:${site}`);
    assert.match(refusal!.detail, new RegExp(`Sec-Fetch-Site: "${site}"`));
    assert.match(refusal!.detail, /curl and the CLI are not affected/);
  }
  assert.equal(crossOriginRefusal(request("POST", { "sec-fetch-site": "bogus" }))?.reason, "sec-fetch-site:other");
});

Deno.test("the console's own requests (Sec-Fetch-Site: same-origin) pass whatever their Origin", () => {
  assert.equal(crossOriginRefusal(request("PUT", { "sec-fetch-site": "same-origin", origin: "https://elsewhere" })), undefined);
});

Deno.test("without Fetch Metadata the Origin must be this server's own https origin; null and other origins are refused", () => {
  const host = "replica-api.example:8443";
  assert.equal(crossOriginRefusal(request("POST", { origin: `https://${host}`, host })), undefined);
  assert.equal(crossOriginRefusal(request("POST", { origin: `HTTPS://REPLICA-API.example:8443`, host })), undefined);
  assert.equal(crossOriginRefusal(request("POST", { origin: "https://evil.example", host }))?.reason, "origin:mismatch");
  assert.equal(crossOriginRefusal(request("POST", { origin: `http://${host}`, host }))?.reason, "origin:mismatch");
  assert.equal(crossOriginRefusal(request("POST", { origin: "https://replica-api.example", host }))?.reason, "origin:mismatch");
  assert.equal(crossOriginRefusal(request("DELETE", { origin: "null", host }))?.reason, "origin:null");
  const long = crossOriginRefusal(request("POST", { origin: `https://${"a".repeat(300)}.example`, host }));
  assert.ok(long!.detail.length < 400, "a long Origin is cut short in the detail");
});

Deno.test("requests without either header (curl, the CLI, controllers) and every read pass", () => {
  assert.equal(crossOriginRefusal(request("PUT", {})), undefined);
  for (const method of ["GET", "HEAD", "OPTIONS"]) {
    assert.equal(crossOriginRefusal(request(method, { "sec-fetch-site": "cross-site", origin: "https://evil.example" })), undefined);
  }
});
