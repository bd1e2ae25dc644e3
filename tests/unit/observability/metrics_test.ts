import assert from "node:assert/strict";
import { Registry } from "../../../src/observability/metrics.ts";
import { createServiceMetrics } from "../../../src/observability/service_metrics.ts";

Deno.test("counters render HELP, TYPE and one line per label set, with escaped label values", () => {
  const r = new Registry();
  const c = r.counter("x_total", "Things.\nCounted.", ["route", "status"]);
  c.inc({ route: "a", status: "200" });
  c.inc({ route: "a", status: "200" }, 2);
  c.inc({ route: 'we"ird\\', status: "500" });
  assert.equal(
    r.render(),
    [
      "# HELP x_total Things.\\nCounted.",
      "# TYPE x_total counter",
      'x_total{route="a",status="200"} 3',
      'x_total{route="we\\"ird\\\\",status="500"} 1',
      "",
    ].join("\n"),
  );
});

Deno.test("histograms render cumulative buckets, +Inf, sum and count", () => {
  const r = new Registry();
  const h = r.histogram("d_seconds", "Durations.", ["route"], [0.1, 1]);
  for (const v of [0.05, 0.1, 0.5, 3]) h.observe({ route: "r" }, v);
  const text = r.render();
  assert.match(text, /d_seconds_bucket\{route="r",le="0\.1"\} 2\n/);
  assert.match(text, /d_seconds_bucket\{route="r",le="1"\} 3\n/);
  assert.match(text, /d_seconds_bucket\{route="r",le="\+Inf"\} 4\n/);
  assert.match(text, /d_seconds_sum\{route="r"\} 3\.65\n/);
  assert.match(text, /d_seconds_count\{route="r"\} 4\n/);
});

Deno.test("gauges computed at scrape time reflect the current value", () => {
  const r = new Registry();
  let n = 1;
  r.gauge("g", "A gauge.", [], () => [[{}, n]]);
  assert.match(r.render(), /^g 1$/m);
  n = 7;
  assert.match(r.render(), /^g 7$/m);
});

Deno.test("a metric registered twice or used without a declared label is a programming error", () => {
  const r = new Registry();
  r.counter("a_total", "A.");
  assert.throws(() => r.counter("a_total", "again"), /registered twice/);
  const c = r.counter("b_total", "B.", ["route"]);
  assert.throws(() => c.inc({}), /missing label "route"/);
});

Deno.test("service metrics expose requests, informer, cache, Kubernetes, limit and build metrics", () => {
  const m = createServiceMetrics({ now: () => 10_000 });
  m.watchCache(() => ({ synced: true, connected: true, lastContactAt: 7_500, error: undefined, deployments: 12, restarts: 0 }));
  m.http.started("api");
  m.http.finished("api", "get_replicas", "GET", 200, 0.002);
  m.tlsFailure("no_client_certificate");
  m.connectionRefused("per_source_rate");
  m.informer("deployments").event("ADDED");
  m.informer("deployments").gone();
  m.kubeRequest("patch", "200", 0.02);
  m.authzDenied("alice", "scale");
  m.rateLimited("bob", "reads");
  const text = m.registry.render();
  for (
    const line of [
      'replica_api_http_requests_total{listener="api",route="get_replicas",method="GET",status="200"} 1',
      'replica_api_http_requests_in_flight{listener="api"} 0',
      'replica_api_tls_handshake_failures_total{reason="no_client_certificate"} 1',
      'replica_api_connections_refused_total{reason="per_source_rate"} 1',
      'replica_api_informer_events_total{informer="deployments",type="ADDED"} 1',
      'replica_api_informer_gone_total{informer="deployments"} 1',
      "replica_api_cache_deployments 12",
      "replica_api_cache_last_contact_age_seconds 2.5",
      'replica_api_kube_requests_total{verb="patch",status="200"} 1',
      'replica_api_authz_denied_total{identity="alice",permission="scale"} 1',
      'replica_api_rate_limited_total{identity="bob",limit="reads"} 1',
    ]
  ) assert.ok(text.includes(line + "\n"), `missing: ${line}`);
  assert.match(text, /^replica_api_build_info\{version="[^"]+",deno_version="[^"]+",v8_version="[^"]+",typescript_version="[^"]+"\} 1$/m);
  assert.match(text, /^process_resident_memory_bytes \d+$/m);
});
