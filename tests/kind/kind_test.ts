/**
 * [kind] The Helm release in a real KIND cluster, as users run it (make integration-test-kind,
 * started by scripts/kind/integration-test.sh after kind-up, kind-load and deploy).
 *
 * One release serves every scenario, in this order: what a fresh install must give (Ready
 * replicas, helm test, the README's curl commands, an in-cluster client, least privilege,
 * NetworkPolicy, real readyReplicas), then what disturbs it (a rolling upgrade under load, a
 * Pod evicted under load), issue 13 against real Pods (consistent reads across the replicas,
 * rollout waits, the SSE watch and the Scaled Event through the Service, autoscalers), a
 * certificate rotation, and last memory under load. Numbers are printed as "kind-load:" lines
 * for the closing note.
 *
 * The suite skips only when no container engine answers (then there is no cluster to test)
 * and prints why. Started any other way than through the scripts, it fails and says how.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { run } from "../support/command.ts";
import {
  clientCertVolume,
  describeLoad,
  kindSettings,
  loadgenContainer,
  type LoadResult,
  type MemorySample,
  memorySample,
  parseLoad,
  podMemoryCgroup,
  podMemoryPeak,
  releasePods,
  restricted,
  runPod,
  sampleMemory,
  sleep,
  startPod,
  tools,
  waitFor,
} from "./cluster.ts";

const engine = await run(Deno.env.get("DOCKER") || "docker", ["info", "--format", "{{.ServerVersion}}"]).catch((e) => ({
  code: 127,
  stdout: "",
  stderr: String(e),
}));

if (engine.code !== 0) {
  console.log(`SKIP: KIND suite: no container engine answers ('docker info' failed: ${engine.stderr.trim().split("\n")[0]})`);
} else {
  const settings = kindSettings(Deno.env.toObject());
  if ("missing" in settings) {
    Deno.test("[kind] the suite runs with the settings of scripts/kind/integration-test.sh", () => {
      assert.fail(`not set: ${settings.missing.join(", ")}; run it with make integration-test-kind (or make test-kind)`);
    });
  } else {
    registerScenarios(settings);
  }
}

function registerScenarios(s: Exclude<ReturnType<typeof kindSettings>, { missing: string[] }>) {
  const t = tools(s);
  const ns = s.namespace;
  const svcHost = `${s.fullname}.${ns}.svc`;
  const clientSecret = `${s.release}-client-tls`;
  const apiUrl = `https://${svcHost}:8443`;
  const loadLines: string[] = [];
  const note = (line: string) => {
    loadLines.push(line);
    console.log(`kind-load: ${line}`);
  };

  /**
   * `kubectl port-forward svc/<fullname> <port>:8443` for the duration of fn. Port 0: a free one, so that
   * suites of other clusters on the same machine never contend for it (only the README's 8443 is fixed).
   */
  async function withPortForward<T>(wanted: number, fn: (port: number) => Promise<T>, target = `svc/${s.fullname}`): Promise<T> {
    // A port someone else serves would answer in the forward's place: never forward over it. A fixed port may be
    // held for a while by another cluster's suite on the same machine (its README scenario): wait for it, then fail.
    const port = await waitFor(`local port ${wanted} to be free (kubectl port-forward needs it; stop what listens there)`, 120_000, () => {
      const probe = Deno.listen({ hostname: "127.0.0.1", port: wanted });
      const free = (probe.addr as Deno.NetAddr).port;
      probe.close();
      return Promise.resolve(free);
    }, 2000);
    const child = new Deno.Command(s.kubectl, {
      args: ["-n", ns, "port-forward", target, `${port}:8443`],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    try {
      // kubectl says "Forwarding from 127.0.0.1:<port> -> 8443" once it listens.
      const ready = (async () => {
        while (!seen.includes(`Forwarding from 127.0.0.1:${port}`)) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`kubectl port-forward exited: ${await stderr}`);
          seen += value;
        }
      })();
      ready.catch(() => {}); // settled below; a late failure after a timeout is not an unhandled rejection
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`port-forward did not listen within 15 s: ${seen}`)), 15_000);
      });
      try {
        await Promise.race([ready, timeout]);
      } finally {
        clearTimeout(timer);
      }
      return await fn(port);
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await reader.cancel().catch(() => {});
      await stderr;
    }
  }

  /** An HTTP client with a client certificate of `dir` (ca.crt, client.crt, client.key). */
  async function mtlsClient(dir: string) {
    return Deno.createHttpClient({
      caCerts: [await Deno.readTextFile(`${dir}/ca.crt`)],
      cert: await Deno.readTextFile(`${dir}/client.crt`),
      key: await Deno.readTextFile(`${dir}/client.key`),
    });
  }

  /**
   * Helm values that lift the per-source connection limits and the per-certificate rate limits: the later
   * scenarios drive the Pods from one client Pod (one address, one certificate) well past them.
   */
  const UNLIMITED = [
    "--set-string",
    "config.maxConnectionsPerSource=off",
    "--set-string",
    "config.handshakeRatePerSource=off",
    "--set-json",
    'extraEnv=[{"name":"RATE_LIMIT_READS","value":"off"},{"name":"RATE_LIMIT_WRITES","value":"off"}]',
  ];

  /** The release with UNLIMITED (a no-op once the rolling upgrade scenario set it; else a rollout), both Pods Ready. */
  async function ensureUnlimited() {
    await t.helm("upgrade", s.release, s.chart, "-n", ns, "--reuse-values", ...UNLIMITED, "--wait", "--timeout", "3m");
    return await assertHealthyPods();
  }

  /** Pods of the release are Ready, none restarted nor OOM-killed: the check after every disturbance. */
  async function assertHealthyPods(expect = 2) {
    const pods = await waitFor(`${expect} Ready replica-api pods`, 120_000, async () => {
      const p = await releasePods(t, s);
      return p.length === expect && p.every((x) => x.ready) ? p : undefined;
    }, 1000);
    for (const p of pods) {
      for (const c of p.containers) {
        assert.equal(c.restartCount, 0, `${p.name}/${c.name} restarted ${c.restartCount} times (last: ${c.lastTerminated})`);
        assert.notEqual(c.lastTerminated, "OOMKilled", `${p.name}/${c.name} was OOM-killed`);
      }
    }
    return pods;
  }

  /**
   * Each Pod's "starting" log line says it runs on jemalloc: the image preloads it (Dockerfile LD_PRELOAD), and a
   * preload ld.so skipped (a moved library, another architecture) only warns, then the Pod runs on glibc's malloc and
   * keeps far more memory after load. Read before any heavy load, while the container's log still holds its start.
   */
  async function assertJemalloc(pods: { name: string }[]) {
    for (const p of pods) {
      const starting = (await t.kubectl("-n", ns, "logs", p.name, "-c", "replica-api")).split("\n").flatMap((line) => {
        try {
          const record = JSON.parse(line);
          return record?.msg === "starting" ? [record] : [];
        } catch {
          return []; // not a JSON log line
        }
      });
      assert.equal(starting.length, 1, `${p.name}: one "starting" line in kubectl logs, found ${starting.length}`);
      assert.equal(starting[0].allocator, "jemalloc", `${p.name} started on ${starting[0].allocator}: ${JSON.stringify(starting[0])}`);
    }
  }

  /** A load pod against the Service: keep-alive and new-connection loadgens at fixed rates, for `seconds`. */
  function serviceLoadSpec(name: string, seconds: number) {
    const url = `${apiUrl}/api/v1/health`;
    // Below the per-certificate read limit (RATE_LIMIT_READS, 100/s) even when one Pod takes it all.
    return {
      containers: [
        loadgenContainer(s, `${name}-keepalive`, url, ["-c", "4", "-rate", "60", "-d", `${seconds}s`, "-warmup", "0s", "-timeout", "5s"]),
        loadgenContainer(s, `${name}-newconn`, url, [
          "-new-conn",
          "-c",
          "4",
          "-rate",
          "20",
          "-d",
          `${seconds}s`,
          "-warmup",
          "0s",
          "-timeout",
          "5s",
        ]),
      ],
      volumes: [clientCertVolume(clientSecret)],
      securityContext: { seccompProfile: { type: "RuntimeDefault" } },
    };
  }

  /** Waits for a load pod and returns each container's result. */
  async function loadResults(name: string, containers: string[], timeoutMs: number, namespace = ns): Promise<LoadResult[]> {
    await waitFor(`load pod ${name} to finish`, timeoutMs, async () => {
      const p = (await t.kubectl("-n", namespace, "get", "pod", name, "-o", "jsonpath={.status.phase}")).trim();
      return p === "Succeeded" || p === "Failed" ? p : undefined;
    }, 1000);
    try {
      const out: LoadResult[] = [];
      for (const c of containers) out.push(parseLoad(await t.kubectl("-n", namespace, "logs", name, "-c", c)));
      return out;
    } finally {
      await t.tryKubectl("-n", namespace, "delete", "pod", name, "--ignore-not-found", "--wait=false");
    }
  }

  function assertNoFailures(results: LoadResult[], minRequests: number) {
    for (const r of results) {
      assert.equal(r.error_count, 0, `failed requests: ${describeLoad(r)}`);
      assert.ok(r.requests >= minRequests, `the load ran: ${describeLoad(r)}`);
    }
  }

  Deno.test("[kind] helm install --wait left both replicas Ready on different nodes, and helm test passes", async () => {
    const deploy = await t.kubectlJson("-n", ns, "get", "deployment", s.fullname);
    assert.equal(deploy.spec.replicas, 2);
    assert.equal(deploy.status.readyReplicas, 2);
    const pods = await assertHealthyPods();
    assert.notEqual(pods[0].node, pods[1].node, "soft anti-affinity spreads the replicas over the two workers");
    // No --logs: the chart's hook-delete-policy removes the test Pod once it succeeded.
    const out = await t.helm("test", s.release, "-n", ns, "--timeout", "2m");
    assert.match(out, /TEST SUITE:\s+replica-api-test-health[\s\S]*Phase:\s+Succeeded/, out);
  });

  Deno.test("[kind] the README's curl commands work verbatim through kubectl port-forward svc/replica-api 8443:8443", async () => {
    const readme = await Deno.readTextFile(`${s.repo}/README.md`);
    const block = readme.match(/```sh\n(CURL="curl [^\n]*\n[\s\S]*?)```/)?.[1];
    assert.ok(block, "README has the curl block of the API section");
    const lines = block.replace(/\\\n\s*/g, "").split("\n").filter((l) => l.trim() && !l.startsWith("#"));
    const [curlDef, ...commands] = lines;
    assert.ok(commands.length >= 8, `curl commands found: ${commands.length}`);
    // The commands name namespace demo and Deployment web: make them exist (a workload of the local image).
    // A demo namespace still terminating (this scenario's own, from a run just before) would take web with it.
    if ((await t.tryKubectl("get", "namespace", "demo", "-o", "jsonpath={.status.phase}")).stdout.trim() === "Terminating") {
      await t.kubectl("wait", "--for=delete", "namespace/demo", "--timeout=120s");
    }
    const created = (await t.tryKubectl("get", "namespace", "demo")).code !== 0;
    if (created) await t.kubectl("create", "namespace", "demo");
    await t.kubectlIn(JSON.stringify(workload("demo", "web", 1)), "apply", "-f", "-");
    try {
      await withPortForward(8443, async () => {
        await waitFor("demo/web in the cache", 10_000, async () => {
          const r = await run("bash", ["-c", `${curlDef}\n$CURL -fsS https://localhost:8443/api/v1/namespaces/demo/deployments/web`], {});
          return r.code === 0 ? true : undefined;
        });
        const sh = (command: string) => run("bash", ["-c", `cd "$0" && ${curlDef}\n${command}`, s.repo]);
        for (const command of commands) {
          if (command.startsWith("kubectl ")) {
            // "Who scaled": the Events of the PUTs above (recorded without delaying them, so perhaps a moment later).
            const out = await waitFor(`${command}: the Scaled Events`, 20_000, async () => {
              const r = await sh(command);
              return r.code === 0 && /Scaled\s+Deployment\/web\s+replicas \d+ → \d+ by CN=/.test(r.stdout) ? r.stdout : undefined;
            }, 1000);
            assert.match(out, /via replica-api/, `${command}: ${out}`);
            continue;
          }
          if (command.includes("watch=true")) {
            // A stream never ends by itself: 3 s of it. Without Last-Event-ID: the snapshot's events. With the README's
            // id: 410 when it is older than the replica's history, else an open stream (with whatever changed since).
            const r = await sh(`timeout 3 ${command}`);
            assert.ok(r.code === 0 || r.code === 124, `${command}: exit ${r.code}: ${r.stderr}`);
            if (r.stdout.trimStart().startsWith("{")) {
              assert.equal(JSON.parse(r.stdout).status, 410, `${command}: ${r.stdout}`);
            } else {
              assert.match(r.stdout, /^retry: \d+$/m, `${command}: an event stream: ${r.stdout.slice(0, 500)}`);
              if (!command.includes("Last-Event-ID")) {
                assert.match(
                  r.stdout,
                  /^event: ADDED\n(id: \d+\n)?data: \{"namespace":"demo","name":"web"/m,
                  `${command}: ${r.stdout.slice(0, 500)}`,
                );
              }
            }
            continue;
          }
          const r = await sh(command);
          assert.equal(r.code, 0, `${command}: exit ${r.code}: ${r.stderr}`);
          const body = command.includes(" -i ") ? r.stdout.slice(r.stdout.indexOf("\r\n\r\n") + 4) : r.stdout;
          const json = JSON.parse(body);
          const written = Number(/"replicas": ?(\d+)/.exec(command)?.[1]);
          if (command.includes("If-Match")) {
            assert.equal(json.status, 412, `${command}: a stale If-Match is refused: ${body}`);
          } else if (command.includes("dryRun=true")) {
            assert.equal(json.dryRun, true, `${command}: ${body}`);
            assert.equal(json.replicas, written, `${command}: ${body}`);
            const now = (await t.kubectlJson("-n", "demo", "get", "deployment", "web")).spec.replicas;
            assert.notEqual(now, written, `${command}: the dry run changed nothing`);
          } else if (command.includes("-X PUT")) {
            assert.equal(json.replicas, written, `${command}: ${body}`);
            if (command.includes("wait=rollout")) assert.equal(json.rollout?.complete, true, `${command}: ${body}`);
          } else if (command.endsWith("/health")) {
            assert.equal(json.status, "healthy", body);
          } else if (command.includes("/api/v1/whoami")) {
            // The dev client certificate (O=sre), which the release's policy lets do every operation everywhere, all enabled.
            assert.match(json.identity?.cn ?? "", /./, `${command}: ${body}`);
            assert.deepEqual(json.namespaces?.["*"], ["read", "scale", "restart", "pause", "undo", "image"], `${command}: ${body}`);
            assert.deepEqual(json.operations, ["scale", "restart", "pause", "undo", "image"], `${command}: ${body}`);
          } else if (command.includes("resourceVersion=1234") && json.status === 504) {
            // The README's placeholder version may be ahead of a young cluster: the replica waits WRITE_SYNC_TIMEOUT for
            // it, then says it has not got there (older than the cache, it answers at once: the branch below).
            assert.match(json.detail, /has not reached resourceVersion 1234/, `${command}: ${body}`);
          } else if (command.includes("/deployments/web")) {
            assert.equal(json.name ?? json.metadata?.name, "web", `${command}: ${body}`);
            if (command.includes(" -i ")) assert.match(r.stdout, /^HTTP\/1\.1 200/);
            if (command.includes("wait=rollout")) assert.equal(json.rollout?.complete, true, `${command}: ${body}`);
          } else {
            assert.ok(json.items.some((d: { name?: string }) => d.name === "web"), `${command} lists demo/web: ${body}`);
          }
        }
      });
    } finally {
      if (created) await t.tryKubectl("delete", "namespace", "demo", "--wait=false");
      else await t.tryKubectl("-n", "demo", "delete", "deployment", "web", "--ignore-not-found");
    }
  });

  Deno.test("[kind] an in-cluster client Pod with a certificate from a Secret calls the Service by DNS name; without one it is refused", async () => {
    const script = [
      `curl -sS --fail-with-body --cert /tls/tls.crt --key /tls/tls.key --cacert /tls/ca.crt ${apiUrl}/api/v1/health; echo`,
      `curl -sS --fail-with-body --cert /tls/tls.crt --key /tls/tls.key --cacert /tls/ca.crt "${apiUrl}/api/v1/deployments?namespace=${ns}"; echo`,
      `if out=$(curl -sS --max-time 5 --cacert /tls/ca.crt ${apiUrl}/api/v1/health 2>&1); then echo NO-CERT-ACCEPTED; else echo "no-cert refused: $? $out"; fi`,
    ].join("\n");
    const r = await runPod(t, ns, "kind-suite-client", {
      containers: [{
        name: "client",
        image: s.toolsImage,
        imagePullPolicy: "Never",
        command: ["sh", "-c", script],
        securityContext: restricted,
        volumeMounts: [{ name: "client-tls", mountPath: "/tls", readOnly: true }],
      }],
      volumes: [clientCertVolume(clientSecret)],
    }, 90_000);
    const log = r.logs.client;
    assert.equal(r.phase, "Succeeded", log);
    const [health, list, noCert] = log.trim().split("\n");
    assert.equal(log.trim().split("\n").length, 3, log);
    assert.equal(JSON.parse(health).status, "healthy", log);
    assert.ok(
      JSON.parse(list).items.some((d: { name: string }) => d.name === s.fullname),
      `the release's own Deployment is listed: ${log}`,
    );
    assert.match(
      noCert,
      /^no-cert refused: (35|56) .*certificate required/,
      `a client without a certificate fails the TLS handshake: ${log}`,
    );
  });

  Deno.test("[kind] the ServiceAccount can do exactly what the chart grants (kubectl auth can-i)", async () => {
    const sa = `system:serviceaccount:${ns}:${s.fullname}`;
    const can = async (...args: string[]) => (await t.tryKubectl("auth", "can-i", `--as=${sa}`, ...args)).stdout.trim();
    const allowed = [
      ["list", "deployments.apps", "--all-namespaces"],
      ["watch", "deployments.apps", "--all-namespaces"],
      ["get", "deployments.apps", "-n", "kube-system"],
      ["get", "deployments.apps", "--subresource=scale", "-n", ns],
      ["patch", "deployments.apps", "--subresource=scale", "-n", "kube-system"],
      ["list", "namespaces"],
      ["watch", "namespaces"],
      // Autoscaler awareness and "who scaled" (issue 13).
      ["list", "horizontalpodautoscalers.autoscaling", "--all-namespaces"],
      ["watch", "horizontalpodautoscalers.autoscaling", "--all-namespaces"],
      ["create", "events.events.k8s.io", "-n", ns],
      // The history's informer lists and watches the Events the service recorded.
      ["list", "events.events.k8s.io", "-n", ns],
      ["watch", "events.events.k8s.io", "-n", ns],
      // The KIND release enables every operation (scripts/kind/deploy.sh): restart, pause/resume, set image and undo
      // patch the Deployment itself; undo and the revisions read need the ReplicaSets (informer + the undo's get).
      ["patch", "deployments.apps", "-n", ns],
      ["patch", "deployments.apps", "-n", "kube-system"],
      ["get", "replicasets.apps", "-n", ns],
      ["list", "replicasets.apps", "--all-namespaces"],
      ["watch", "replicasets.apps", "--all-namespaces"],
    ];
    const denied = [
      ["update", "deployments.apps", "-n", ns],
      ["delete", "deployments.apps", "-n", ns],
      ["create", "deployments.apps", "-n", ns],
      ["update", "deployments.apps", "--subresource=scale", "-n", ns],
      ["get", "secrets", "-n", ns],
      ["list", "secrets", "--all-namespaces"],
      ["list", "pods", "-n", ns],
      ["create", "pods", "-n", ns],
      ["create", "pods/exec", "-n", ns],
      ["get", "namespaces/kube-system"],
      ["delete", "namespaces/kube-system"],
      ["list", "nodes"],
      ["list", "statefulsets.apps", "-n", ns],
      // Revisions are read, never written: a ReplicaSet changed behind its Deployment's back is not a rollout.
      ["patch", "replicasets.apps", "-n", ns],
      ["update", "replicasets.apps", "-n", ns],
      ["delete", "replicasets.apps", "-n", ns],
      ["create", "replicasets.apps", "-n", ns],
      ["patch", "deployments.apps", "--subresource=status", "-n", ns],
      ["get", "configmaps", "-n", ns],
      ["create", "serviceaccounts/token", "-n", ns],
      ["get", "horizontalpodautoscalers.autoscaling", "-n", ns],
      ["update", "horizontalpodautoscalers.autoscaling", "-n", ns],
      ["create", "events", "-n", ns],
      ["get", "events.events.k8s.io", "-n", ns],
      ["update", "events.events.k8s.io", "-n", ns],
      ["delete", "events.events.k8s.io", "-n", ns],
      ["*", "*"],
    ];
    for (const a of allowed) assert.equal(await can(...a), "yes", `may ${a.join(" ")}`);
    for (const d of denied) assert.equal(await can(...d), "no", `may not ${d.join(" ")}`);
    // The full list: the chart's grants plus what every authenticated identity may (discovery, self reviews).
    const list = await t.kubectl("auth", "can-i", "--list", `--as=${sa}`, "-n", ns);
    const rows = list.trim().split("\n").slice(1).map((l) => l.trim().split(/\s{2,}/)[0]);
    const everyone = /^(selfsubject\w+\.authorization\.k8s\.io|selfsubjectreviews\.authentication\.k8s\.io)$/;
    const granted = rows.filter((r) => !everyone.test(r) && !r.startsWith("["));
    assert.deepEqual(
      granted.sort(),
      [
        "deployments.apps",
        "deployments.apps/scale",
        "events.events.k8s.io",
        "horizontalpodautoscalers.autoscaling",
        "namespaces",
        "replicasets.apps",
      ],
      list,
    );
  });

  Deno.test("[kind] the NetworkPolicy admits the mTLS and probe ports and lets the Pods reach only the API server and DNS", async () => {
    const np = await t.kubectlJson("-n", ns, "get", "networkpolicy", s.fullname);
    assert.deepEqual(np.spec.policyTypes, ["Ingress", "Egress"]);
    assert.deepEqual(np.spec.podSelector.matchLabels, { "app.kubernetes.io/name": "replica-api", "app.kubernetes.io/instance": s.release });
    // deno-lint-ignore no-explicit-any
    const egressPorts = np.spec.egress.flatMap((e: any) => e.ports.map((p: any) => `${p.protocol}/${p.port}`)).sort();
    assert.deepEqual(egressPorts, ["TCP/443", "TCP/53", "TCP/6443", "UDP/53"]);
    const enforcer = await t.kubectl("-n", "kube-system", "get", "pods", "-o", "name");
    const enforced = /kube-router|calico|cilium|kindnet|kube-network-policies/.test(enforcer);
    if (!enforced) {
      console.log("kind-netpol: no NetworkPolicy enforcer runs in kube-system: the policy was verified server-side only");
      return;
    }
    // Enforced: allow only labelled clients in, then an unlabelled Pod must not connect; the labelled one must.
    await t.helm(
      "upgrade",
      s.release,
      s.chart,
      "-n",
      ns,
      "--reuse-values",
      "--set-json",
      'networkPolicy.apiClients=[{"podSelector":{"matchLabels":{"replica-api.dev/client":"true"}}}]',
      "--wait",
    );
    try {
      // Enforcers apply policy changes and new Pods' addresses asynchronously: each probe retries until the
      // expected state shows, and a refusal counts only after three in a row while the same Pod still reaches
      // the probe port (so it is the policy on the mTLS port, not a network that is not up yet).
      const [pod, other] = await releasePods(t, s);
      const probeName = `egress-probe-${crypto.randomUUID().slice(0, 6)}`;
      // An address outside the policy but open to unrestricted Pods: the kubelet port of the other Pod's node.
      const nodeIp = (await t.kubectl("get", "node", other.node, "-o", 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}'))
        .trim();
      const kubelet = `curl -sk -o /dev/null --max-time 2 https://${nodeIp}:10250/healthz`;
      const mtls =
        `curl -s -o /dev/null -w '%{http_code}' --max-time 2 --cacert /tls/ca.crt --cert /tls/tls.crt --key /tls/tls.key ${apiUrl}/api/v1/health`;
      const script = [
        `i=0; while [ $i -lt 30 ]; do i=$((i+1)); curl -s -o /dev/null --max-time 2 http://${pod.ip}:8081/livez && break; sleep 1; done; echo "probe-port=$?"`,
        `ok=0; fails=0; i=0; while [ $i -lt 30 ]; do i=$((i+1)); code=$(${mtls} 2>/dev/null); ` +
        `if [ "$code" = 200 ]; then ok=$((ok+1)); fails=0; [ "$EXPECT" = allowed ] && break; ` +
        `else fails=$((fails+1)); [ "$EXPECT" = blocked ] && [ $fails -ge 3 ] && break; fi; sleep 1; done; echo "mtls-ok=$ok mtls-fails-in-a-row=$fails"`,
        `${kubelet} && echo kubelet=reached || echo kubelet=blocked`,
      ].join("\n");
      const probe = (name: string, expect: string, labels: Record<string, string>) =>
        runPod(
          t,
          ns,
          name,
          {
            containers: [{
              name: "probe",
              image: s.toolsImage,
              imagePullPolicy: "Never",
              command: ["sh", "-c", script],
              env: [{ name: "EXPECT", value: expect }],
              securityContext: restricted,
              volumeMounts: [{ name: "client-tls", mountPath: "/tls", readOnly: true }],
            }],
            volumes: [clientCertVolume(clientSecret)],
          },
          120_000,
          labels,
        );
      const allowed = (await probe("kind-suite-np-allowed", "allowed", { "replica-api.dev/client": "true" })).logs.probe;
      assert.match(allowed, /probe-port=0/, allowed);
      assert.match(allowed, /mtls-ok=1 mtls-fails-in-a-row=0/, `a Pod the policy admits connects: ${allowed}`);
      const blocked = (await probe("kind-suite-np-blocked", "blocked", {})).logs.probe;
      assert.match(blocked, /probe-port=0/, `the outsider reaches the probe port (open to all): ${blocked}`);
      assert.match(blocked, /mtls-fails-in-a-row=3$/m, `a Pod outside the allowed sources cannot connect: ${blocked}`);
      assert.match(
        blocked,
        /kubelet=reached/,
        `a Pod without an egress policy reaches ${nodeIp}:10250 (the control for the egress check): ${blocked}`,
      );
      console.log(
        `kind-netpol: enforced; admitted client: ${allowed.trim().split("\n").join(" ")}; outsider: ${
          blocked.trim().split("\n").join(" ")
        }`,
      );
      // Egress from a replica-api Pod (an ephemeral container shares its network namespace): DNS and the API
      // server yes, the kubelet port the outsider reached no. (The other replica's probe port is reported, not
      // asserted: kube-router checks a Pod's ingress and egress rules in one chain, so Pods selected by the same
      // policy reach each other's ingress-allowed ports.)
      await t.kubectl(
        "-n",
        ns,
        "debug",
        pod.name,
        "--image",
        s.toolsImage,
        "--image-pull-policy",
        "Never",
        "--profile",
        "restricted",
        "--attach=false",
        "-c",
        probeName,
        "--",
        "sh",
        "-c",
        `getent hosts kubernetes.default.svc.cluster.local >/dev/null && echo dns=ok || echo dns=blocked; ` +
          `curl -sk -o /dev/null --max-time 5 https://kubernetes.default.svc/livez && echo api=ok || echo api=blocked; ` +
          `n=0; for i in 1 2 3; do ${kubelet} || n=$((n+1)); done; [ $n = 3 ] && echo kubelet=blocked || echo kubelet=reached; ` +
          `curl -s -o /dev/null --max-time 2 http://${other.ip}:8081/livez && echo peer-probe-port=reached || echo peer-probe-port=blocked`,
      );
      const out = await waitFor("the egress probe's output", 60_000, async () => {
        const l = (await t.tryKubectl("-n", ns, "logs", pod.name, "-c", probeName)).stdout;
        return /peer-probe-port=\w+/.test(l) ? l : undefined;
      }, 1000);
      console.log(`kind-netpol: egress from ${pod.name}: ${out.trim().split("\n").join(" ")}`);
      assert.match(out, /dns=ok/);
      assert.match(out, /api=ok/);
      assert.match(out, /kubelet=blocked/, `the replica-api Pod reaches nothing but the API server and DNS: ${out}`);
    } finally {
      await t.helm("upgrade", s.release, s.chart, "-n", ns, "--reuse-values", "--set-json", "networkPolicy.apiClients=[]", "--wait");
    }
  });

  Deno.test("[kind] readyReplicas is real: a Deployment scaled through the API reaches the new ready count as its Pods start", async () => {
    const wns = `kind-suite-${crypto.randomUUID().slice(0, 6)}`;
    await t.kubectl("create", "namespace", wns);
    const client = await mtlsClient(s.certDir);
    try {
      await t.kubectlIn(JSON.stringify(workload(wns, "workload", 1)), "apply", "-f", "-");
      await t.kubectl("-n", wns, "rollout", "status", "deployment/workload", "--timeout=90s");
      await withPortForward(0, async (port) => {
        const path = `https://localhost:${port}/api/v1/namespaces/${wns}/deployments/workload/replicas`;
        const get = async () => {
          const r = await fetch(path, { client });
          return { status: r.status, body: await r.json() };
        };
        await waitFor("workload with 1 ready replica in the cache", 15_000, async () => {
          const r = await get();
          return r.status === 200 && r.body.readyReplicas === 1 ? r : undefined;
        });
        const put = await fetch(path, {
          client,
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ replicas: 3 }),
        });
        assert.equal(put.status, 200, await put.text());
        const started = Date.now();
        // Right after the write the Pods have not started: the API must not claim them ready.
        const early = await get();
        assert.equal(early.body.replicas, 3);
        assert.ok(early.body.readyReplicas < 3, `readyReplicas right after the scale: ${JSON.stringify(early.body)}`);
        const done = await waitFor("readyReplicas 3 through the API", 120_000, async () => {
          const r = await get();
          return r.body.readyReplicas === 3 ? r.body : undefined;
        }, 250);
        const readyPods = (await t.kubectl(
          "-n",
          wns,
          "get",
          "pods",
          "-l",
          "app=workload",
          "-o",
          'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
        )).trim().split("\n").filter((x) => x === "True").length;
        assert.equal(readyPods, 3, "three Pods really are Ready");
        assert.equal(done.availableReplicas, 3);
        console.log(`kind-ready: readyReplicas 1 -> 3 through the API in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      });
    } finally {
      client.close();
      await t.tryKubectl("delete", "namespace", wns, "--wait=false");
    }
  });

  Deno.test("[kind] rolling upgrade under load: helm upgrade rolls every Pod and no request fails", async () => {
    const before = (await releasePods(t, s)).map((p) => p.uid);
    const seconds = 50;
    const spec = serviceLoadSpec("upgrade-load", seconds);
    await startPod(t, ns, "kind-suite-upgrade-load", spec);
    await sleep(5000);
    const started = Date.now();
    // Forces a rollout (new pod annotation) and turns the per-source and per-client limits off, as the README
    // advises behind a proxy: the later scenarios drive the Pods from one client Pod well past them.
    await t.helm(
      "upgrade",
      s.release,
      s.chart,
      "-n",
      ns,
      "--reuse-values",
      "--set-string",
      `podAnnotations.replica-api\\.dev/restarted-at=${Date.now()}`,
      ...UNLIMITED,
      "--wait",
      "--timeout",
      "3m",
    );
    await waitFor("every old Pod gone", 90_000, async () => {
      const now = (await t.kubectlJson("-n", ns, "get", "pods", "-l", `app.kubernetes.io/instance=${s.release}`)).items;
      // deno-lint-ignore no-explicit-any
      return now.some((p: any) => before.includes(p.metadata.uid)) ? undefined : true;
    }, 1000);
    const rolled = (Date.now() - started) / 1000;
    assert.ok(rolled + 5 < seconds, `the rollout (${rolled.toFixed(0)} s) ended while the load still ran (${seconds} s)`);
    const results = await loadResults("kind-suite-upgrade-load", spec.containers.map((c) => c.name), (seconds + 60) * 1000);
    note(`rolling upgrade (rollout took ${rolled.toFixed(0)} s):`);
    for (const r of results) note(`  ${describeLoad(r)}`);
    assertNoFailures(results, seconds * 10);
    const after = await assertHealthyPods();
    assert.ok(after.every((p) => !before.includes(p.uid)), "every Pod was replaced");
  });

  Deno.test("[kind] a Pod evicted under load (two replicas, PodDisruptionBudget): no request fails, a second eviction waits", async () => {
    const pods = await assertHealthyPods();
    const seconds = 35;
    const spec = serviceLoadSpec("evict-load", seconds);
    await startPod(t, ns, "kind-suite-evict-load", spec);
    await sleep(5000);
    const eviction = (name: string) => JSON.stringify({ apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace: ns } });
    const first = await run(s.kubectl, ["create", "--raw", `/api/v1/namespaces/${ns}/pods/${pods[0].name}/eviction`, "-f", "-"], {
      stdin: eviction(pods[0].name),
    });
    assert.equal(first.code, 0, `the first eviction is allowed: ${first.stderr}`);
    const second = await run(s.kubectl, ["create", "--raw", `/api/v1/namespaces/${ns}/pods/${pods[1].name}/eviction`, "-f", "-"], {
      stdin: eviction(pods[1].name),
    });
    assert.notEqual(second.code, 0, "the PodDisruptionBudget refuses a second eviction while one Pod is down");
    assert.match(second.stderr, /disruption budget|TooManyRequests|429/i, second.stderr);
    const results = await loadResults("kind-suite-evict-load", spec.containers.map((c) => c.name), (seconds + 60) * 1000);
    note(`pod evicted (${pods[0].name}):`);
    for (const r of results) note(`  ${describeLoad(r)}`);
    assertNoFailures(results, seconds * 10);
    const after = await assertHealthyPods();
    assert.ok(!after.some((p) => p.uid === pods[0].uid), "the evicted Pod was replaced");
  });

  // ---- Issue 13 against real Pods: consistent reads, rollout waits, watch, Events, autoscalers ----

  /** A namespace of the suite's own for one scenario's workloads (deleted by the caller). */
  async function workloadNamespace() {
    const wns = `kind-suite-${crypto.randomUUID().slice(0, 6)}`;
    await t.kubectl("create", "namespace", wns);
    return wns;
  }

  /** Each release Pod's access-log lines since `since` whose requestId starts with `prefix`: requestId -> Pod name, time taken. */
  async function servedBy(pods: { name: string }[], since: string, prefix: string) {
    const by = new Map<string, { pod: string; ms: number }>();
    for (const p of pods) {
      const log = (await t.tryKubectl("-n", ns, "logs", p.name, `--since-time=${since}`)).stdout;
      for (const line of log.split("\n")) {
        if (!line.includes(prefix)) continue;
        try {
          const j = JSON.parse(line);
          if (j.msg === "request" && typeof j.requestId === "string" && j.requestId.startsWith(prefix)) {
            by.set(j.requestId, { pod: p.name, ms: j.durationMs });
          }
        } catch {
          // not a JSON line
        }
      }
    }
    return by;
  }

  /** The release Pods' audit lines since `since` (JSON objects with `audit: true`). */
  async function auditLines(pods: { name: string }[], since: string) {
    const out: Record<string, unknown>[] = [];
    for (const p of pods) {
      for (const line of (await t.tryKubectl("-n", ns, "logs", p.name, `--since-time=${since}`)).stdout.split("\n")) {
        if (!line.includes('"audit":true')) continue;
        try {
          out.push({ pod: p.name, ...JSON.parse(line) });
        } catch {
          // not a JSON line
        }
      }
    }
    return out;
  }

  /** A client Pod of the tools image running a script of tests/kind with the client certificate and a writable /tmp. */
  async function runClientScript(name: string, script: string, env: Record<string, string>, timeoutMs: number) {
    return await runPod(t, ns, name, {
      containers: [{
        name: "client",
        image: s.toolsImage,
        imagePullPolicy: "Never",
        command: ["bash", "-c", await Deno.readTextFile(new URL(script, import.meta.url))],
        env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })),
        securityContext: restricted,
        resources: { requests: { cpu: "50m", memory: "32Mi" }, limits: { memory: "128Mi" } },
        volumeMounts: [{ name: "client-tls", mountPath: "/tls", readOnly: true }, { name: "tmp", mountPath: "/tmp" }],
      }],
      volumes: [clientCertVolume(clientSecret), { name: "tmp", emptyDir: { sizeLimit: "16Mi" } }],
    }, timeoutMs);
  }

  /** The client certificate's CN, as the service names the caller ("CN=dev-sre (O=sre)"). */
  async function clientCN() {
    const subject = new X509Certificate(await Deno.readTextFile(`${s.certDir}/client.crt`)).subject;
    const cn = subject.split("\n").find((l) => l.startsWith("CN="));
    assert.ok(cn, `the client certificate has a CN: ${subject}`);
    return cn.slice(3);
  }

  Deno.test("[kind] consistent reads across replicas: 1,000 PUT-then-GET pairs through the Service, the GET with the PUT's ETag as NotOlderThan, read no stale value", async () => {
    // 1,000 PUTs from one certificate: well past RATE_LIMIT_WRITES (5/s), which is not what this proves.
    const pods = await ensureUnlimited();
    const wns = await workloadNamespace();
    try {
      // Four Deployments, one per client loop; their Pods stay Pending: scales between 1 and 2 cost API objects, not containers.
      const workers = 4;
      for (let w = 0; w < workers; w++) {
        await t.kubectlIn(JSON.stringify(workload(wns, `target-${w}`, 1, { unschedulable: true })), "apply", "-f", "-");
      }
      const pairs = 1000;
      const run = `kc${Date.now().toString(36)}`;
      const since = new Date(Date.now() - 1000).toISOString();
      const r = await runClientScript("kind-suite-consistency", "./consistent_reads.sh", {
        API: apiUrl,
        NS: wns,
        NAME: "target",
        PAIRS: String(pairs),
        WORKERS: String(workers),
        RUN: run,
      }, 900_000);
      const log = r.logs.client;
      assert.equal(r.phase, "Succeeded", log.slice(-2000));
      const rows = log.split("\n").filter((l) => l.startsWith("pair ")).map((l) => {
        const [, id, want, attempts, putCode, putRv, getCode, getRv, getReplicas, plainCode, plainRv, plainReplicas] = l.split(" ");
        return { id, want, attempts: Number(attempts), putCode, putRv, getCode, getRv, getReplicas, plainCode, plainRv, plainReplicas };
      });
      const seconds = Number(/^seconds (\S+)/m.exec(log)?.[1]);
      assert.equal(rows.length, pairs, `every pair ran: ${log.slice(-1000)}`);
      // Stale: an older resourceVersion than the PUT's, or another count than the one written (only this loop writes
      // its Deployment). Judged on pairs whose PUT succeeded: only those have an ETag to pass.
      const older = (rv: string, than: string) => !/^\d+$/.test(rv) || BigInt(rv) < BigInt(than);
      const stale = (code: string, rv: string, replicas: string, row: { putRv: string; want: string }) =>
        code === "200" && (older(rv, row.putRv) || replicas !== row.want);
      const putFailed = rows.filter((x) => x.putCode !== "200");
      const written = rows.filter((x) => x.putCode === "200");
      const retried = rows.filter((x) => x.attempts > 1);
      const getFailed = written.filter((x) => x.getCode !== "200");
      const plainFailed = written.filter((x) => x.plainCode !== "200");
      const staleReads = written.filter((x) => stale(x.getCode, x.getRv, x.getReplicas, x));
      const stalePlain = written.filter((x) => stale(x.plainCode, x.plainRv, x.plainReplicas, x));
      // Which Pod answered what, from the access logs (X-Request-Id <run>-<w>-<i>-put<attempt>|get|plain).
      const by = await servedBy(pods, since, `${run}-`);
      const perPod = pods.map((p) => `${p.name} ${[...by.values()].filter((n) => n.pod === p.name).length}`).join(", ");
      const pod = (x: (typeof rows)[number], what: "put" | "get" | "plain") =>
        by.get(`${run}-${x.id}-${what}${what === "put" ? x.attempts : ""}`)?.pod;
      const known = written.filter((x) => pod(x, "put") && pod(x, "get") && pod(x, "plain"));
      const cross = known.filter((x) => pod(x, "put") !== pod(x, "get"));
      const crossPlain = known.filter((x) => pod(x, "put") !== pod(x, "plain"));
      const stalePlainCross = stalePlain.filter((x) => crossPlain.includes(x));
      note(
        `consistent reads: ${pairs} PUT-then-GET pairs through ${svcHost} in ${seconds.toFixed(0)} s ` +
          `(${workers} loops on their own Deployments; every request on a new connection):`,
      );
      note(
        `  PUT failed ${putFailed.length} (409 conflicts sent again: ${retried.length}); ` +
          `GET with the ETag (NotOlderThan): failed ${getFailed.length}, stale ${staleReads.length}`,
      );
      note(
        `  plain GET sent with it (control): failed ${plainFailed.length}, stale ${stalePlain.length} ` +
          `(${stalePlainCross.length} of them on the other Pod than the PUT)`,
      );
      // How long the service took for the GETs that crossed replicas (durationMs of the access log): the wait, if any.
      const ms = (xs: typeof rows, what: "get" | "plain") => {
        const v = xs.map((x) => by.get(`${run}-${x.id}-${what}`)!.ms).sort((a, b) => a - b);
        return v.length ? `p50 ${v[Math.floor(v.length / 2)].toFixed(1)} ms, max ${v[v.length - 1].toFixed(1)} ms` : "none";
      };
      note(
        `  answered by (access logs; ${known.length} pairs fully attributed): ${perPod}; ` +
          `GET on the other Pod than its PUT: ${cross.length} (${ms(cross, "get")}), plain: ${crossPlain.length} (${
            ms(crossPlain, "plain")
          })`,
      );
      const show = (xs: typeof rows) => xs.slice(0, 5).map((x) => JSON.stringify(x)).join("\n");
      assert.equal(putFailed.length, 0, `PUTs that did not answer 200:\n${show(putFailed)}`);
      assert.equal(getFailed.length, 0, `NotOlderThan GETs that did not answer 200:\n${show(getFailed)}`);
      assert.equal(plainFailed.length, 0, `plain GETs that did not answer 200:\n${show(plainFailed)}`);
      assert.equal(staleReads.length, 0, `stale reads despite resourceVersion=<ETag>:\n${show(staleReads)}`);
      // The proof needs pairs that crossed replicas; kube-proxy spreads new connections at random.
      assert.ok(known.length >= pairs * 0.9, `the access logs attribute the requests (${known.length} of ${pairs} pairs)`);
      assert.ok(cross.length > pairs / 10, `GETs reached the other replica than their PUT (${cross.length} of ${known.length})`);
      await assertHealthyPods();
    } finally {
      await t.tryKubectl("delete", "namespace", wns, "--wait=false");
    }
  });

  Deno.test("[kind] PUT ?wait=rollout answers 200 once the new Pods really are Ready, 202 with the progress and a reason when the timeout is too short", async () => {
    const wns = await workloadNamespace();
    const client = await mtlsClient(s.certDir);
    try {
      // Ready 4 s after each container starts: a wait that answered early would show.
      await t.kubectlIn(JSON.stringify(workload(wns, "workload", 1, { readyAfterSeconds: 4 })), "apply", "-f", "-");
      await t.kubectl("-n", wns, "rollout", "status", "deployment/workload", "--timeout=120s");
      /** What kubectl sees right now: Ready Pods, the Deployment's status, `kubectl rollout status` without waiting. */
      const kubectlView = async () => {
        const rollout = await t.tryKubectl("-n", wns, "rollout", "status", "deployment/workload", "--watch=false");
        const podList = (await t.kubectlJson("-n", wns, "get", "pods", "-l", "app=workload")).items;
        type Pod = { metadata: { deletionTimestamp?: string }; status: { conditions?: { type: string; status: string }[] } };
        const ready = (podList as Pod[]).filter((p) =>
          !p.metadata.deletionTimestamp && (p.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")
        );
        const status = (await t.kubectlJson("-n", wns, "get", "deployment", "workload")).status;
        return { rollout: rollout.stdout.trim(), ready: ready.length, status };
      };
      await withPortForward(0, async (port) => {
        const url = `https://localhost:${port}/api/v1/namespaces/${wns}/deployments/workload/replicas`;
        await waitFor("workload with 1 ready replica in the cache", 30_000, async () => {
          const r = await fetch(url, { client });
          const body = await r.json();
          return r.status === 200 && body.readyReplicas === 1 ? body : undefined;
        });
        const put = (replicas: number, query: string) =>
          fetch(`${url}?${query}`, {
            client,
            method: "PUT",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ replicas }),
          });

        /** Sends a request that waits for the rollout, then notes its answer next to what kubectl sees at that moment. */
        const answered = async (label: string, request: () => Promise<Response>) => {
          const started = Date.now();
          const response = await request();
          const ms = Date.now() - started;
          const body = await response.json();
          const view = await kubectlView();
          note(
            `rollout wait: ${label} answered ${response.status} after ${(ms / 1000).toFixed(1)} s ` +
              `(rollout ${JSON.stringify(body.rollout)}); kubectl then: ${view.ready} Ready Pods, "${view.rollout}"`,
          );
          return { status: response.status, ms, body, view };
        };

        const done = await answered("PUT 1 -> 3 ?wait=rollout&timeout=90s", () => put(3, "wait=rollout&timeout=90s"));
        const { ms: doneMs, body: doneBody, view: atDone } = done;
        assert.equal(done.status, 200, JSON.stringify(doneBody));
        assert.equal(doneBody.replicas, 3);
        assert.equal(doneBody.rollout.complete, true, JSON.stringify(doneBody));
        for (const k of ["updatedReplicas", "readyReplicas", "availableReplicas"]) {
          assert.equal(doneBody.rollout[k], 3, `${k}: ${JSON.stringify(doneBody)}`);
        }
        assert.equal(atDone.ready, 3, "kubectl sees the three Pods Ready when the 200 arrives");
        assert.match(atDone.rollout, /successfully rolled out/, "kubectl rollout status agrees that the rollout is complete");
        assert.ok(doneMs >= 4000, `the answer waited for Pods that take at least 4 s to become Ready (${doneMs} ms)`);

        const early = await answered("PUT 3 -> 5 ?wait=rollout&timeout=1s", () => put(5, "wait=rollout&timeout=1s"));
        const { body: earlyBody, view: atEarly } = early;
        assert.equal(early.status, 202, JSON.stringify(earlyBody));
        assert.equal(earlyBody.replicas, 5);
        assert.equal(earlyBody.rollout.complete, false);
        assert.ok(earlyBody.rollout.readyReplicas < 5, JSON.stringify(earlyBody));
        assert.equal(typeof earlyBody.rollout.reason, "string", `the 202 says why: ${JSON.stringify(earlyBody)}`);
        assert.ok(earlyBody.rollout.reason.length > 0);
        assert.ok(atEarly.ready < 5, "kubectl too sees the new Pods not Ready yet");
        assert.match(atEarly.rollout, /Waiting for/, "kubectl rollout status agrees that the rollout is still in progress");

        // GET waits the same way without scaling.
        const waited = await answered("GET ?wait=rollout&timeout=90s", () => fetch(`${url}?wait=rollout&timeout=90s`, { client }));
        const { body: waitedBody, view: atWaited } = waited;
        assert.equal(waited.status, 200, JSON.stringify(waitedBody));
        assert.equal(waitedBody.rollout.complete, true);
        assert.equal(waitedBody.readyReplicas, 5);
        assert.equal(atWaited.ready, 5);
        assert.match(atWaited.rollout, /successfully rolled out/);
      });
    } finally {
      client.close();
      await t.tryKubectl("delete", "namespace", wns, "--wait=false");
    }
  });

  Deno.test("[kind] a scale through the Service from a client Pod: its SSE watch (curl -N) shows the MODIFIED event, and kubectl events the Scaled Event with the client's CN", async () => {
    await ensureUnlimited();
    const wns = await workloadNamespace();
    try {
      await t.kubectlIn(JSON.stringify(workload(wns, "target", 1, { unschedulable: true })), "apply", "-f", "-");
      const uid = (await t.kubectlJson("-n", wns, "get", "deployment", "target")).metadata.uid;
      const r = await runClientScript(
        "kind-suite-watch",
        "./watch_scale.sh",
        { API: apiUrl, NS: wns, NAME: "target", REPLICAS: "2" },
        180_000,
      );
      const log = r.logs.client;
      assert.equal(r.phase, "Succeeded", log);
      const put = /^put (\d+) (\S*)/m.exec(log);
      assert.ok(put, log);
      assert.equal(put[1], "200", `the PUT through the Service: ${log}`);
      const putRv = BigInt(put[2].replace(/^W\//, "").replaceAll('"', ""));
      const headers = log.slice(log.indexOf("--- headers\n"), log.indexOf("--- stream\n"));
      assert.match(headers, /^HTTP\/1\.1 200/m, headers);
      assert.match(headers, /^content-type: text\/event-stream/im, headers);
      const stream = log.slice(log.indexOf("--- stream\n") + 11, log.indexOf("--- end"));
      // SSE: events are blocks of "field: value" lines separated by a blank line; ":" lines are comments.
      const events = stream.split("\n\n").map((block) => {
        const fields: Record<string, string> = {};
        for (const line of block.split("\n")) {
          const m = /^([a-z]+): ?(.*)$/.exec(line);
          if (m) fields[m[1]] = m[2];
        }
        return fields;
      }).filter((e) => e.event);
      // deno-lint-ignore no-explicit-any
      const data = (e: Record<string, string>) => JSON.parse(e.data) as any;
      const added = events.find((e) => e.event === "ADDED" && data(e).name === "target");
      assert.ok(added, `the snapshot's ADDED event: ${stream}`);
      assert.equal(data(added).replicas, 1);
      const modified = events.find((e) => e.event === "MODIFIED" && data(e).name === "target" && data(e).replicas === 2);
      assert.ok(modified, `a MODIFIED event with the new count: ${stream}`);
      assert.equal(modified.id, data(modified).resourceVersion, "id: is the resourceVersion");
      assert.ok(BigInt(modified.id) >= putRv, `the event is the write or later (id ${modified.id}, PUT ETag ${putRv})`);
      note(
        `watch through the Service: ${events.length} events (${
          events.map((e) => e.event).join(", ")
        }), MODIFIED replicas 2 at id ${modified.id}`,
      );

      // Who scaled: an events.k8s.io Event on the Deployment, as kubectl shows it.
      const cn = await clientCN();
      // deno-lint-ignore no-explicit-any
      const scaled: any = await waitFor("the Scaled Event", 30_000, async () => {
        const list = await t.kubectlJson("-n", wns, "get", "events.events.k8s.io");
        // deno-lint-ignore no-explicit-any
        return list.items.find((e: any) => e.reason === "Scaled" && e.regarding?.name === "target");
      });
      assert.equal(scaled.regarding.kind, "Deployment");
      assert.equal(scaled.regarding.uid, uid);
      assert.equal(scaled.type, "Normal");
      assert.equal(scaled.reportingController, "replica-api");
      assert.match(
        scaled.note,
        new RegExp(`^replicas 1 → 2 by CN=${cn.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\b.* via replica-api`),
        scaled.note,
      );
      const shown = await t.kubectl("events", "-n", wns, "--for", "deployment/target");
      assert.match(shown, /Normal\s+Scaled\s+Deployment\/target\s+replicas 1 → 2 by CN=/, shown);
      note(
        `kubectl events: ${
          shown.trim().split("\n").find((l) => l.includes("by CN="))?.replace(/\s+/g, " ")
        } (reported by ${scaled.reportingInstance})`,
      );
    } finally {
      await t.tryKubectl("delete", "namespace", wns, "--wait=false");
    }
  });

  Deno.test("[kind] a HorizontalPodAutoscaler on the workload: PUT answers 409 naming it, ?force=true scales (audited as forced)", async () => {
    const pods = await ensureUnlimited();
    const wns = await workloadNamespace();
    const client = await mtlsClient(s.certDir);
    const since = new Date(Date.now() - 1000).toISOString();
    try {
      await t.kubectlIn(JSON.stringify(workload(wns, "workload", 1, { unschedulable: true })), "apply", "-f", "-");
      const hpa = {
        apiVersion: "autoscaling/v2",
        kind: "HorizontalPodAutoscaler",
        metadata: { name: "workload-hpa", namespace: wns },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "workload" },
          minReplicas: 1,
          maxReplicas: 3,
          metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } } }],
        },
      };
      await t.kubectlIn(JSON.stringify(hpa), "apply", "-f", "-");
      await withPortForward(0, async (port) => {
        const url = `https://localhost:${port}/api/v1/namespaces/${wns}/deployments/workload/replicas`;
        const shown = await waitFor("the autoscaler in the replicas view", 30_000, async () => {
          const r = await fetch(url, { client });
          const body = await r.json();
          return r.status === 200 && body.autoscaler ? body : undefined;
        });
        assert.deepEqual(shown.autoscaler, { name: "workload-hpa", minReplicas: 1, maxReplicas: 3 });
        const put = (query: string) =>
          fetch(`${url}${query}`, {
            client,
            method: "PUT",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ replicas: 2 }),
          });
        const refused = await put("");
        const problem = await refused.json();
        assert.equal(refused.status, 409, JSON.stringify(problem));
        assert.match(refused.headers.get("content-type") ?? "", /^application\/problem\+json/);
        assert.match(problem.detail, /HorizontalPodAutoscaler "workload-hpa"/, problem.detail);
        assert.equal((await t.kubectlJson("-n", wns, "get", "deployment", "workload")).spec.replicas, 1, "the refused PUT changed nothing");
        const forced = await put("?force=true");
        const body = await forced.json();
        assert.equal(forced.status, 200, JSON.stringify(body));
        assert.equal(body.replicas, 2);
        assert.equal(body.previousReplicas, 1);
        assert.equal(body.autoscaler?.name, "workload-hpa");
        assert.equal((await t.kubectlJson("-n", wns, "get", "deployment", "workload")).spec.replicas, 2, "the forced PUT scaled");
        note(`autoscaler: PUT 409 "${problem.detail}"; ?force=true 200 ${JSON.stringify(body)}`);
      });
      const audit = await waitFor("the forced write's audit line", 15_000, async () => {
        const lines = await auditLines(pods, since);
        // deno-lint-ignore no-explicit-any
        return lines.find((l: any) => l.target?.namespace === wns && l.outcome === "succeeded" && l.forced === true);
      });
      assert.equal(audit.replicasAfter, 2, JSON.stringify(audit));
    } finally {
      client.close();
      await t.tryKubectl("delete", "namespace", wns, "--wait=false");
    }
  });

  // ---- Issue 19 against real Pods: restart, set image, revisions, undo, pause/resume, image patterns, who did it ----

  /** The workload's Pods that are not terminating: name, uid, the image of each container, the image id it runs. */
  async function workloadPods(namespace: string, app: string) {
    const list = await t.kubectlJson("-n", namespace, "get", "pods", "-l", `app=${app}`);
    // deno-lint-ignore no-explicit-any
    return (list.items as any[]).filter((p) => !p.metadata.deletionTimestamp).map((p) => ({
      name: p.metadata.name as string,
      uid: p.metadata.uid as string,
      // deno-lint-ignore no-explicit-any
      ready: (p.status.conditions ?? []).some((c: any) => c.type === "Ready" && c.status === "True"),
      // deno-lint-ignore no-explicit-any
      images: (p.spec.containers as any[]).map((c) => c.image as string),
      // deno-lint-ignore no-explicit-any
      imageIDs: ((p.status.containerStatuses ?? []) as any[]).map((c) => c.imageID as string),
    }));
  }

  /** Waits until exactly `replicas` Pods of `app` exist, all Ready, all running `image` (and no other Pod lingers). */
  async function podsRunning(namespace: string, app: string, replicas: number, image: string, timeoutMs = 120_000) {
    return await waitFor(`${replicas} Ready Pods of ${namespace}/${app} running ${image}`, timeoutMs, async () => {
      const all = (await t.kubectlJson("-n", namespace, "get", "pods", "-l", `app=${app}`)).items;
      if (all.length !== replicas) return undefined; // old Pods still terminating count: "brings back" means they are gone
      const pods = await workloadPods(namespace, app);
      return pods.length === replicas && pods.every((p) => p.ready && p.images.every((i) => i === image)) ? pods : undefined;
    }, 1000);
  }

  /** The events.k8s.io Event with `reason` on Deployment `name` whose note matches, as kubectl lists them. */
  async function deploymentEvent(namespace: string, name: string, reason: string, note: RegExp) {
    // deno-lint-ignore no-explicit-any
    return await waitFor<any>(`the ${reason} Event on ${namespace}/${name} matching ${note}`, 30_000, async () => {
      const list = await t.kubectlJson("-n", namespace, "get", "events.events.k8s.io");
      // deno-lint-ignore no-explicit-any
      return list.items.find((e: any) => e.reason === reason && e.regarding?.name === name && note.test(e.note ?? ""));
    }, 1000);
  }

  /** The audit line of one operation on namespace/name (by action and outcome), from the release's Pods' logs. */
  async function auditOf(pods: { name: string }[], since: string, namespace: string, action: string, outcomes: string[]) {
    // deno-lint-ignore no-explicit-any
    return await waitFor<any>(`the ${action} audit line for ${namespace} (${outcomes.join("|")})`, 20_000, async () => {
      const lines = await auditLines(pods, since);
      // deno-lint-ignore no-explicit-any
      return lines.find((l: any) => l.target?.namespace === namespace && l.action === action && outcomes.includes(l.outcome));
    }, 1000);
  }

  const escapeRe = (x: string) => x.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

  /** The API at `port` (a port-forward to the Service) as the dev client (CN=dev-sre, O=sre): JSON in, JSON out. */
  function apiAt(port: number, client: Deno.HttpClient) {
    return async (method: string, path: string, body?: unknown) => {
      const r = await fetch(`https://localhost:${port}${path}`, {
        client,
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      // deno-lint-ignore no-explicit-any
      let json: any;
      try {
        json = JSON.parse(text);
      } catch {
        json = { text };
      }
      return { status: r.status, headers: r.headers, body: json, text };
    };
  }

  /**
   * A workload that really serves HTTPS on 8443 (openssl s_server of the tools image, a file naming the Pod), Ready
   * only once it answers there, and that leaves the Service before it stops: readiness probe, maxUnavailable 0
   * (a new Pod is Ready before an old one goes), and a preStop that first fails readiness, then sleeps while the
   * endpoints drain. A rollout of it under load is what an SRE's restart must survive.
   */
  function httpsWorkload(namespace: string, name: string, replicas: number, tlsSecret: string) {
    const serve = [
      `mkdir -p /tmp/www && cd /tmp/www && echo "$HOSTNAME" > index.txt`,
      `openssl s_server -accept 8443 -cert /tls/tls.crt -key /tls/tls.key -WWW -quiet & pid=$!`,
      // SIGTERM comes after the preStop's drain; sh as PID 1 would ignore it.
      `trap 'kill $pid; exit 0' TERM`,
      `until curl -sf --max-time 2 --cacert /tls/ca.crt https://localhost:8443/index.txt >/dev/null; do sleep 0.2; done`,
      `touch /tmp/ready`,
      `wait $pid`,
    ].join("\n");
    return {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace },
      spec: {
        replicas,
        minReadySeconds: 2,
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: 30,
            securityContext: { seccompProfile: { type: "RuntimeDefault" } },
            containers: [{
              name,
              image: s.toolsImage,
              imagePullPolicy: "Never",
              command: ["sh", "-c", serve],
              ports: [{ name: "https", containerPort: 8443 }],
              readinessProbe: { exec: { command: ["cat", "/tmp/ready"] }, periodSeconds: 1, failureThreshold: 1 },
              lifecycle: { preStop: { exec: { command: ["sh", "-c", "rm -f /tmp/ready; sleep 8"] } } },
              securityContext: restricted,
              resources: { requests: { cpu: "20m", memory: "16Mi" }, limits: { memory: "64Mi" } },
              volumeMounts: [{ name: "tls", mountPath: "/tls", readOnly: true }, { name: "tmp", mountPath: "/tmp" }],
            }],
            volumes: [
              { name: "tls", secret: { secretName: tlsSecret, defaultMode: 0o444 } },
              { name: "tmp", emptyDir: { sizeLimit: "1Mi" } },
            ],
          },
        },
      },
    };
  }

  Deno.test("[kind] a restart through the Service from a client Pod replaces every Pod of a workload while its own Service answers every request", async () => {
    const pods = await ensureUnlimited();
    const wns = await workloadNamespace();
    const pki = await Deno.makeTempDir({ prefix: "kind-workload-pki-" });
    const since = new Date(Date.now() - 1000).toISOString();
    try {
      // The workload's own PKI: a server certificate for its Service name, and a client the load generator presents.
      const host = `web.${wns}.svc`;
      const gen = await run(`${s.repo}/certs/gen.sh`, [pki], { env: { SERVER_SANS: `DNS:${host}` } });
      assert.equal(gen.code, 0, gen.stderr);
      const secret = async (name: string, files: Record<string, string>) => {
        const data: Record<string, string> = {};
        for (const [k, f] of Object.entries(files)) data[k] = btoa(await Deno.readTextFile(`${pki}/${f}`));
        await t.kubectlIn(
          JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace: wns }, data }),
          "apply",
          "-f",
          "-",
        );
      };
      await secret("web-tls", { "tls.crt": "server.crt", "tls.key": "server.key", "ca.crt": "ca.crt" });
      await secret("load-tls", { "tls.crt": "client.crt", "tls.key": "client.key", "ca.crt": "ca.crt" });
      await t.kubectlIn(JSON.stringify(httpsWorkload(wns, "web", 2, "web-tls")), "apply", "-f", "-");
      await t.kubectlIn(
        JSON.stringify({
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "web", namespace: wns },
          spec: { selector: { app: "web" }, ports: [{ name: "https", port: 8443, targetPort: 8443 }] },
        }),
        "apply",
        "-f",
        "-",
      );
      await t.kubectl("-n", wns, "rollout", "status", "deployment/web", "--timeout=120s");
      const before = await workloadPods(wns, "web");
      assert.equal(before.length, 2);

      // The load generator in the cluster, against the workload's Service, a new connection (and TLS handshake) per
      // request: every request is routed by kube-proxy afresh, so each one meets the Endpoints as they are then. It
      // dials the Service's ClusterIP (the certificate is still checked for the Service's name): a name looked up for
      // every request meets the kernel's UDP conntrack race now and then, a 5 s resolver retry that stalls the open
      // loop into queue timeouts (seen here) and says nothing about the rollout.
      const clusterIp = (await t.kubectl("-n", wns, "get", "service", "web", "-o", "jsonpath={.spec.clusterIP}")).trim();
      assert.match(clusterIp, /^\d+\.\d+\.\d+\.\d+$/, `the Service's ClusterIP: ${clusterIp}`);
      const seconds = 60;
      const load = loadgenContainer(s, "web-load", `https://${clusterIp}:8443/index.txt`, [
        "-new-conn",
        "-c",
        "4",
        "-rate",
        "40",
        "-d",
        `${seconds}s`,
        "-warmup",
        "0s",
        "-timeout",
        "5s",
      ], host);
      await startPod(t, wns, "kind-suite-restart-load", {
        containers: [load],
        volumes: [clientCertVolume("load-tls")],
        securityContext: { seccompProfile: { type: "RuntimeDefault" } },
      });
      await sleep(5000);

      // The restart: POST …/restart?wait=rollout through the replica-api Service, from a client Pod with the sre
      // certificate, as an SRE's tooling in the cluster would send it.
      const path = `/api/v1/namespaces/${wns}/deployments/web/restart?wait=rollout&timeout=150s`;
      const started = Date.now();
      const r = await runPod(t, ns, "kind-suite-restart-client", {
        containers: [{
          name: "client",
          image: s.toolsImage,
          imagePullPolicy: "Never",
          command: [
            "sh",
            "-c",
            `curl -sS -X POST --cert /tls/tls.crt --key /tls/tls.key --cacert /tls/ca.crt -w '\\n%{http_code} %{time_total}\\n' '${apiUrl}${path}'`,
          ],
          securityContext: restricted,
          volumeMounts: [{ name: "client-tls", mountPath: "/tls", readOnly: true }],
        }],
        volumes: [clientCertVolume(clientSecret)],
      }, 240_000);
      const restartedIn = (Date.now() - started) / 1000;
      const out = r.logs.client.trim().split("\n");
      const [code, curlSeconds] = out.at(-1)!.split(" ");
      const body = JSON.parse(out.slice(0, -1).join("\n"));
      assert.equal(r.phase, "Succeeded", r.logs.client);
      assert.equal(code, "200", r.logs.client);
      assert.equal(body.changed, true, r.logs.client);
      assert.equal(typeof body.restartedAt, "string", r.logs.client);
      assert.equal(body.rollout?.complete, true, `the 200 came once the rollout was complete: ${r.logs.client}`);
      assert.equal(body.rollout.updatedReplicas, 2, r.logs.client);

      const after = await podsRunning(wns, "web", 2, s.toolsImage);
      const oldNames = new Set(before.map((p) => p.name)), oldUids = new Set(before.map((p) => p.uid));
      assert.ok(
        after.every((p) => !oldNames.has(p.name) && !oldUids.has(p.uid)),
        `every Pod is new: before ${JSON.stringify(before.map((p) => p.name))}, after ${JSON.stringify(after.map((p) => p.name))}`,
      );
      const template = (await t.kubectlJson("-n", wns, "get", "deployment", "web")).spec.template;
      assert.equal(template.metadata.annotations?.["kubectl.kubernetes.io/restartedAt"], body.restartedAt, "kubectl's restart annotation");

      const results = await loadResults("kind-suite-restart-load", [load.name], (seconds + 60) * 1000, wns);
      note(
        `restart under load: POST restart?wait=rollout answered 200 after ${curlSeconds} s (client Pod ${restartedIn.toFixed(1)} s), Pods ${
          before.map((p) => p.name).join(",")
        } -> ${after.map((p) => p.name).join(",")}:`,
      );
      for (const x of results) note(`  ${describeLoad(x)}`);
      assert.ok(restartedIn + 5 < seconds, `the restart (${restartedIn.toFixed(0)} s) ended while the load still ran (${seconds} s)`);
      assertNoFailures(results, seconds * 20);

      // Who did it: the Event on the Deployment and the audit line.
      const cn = await clientCN();
      const event = await deploymentEvent(
        wns,
        "web",
        "Restarted",
        new RegExp(`^restarted \\(restartedAt ${escapeRe(body.restartedAt)}\\) by CN=${escapeRe(cn)} \\(O=sre\\) via replica-api`),
      );
      assert.equal(event.reportingController, "replica-api");
      assert.equal(event.action, "Restart");
      const audit = await auditOf(pods, since, wns, "restart", ["succeeded"]);
      assert.equal(audit.identity.cn, cn, JSON.stringify(audit));
      assert.deepEqual(audit.identity.organizations, ["sre"], JSON.stringify(audit));
      assert.equal(audit.target.name, "web", JSON.stringify(audit));
      assert.equal(audit.after, body.restartedAt, JSON.stringify(audit));
      note(`restart: Event "${event.note}"; audit ${JSON.stringify(audit)}`);
    } finally {
      await Deno.remove(pki, { recursive: true });
      await t.tryKubectl("delete", "namespace", wns, "--wait=false");
    }
  });

  Deno.test("[kind] set image rolls the Pods to a second preloaded image, the revisions read lists both, and undo brings the first image back", async () => {
    const pods = await ensureUnlimited();
    const wns = await workloadNamespace();
    const client = await mtlsClient(s.certDir);
    const since = new Date(Date.now() - 1000).toISOString();
    const [first, second] = [s.toolsImage, s.toolsImageNext];
    try {
      await t.kubectlIn(JSON.stringify(workload(wns, "app", 2)), "apply", "-f", "-");
      await t.kubectl("-n", wns, "rollout", "status", "deployment/app", "--timeout=120s");
      const firstPods = await podsRunning(wns, "app", 2, first);
      await withPortForward(0, async (port) => {
        const api = apiAt(port, client);
        const base = `/api/v1/namespaces/${wns}/deployments/app`;
        await waitFor("app in the cache", 30_000, async () => (await api("GET", base)).status === 200 ? true : undefined);

        const setStarted = Date.now();
        const set = await api("PUT", `${base}/containers/sleep/image?wait=rollout&timeout=120s`, { image: second });
        const setSeconds = (Date.now() - setStarted) / 1000;
        assert.equal(set.status, 200, set.text);
        assert.equal(set.body.container, "sleep", set.text);
        assert.equal(set.body.image, second, set.text);
        assert.equal(set.body.previousImage, first, set.text);
        assert.equal(set.body.changed, true, set.text);
        assert.equal(set.body.rollout?.complete, true, set.text);
        const secondPods = await podsRunning(wns, "app", 2, second);
        // Same layers, another image config: containerd reports another image id, so the Pods really run the new one.
        assert.ok(
          secondPods.every((p) => firstPods.every((q) => p.imageIDs[0] !== q.imageIDs[0])),
          JSON.stringify({ firstPods, secondPods }),
        );

        // The same image again: nothing to roll, nothing recorded as a change.
        const again = await api("PUT", `${base}/containers/sleep/image`, { image: second });
        assert.equal(again.status, 200, again.text);
        assert.equal(again.body.changed, false, again.text);

        const revisions = await waitFor("both revisions in the revisions read", 30_000, async () => {
          const r = await api("GET", `${base}/revisions`);
          return r.status === 200 && r.body.revisions?.length >= 2 ? r.body : undefined;
        });
        // deno-lint-ignore no-explicit-any
        const list = revisions.revisions as any[];
        assert.deepEqual(list.map((x) => x.revision), [...list.map((x) => x.revision)].sort((a, b) => a - b), "ascending");
        const byImage = (image: string) => list.filter((x) => x.images.some((i: { image: string }) => i.image === image));
        assert.equal(byImage(first).length, 1, JSON.stringify(revisions));
        assert.equal(byImage(second).length, 1, JSON.stringify(revisions));
        const current = list.filter((x) => x.current);
        assert.equal(current.length, 1, JSON.stringify(revisions));
        assert.deepEqual(current[0].images, [{ container: "sleep", image: second }], JSON.stringify(revisions));
        assert.equal(revisions.currentRevision, current[0].revision, JSON.stringify(revisions));
        assert.ok(byImage(first)[0].revision < current[0].revision, JSON.stringify(revisions));
        for (const x of list) assert.equal(typeof x.created, "string", JSON.stringify(x));
        const rs = (await t.kubectlJson("-n", wns, "get", "replicasets")).items;
        // deno-lint-ignore no-explicit-any
        assert.deepEqual(list.map((x) => x.replicaSet).sort(), rs.map((x: any) => x.metadata.name).sort(), "one revision per ReplicaSet");
        note(`revisions: ${JSON.stringify(list.map((x) => ({ revision: x.revision, images: x.images, current: x.current })))}`);

        const undoStarted = Date.now();
        const undo = await api("POST", `${base}/undo?wait=rollout&timeout=120s`);
        const undoSeconds = (Date.now() - undoStarted) / 1000;
        assert.equal(undo.status, 200, undo.text);
        assert.equal(undo.body.changed, true, undo.text);
        assert.equal(undo.body.fromRevision, current[0].revision, undo.text);
        assert.equal(undo.body.toRevision, byImage(first)[0].revision, undo.text);
        assert.deepEqual(undo.body.images, [{ container: "sleep", image: first }], undo.text);
        assert.equal(undo.body.rollout?.complete, true, undo.text);
        const backPods = await podsRunning(wns, "app", 2, first);
        assert.ok(backPods.every((p) => p.imageIDs[0] === firstPods[0].imageIDs[0]), JSON.stringify({ firstPods, backPods }));
        // kubectl's view agrees: the template and rollout history.
        const template = (await t.kubectlJson("-n", wns, "get", "deployment", "app")).spec.template;
        assert.equal(template.spec.containers[0].image, first);
        assert.equal(template.metadata.labels["pod-template-hash"], undefined, "the ReplicaSet's hash label is not copied back");
        note(`set image ${first} -> ${second}: 200 after ${setSeconds.toFixed(1)} s; undo back: 200 after ${undoSeconds.toFixed(1)} s`);

        // Who did it: Events and audit lines for both.
        const cn = await clientCN();
        const by = `by CN=${escapeRe(cn)} \\(O=sre\\) via replica-api`;
        const changed = await deploymentEvent(
          wns,
          "app",
          "ImageChanged",
          new RegExp(`^image sleep: ${escapeRe(first)} → ${escapeRe(second)} ${by}`),
        );
        assert.equal(changed.action, "SetImage");
        const rolledBack = await deploymentEvent(
          wns,
          "app",
          "RolledBack",
          new RegExp(
            `^undo to revision ${undo.body.toRevision} \\(sleep=${escapeRe(first)}\\) from revision ${undo.body.fromRevision} ${by}`,
          ),
        );
        assert.equal(rolledBack.action, "Undo");
        const shown = await t.kubectl("events", "-n", wns, "--for", "deployment/app");
        assert.match(shown, /ImageChanged\s+Deployment\/app\s+image sleep: /, shown);
        assert.match(shown, /RolledBack\s+Deployment\/app\s+undo to revision /, shown);
        const imageAudit = await auditOf(pods, since, wns, "image", ["succeeded"]);
        assert.equal(imageAudit.identity.cn, cn, JSON.stringify(imageAudit));
        assert.deepEqual(imageAudit.identity.organizations, ["sre"], JSON.stringify(imageAudit));
        assert.equal(imageAudit.before, first, JSON.stringify(imageAudit));
        assert.equal(imageAudit.after, second, JSON.stringify(imageAudit));
        const undoAudit = await auditOf(pods, since, wns, "undo", ["succeeded"]);
        assert.equal(undoAudit.identity.cn, cn, JSON.stringify(undoAudit));
        assert.equal(undoAudit.before, `revision ${undo.body.fromRevision}`, JSON.stringify(undoAudit));
        assert.equal(undoAudit.after, `revision ${undo.body.toRevision}`, JSON.stringify(undoAudit));
        note(`kubectl events: ${changed.note} | ${rolledBack.note}`);
      });
    } finally {
      client.close();
      await t.tryKubectl("delete", "namespace", wns, "--wait=false");
    }
  });

  Deno.test("[kind] pause stops a rollout midway (no further Pods of the new template), and resume?wait=rollout finishes it", async () => {
    const pods = await ensureUnlimited();
    const wns = await workloadNamespace();
    const client = await mtlsClient(s.certDir);
    const since = new Date(Date.now() - 1000).toISOString();
    try {
      // Three Pods, one new Pod at a time, each Ready 6 s after it starts: a rollout slow enough to pause in the middle.
      await t.kubectlIn(
        JSON.stringify(workload(wns, "slow", 3, { readyAfterSeconds: 6, rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } })),
        "apply",
        "-f",
        "-",
      );
      await t.kubectl("-n", wns, "rollout", "status", "deployment/slow", "--timeout=120s");
      const status = async () => {
        const d = await t.kubectlJson("-n", wns, "get", "deployment", "slow");
        const rs = (await t.kubectlJson("-n", wns, "get", "replicasets", "-l", "app=slow")).items;
        const newRs = rs.find((x: { spec: { template: { spec: { containers: { image: string }[] } } } }) =>
          x.spec.template.spec.containers[0].image === s.toolsImageNext
        );
        return {
          paused: d.spec.paused === true,
          updatedReplicas: (d.status.updatedReplicas ?? 0) as number,
          newReplicaSetReplicas: (newRs?.spec.replicas ?? 0) as number,
          newPods: (await workloadPods(wns, "slow")).filter((p) => p.images[0] === s.toolsImageNext).length,
        };
      };
      await withPortForward(0, async (port) => {
        const api = apiAt(port, client);
        const base = `/api/v1/namespaces/${wns}/deployments/slow`;
        await waitFor("slow in the cache", 30_000, async () => (await api("GET", base)).status === 200 ? true : undefined);
        const set = await api("PUT", `${base}/containers/sleep/image`, { image: s.toolsImageNext });
        assert.equal(set.status, 200, set.text);
        // Midway: the first Pod of the new template exists, the other two not yet.
        await waitFor("the rollout to start", 60_000, async () => (await status()).newReplicaSetReplicas >= 1 ? true : undefined, 250);
        const pause = await api("POST", `${base}/pause`);
        assert.equal(pause.status, 200, pause.text);
        assert.equal(pause.body.paused, true, pause.text);
        assert.equal(pause.body.changed, true, pause.text);
        await sleep(2000); // a step the controller had begun before it saw the pause
        const atPause = await status();
        assert.equal(atPause.paused, true);
        assert.ok(atPause.newReplicaSetReplicas < 3, `paused before the rollout ended: ${JSON.stringify(atPause)}`);
        // Long enough for two more steps of the rollout (6 s to Ready each) had it not been paused.
        await sleep(15_000);
        const later = await status();
        assert.deepEqual(
          later,
          atPause,
          `nothing rolled while paused: at the pause ${JSON.stringify(atPause)}, 15 s later ${JSON.stringify(later)}`,
        );
        // A paused Deployment refuses a restart with how to fix it.
        const restart = await api("POST", `${base}/restart`);
        assert.equal(restart.status, 409, restart.text);
        assert.match(restart.body.detail, /paused.*resume/i, restart.text);

        const resumeStarted = Date.now();
        const resume = await api("POST", `${base}/resume?wait=rollout&timeout=180s`);
        const resumeSeconds = (Date.now() - resumeStarted) / 1000;
        assert.equal(resume.status, 200, resume.text);
        assert.equal(resume.body.paused, false, resume.text);
        assert.equal(resume.body.rollout?.complete, true, resume.text);
        assert.equal(resume.body.rollout.updatedReplicas, 3, resume.text);
        await podsRunning(wns, "slow", 3, s.toolsImageNext);
        note(
          `pause midway: at the pause ${JSON.stringify(atPause)}, 15 s later unchanged; resume?wait=rollout 200 after ${
            resumeSeconds.toFixed(1)
          } s, 3 Pods on the new image`,
        );
      });
      const cn = await clientCN();
      const by = `by CN=${escapeRe(cn)} \\(O=sre\\) via replica-api`;
      const paused = await deploymentEvent(wns, "slow", "Paused", new RegExp(`^paused ${by}`));
      const resumed = await deploymentEvent(wns, "slow", "Resumed", new RegExp(`^resumed ${by}`));
      assert.equal(paused.action, "Pause");
      assert.equal(resumed.action, "Resume");
      const pauseAudit = await auditOf(pods, since, wns, "pause", ["succeeded"]);
      const resumeAudit = await auditOf(pods, since, wns, "resume", ["succeeded"]);
      for (const a of [pauseAudit, resumeAudit]) {
        assert.equal(a.identity.cn, cn, JSON.stringify(a));
        assert.deepEqual(a.identity.organizations, ["sre"], JSON.stringify(a));
      }
      note(`kubectl events: ${paused.note} | ${resumed.note}`);
    } finally {
      client.close();
      await t.tryKubectl("delete", "namespace", wns, "--wait=false");
    }
  });

  Deno.test("[kind] an image outside the allowed patterns is refused with 403 naming the patterns, and the Deployment is unchanged", async () => {
    const pods = await ensureUnlimited();
    const wns = await workloadNamespace();
    const cn = `kind-deployer-${Date.now()}`;
    const since = new Date(Date.now() - 1000).toISOString();
    const issued = await run(`${s.repo}/certs/clients.sh`, ["issue", s.certDir], { env: { CN: cn, O: "deployers", DAYS: "1" } });
    assert.equal(issued.code, 0, issued.stderr);
    const deployer = Deno.createHttpClient({
      caCerts: [await Deno.readTextFile(`${s.certDir}/ca.crt`)],
      cert: await Deno.readTextFile(`${s.certDir}/clients/${cn}.crt`),
      key: await Deno.readTextFile(`${s.certDir}/clients/${cn}.key`),
    });
    const sre = await mtlsClient(s.certDir);
    const toolsRepo = s.toolsImage.slice(0, s.toolsImage.lastIndexOf(":"));
    try {
      await t.kubectlIn(JSON.stringify(workload(wns, "app", 1, { unschedulable: true })), "apply", "-f", "-");
      // "Nothing was written" compares resourceVersions, so the baseline is taken once the Deployment controller has
      // stopped writing its status (it does so a few times right after the apply): observed, and the same over 2 s.
      let last = "";
      // deno-lint-ignore no-explicit-any
      const before = await waitFor<any>("the Deployment controller to settle app's status", 30_000, async () => {
        const d = await t.kubectlJson("-n", wns, "get", "deployment", "app");
        const settled = d.status?.observedGeneration === d.metadata.generation && d.metadata.resourceVersion === last;
        last = d.metadata.resourceVersion;
        return settled ? d : undefined;
      }, 2_000);
      await withPortForward(0, async (port) => {
        const base = `/api/v1/namespaces/${wns}/deployments/app`;
        const asDeployer = apiAt(port, deployer), asSre = apiAt(port, sre);
        await waitFor("app in the cache", 30_000, async () => (await asSre("GET", base)).status === 200 ? true : undefined);
        // O=deployers may set registry.internal/* only: the preloaded tools image is outside it.
        const refused = await asDeployer("PUT", `${base}/containers/sleep/image`, { image: s.toolsImageNext });
        assert.equal(refused.status, 403, refused.text);
        assert.match(refused.headers.get("content-type") ?? "", /^application\/problem\+json/);
        assert.match(refused.body.detail, /registry\.internal\/\*/, refused.text);
        // O=sre may set <tools repository>:* only: another registry's image is outside it, even a well-known one.
        const foreign = "docker.io/library/nginx:1.27";
        const sreRefused = await asSre("PUT", `${base}/containers/sleep/image?dryRun=true`, { image: foreign });
        assert.equal(sreRefused.status, 403, sreRefused.text);
        assert.ok(sreRefused.body.detail.includes(`${toolsRepo}:*`), sreRefused.text);
        note(`image patterns: deployers 403 "${refused.body.detail}"; sre 403 "${sreRefused.body.detail}"`);
      });
      const after = await t.kubectlJson("-n", wns, "get", "deployment", "app");
      assert.equal(after.metadata.resourceVersion, before.metadata.resourceVersion, "nothing was written");
      assert.equal(after.metadata.generation, before.metadata.generation);
      assert.equal(after.spec.template.spec.containers[0].image, s.toolsImage);
      const events = (await t.kubectlJson("-n", wns, "get", "events.events.k8s.io")).items;
      // deno-lint-ignore no-explicit-any
      assert.ok(!events.some((e: any) => e.reportingController === "replica-api"), "no Event for a refusal");
      // deno-lint-ignore no-explicit-any
      const audit = await waitFor<any>("the deployer's denied image audit line", 20_000, async () =>
        // deno-lint-ignore no-explicit-any
        (await auditLines(pods, since)).find((l: any) =>
          l.target?.namespace === wns && l.action === "image" && l.outcome === "denied" && l.identity?.cn === cn
        ), 1000);
      assert.deepEqual(audit.identity.organizations, ["deployers"], JSON.stringify(audit));
      assert.equal(audit.status, 403, JSON.stringify(audit));
    } finally {
      deployer.close();
      sre.close();
      await t.tryKubectl("delete", "namespace", wns, "--wait=false");
    }
  });

  Deno.test("[kind] certificate rotation: a new TLS Secret is loaded without a restart; new clients in, the retired CA's out", async () => {
    const before = await assertHealthyPods();
    const dir = await Deno.makeTempDir({ prefix: "kind-rotation-" });
    const secretName = (await t.kubectlJson("-n", ns, "get", "deployment", s.fullname)).spec.template.spec.volumes
      // deno-lint-ignore no-explicit-any
      .find((v: any) => v.name === "tls").secret.secretName;
    const original = await t.kubectlJson("-n", ns, "get", "secret", secretName);
    /** Puts `data` into the TLS Secret and has kubelet refresh the Pods' volume now. */
    const rotate = async (data: Record<string, string>) => {
      await t.kubectlIn(
        JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: secretName, namespace: ns }, data }),
        "apply",
        "-f",
        "-",
      );
      // kubelet refreshes Secret volumes on its next sync of each Pod (about a minute); a Pod update makes that sync happen now.
      for (const p of before) {
        await t.kubectl("-n", ns, "annotate", "pod", p.name, "--overwrite", `replica-api.dev/tls-rotated=${Date.now()}`);
      }
    };
    try {
      const sans = `DNS:${svcHost},DNS:${svcHost}.cluster.local,DNS:${s.fullname}`;
      const gen = await run(`${s.repo}/certs/gen.sh`, [dir], { env: { SERVER_SANS: sans } });
      assert.equal(gen.code, 0, gen.stderr);
      const b64 = async (f: string) => btoa(await Deno.readTextFile(`${dir}/${f}`));
      await rotate({ "tls.crt": await b64("server.crt"), "tls.key": await b64("server.key"), "ca.crt": await b64("ca.crt") });
      const fresh = await mtlsClient(dir);
      // The retired CA's client trusts the new server certificate: only the server can refuse it.
      const retired = Deno.createHttpClient({
        caCerts: [await Deno.readTextFile(`${dir}/ca.crt`)],
        cert: await Deno.readTextFile(`${s.certDir}/client.crt`),
        key: await Deno.readTextFile(`${s.certDir}/client.key`),
      });
      try {
        await withPortForward(0, async (port) => {
          const started = Date.now();
          // A new connection each time, to either Pod: both must have reloaded.
          await waitFor("both Pods to accept the new CA's client", 150_000, async () => {
            for (let i = 0; i < 6; i++) if (!(await accepted(fresh, port))) return undefined;
            return true;
          }, 1000);
          console.log(`kind-rotation: new certificate served ${((Date.now() - started) / 1000).toFixed(1)} s after the Secret update`);
          for (let i = 0; i < 6; i++) assert.equal(await accepted(retired, port), false, "a client of the retired CA is refused");
        });
      } finally {
        fresh.close();
        retired.close();
      }
      const after = await assertHealthyPods();
      assert.deepEqual(after.map((p) => p.uid), before.map((p) => p.uid), "the same Pods, not restarted");
    } finally {
      // Back to the release's own material, so the dev PKI (certs/, the client Secret) works again.
      await rotate(original.data);
      const dev = await mtlsClient(s.certDir);
      try {
        await withPortForward(0, (port) =>
          waitFor("the release's own certificate back in both Pods", 150_000, async () => {
            for (let i = 0; i < 6; i++) if (!(await accepted(dev, port))) return undefined;
            return true;
          }, 1000));
      } finally {
        dev.close();
        await Deno.remove(dir, { recursive: true });
      }
    }
  });

  Deno.test("[kind] a change to the policy ConfigMap takes effect in every Pod within 60 s, without a restart", async () => {
    const before = await assertHealthyPods();
    const cn = `kind-policy-${Date.now()}`;
    const issued = await run(`${s.repo}/certs/clients.sh`, ["issue", s.certDir], { env: { CN: cn, O: "sre", DAYS: "1" } });
    assert.equal(issued.code, 0, issued.stderr);
    const certPem = await Deno.readTextFile(`${s.certDir}/clients/${cn}.crt`);
    const fingerprint = new X509Certificate(certPem).fingerprint256;
    const client = Deno.createHttpClient({
      caCerts: [await Deno.readTextFile(`${s.certDir}/ca.crt`)],
      cert: certPem,
      key: await Deno.readTextFile(`${s.certDir}/clients/${cn}.key`),
    });
    const configMap = `${s.fullname}-policy`;
    const original = await t.kubectlJson("-n", ns, "get", "configmap", configMap);
    const key = Object.keys(original.data)[0];
    /** Puts `policy` into the ConfigMap and has kubelet refresh the Pods' volume now (as the rotation scenario does). */
    const setPolicy = async (policy: string) => {
      await t.kubectlIn(
        JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: configMap, namespace: ns }, data: { [key]: policy } }),
        "apply",
        "-f",
        "-",
      );
      for (const p of before) {
        await t.kubectl("-n", ns, "annotate", "pod", p.name, "--overwrite", `replica-api.dev/policy-changed=${Date.now()}`);
      }
    };
    /** The status every Pod answers this identity's list with, each through its own port-forward. */
    const statusInEveryPod = async (wanted: number, what: string, withinMs = 60_000) => {
      const deadline = Date.now() + withinMs;
      for (const pod of before) {
        await withPortForward(0, async (port) => {
          const started = Date.now();
          await waitFor(
            `${what} in ${pod.name} (all Pods within ${withinMs / 1000} s)`,
            Math.max(1_000, deadline - Date.now()),
            async () => {
              const r = await fetch(`https://localhost:${port}/api/v1/deployments`, { client });
              await r.body?.cancel();
              return r.status === wanted ? true : undefined;
            },
            500,
          );
          console.log(`kind-policy: ${pod.name} answered ${wanted} ${((Date.now() - started) / 1000).toFixed(1)} s after the check began`);
        }, `pod/${pod.name}`);
      }
    };
    try {
      await statusInEveryPod(200, "the new identity allowed by the group rule");
      const denied = { ...JSON.parse(original.data[key]), deniedFingerprints: [fingerprint] };
      const changed = Date.now();
      await setPolicy(JSON.stringify(denied));
      await statusInEveryPod(403, "the denied fingerprint refused");
      console.log(`kind-policy: denied in every Pod ${((Date.now() - changed) / 1000).toFixed(1)} s after the ConfigMap update`);
      const after = await assertHealthyPods();
      assert.deepEqual(after.map((p) => p.uid), before.map((p) => p.uid), "the same Pods, not restarted");
    } finally {
      await setPolicy(original.data[key]);
      await statusInEveryPod(200, "the release's own policy back").finally(() => client.close());
    }
  });

  Deno.test("[kind] resource limits hold: keep-alive, new-connection and 256-connection load leave no restart and no OOM kill", async () => {
    // One load Pod drives one replica well past the per-source limits (a no-op after the rolling upgrade scenario).
    const pods = await ensureUnlimited();
    // The memory below is jemalloc's: the allocator the image preloads, checked before the load fills the logs.
    await assertJemalloc(pods);
    const [pod] = pods;
    const limit = (await t.kubectlJson("-n", ns, "get", "pod", pod.name)).spec.containers[0].resources.limits.memory;
    const url = `https://${pod.ip}:8443/api/v1/health`;
    const d = "15s";
    const docker = Deno.env.get("DOCKER") || "docker";
    const idle = await podMemoryPeak(docker, pod.node, pod.uid, true);
    // What the cgroup's usage is made of, read each second while the load runs (reported, never asserted).
    const cgroup = await podMemoryCgroup(docker, pod.node, pod.uid);
    const atStart = cgroup ? await memorySample(docker, pod.node, cgroup) : undefined;
    const sampler = cgroup ? sampleMemory(docker, pod.node, cgroup) : undefined;
    const modes = [
      loadgenContainer(s, "keepalive-16", url, ["-c", "16", "-d", d], svcHost),
      loadgenContainer(s, "new-conn-8", url, ["-new-conn", "-c", "8", "-d", d], svcHost),
      loadgenContainer(s, "conns-256", url, ["-c", "256", "-d", d, "-timeout", "10s"], svcHost),
    ];
    // One after another (init containers), all against the same Pod.
    const r = await runPod(t, ns, "kind-suite-limits-load", {
      initContainers: modes,
      // The Pod's one container: a single request once the modes are done, so the Pod can complete.
      containers: [loadgenContainer(s, "done", url, ["-n", "1", "-c", "1"], svcHost)],
      volumes: [clientCertVolume(clientSecret)],
      securityContext: { seccompProfile: { type: "RuntimeDefault" } },
    }, 240_000).finally(() => sampler?.stop());
    const samples = (await sampler?.stop()) ?? [];
    const mib = (n?: number) => n === undefined ? "unknown" : `${(n / 1048576).toFixed(0)} MiB`;
    note(`resource limits (memory limit ${limit}) against ${pod.name}:`);
    for (const [i, m] of modes.entries()) {
      if (r.logs[m.name]?.includes("{")) note(`  ${describeLoad(parseLoad(r.logs[m.name]))}`);
      else note(`  ${m.name}: no result (${r.logs[m.name]?.slice(-300) ?? "no log"})`);
      // The samples taken while this mode ran (its init container's start and finish, to the second).
      const ran = r.status?.initContainerStatuses?.[i]?.state?.terminated;
      const from = Date.parse(ran?.startedAt ?? "") - 1000, to = Date.parse(ran?.finishedAt ?? "") + 1000;
      const during = samples.filter((x) => x.at >= from && x.at <= to);
      const top = during.reduce<MemorySample | undefined>((a, b) => (a && a.usage >= b.usage ? a : b), undefined);
      if (top) {
        note(
          `    cgroup usage, highest of ${during.length} readings: ${mib(top.usage)} = anon (RSS) ${mib(top.rss)} + page cache ` +
            `${mib(top.cache)} (shmem ${mib(top.shmem)}) + kernel ${mib(top.kernel)}; socket buffers ${mib(top.sock)}`,
        );
      }
    }
    try {
      const peak = await podMemoryPeak(docker, pod.node, pod.uid, false);
      const atEnd = cgroup ? await memorySample(docker, pod.node, cgroup) : undefined;
      note(
        `  ${pod.name}: memory peak of the Pod's cgroup during the load ${mib(peak)} (limit ${limit}; ${mib(idle)} before)` +
          (atStart && atEnd
            ? `; limit reached (memory.failcnt) ${atEnd.failcnt - atStart.failcnt} times, OOM kills ${atEnd.oomKills - atStart.oomKills}`
            : ""),
      );
      await sleep(3000);
      const target = (await releasePods(t, s)).find((p) => p.uid === pod.uid);
      assert.ok(target, `${pod.name} still exists`);
      for (const c of target.containers) {
        note(`  ${pod.name}/${c.name}: restartCount ${c.restartCount}, last terminated: ${c.lastTerminated ?? "never"}`);
        assert.notEqual(c.lastTerminated, "OOMKilled", `${pod.name}/${c.name} was OOM-killed under load`);
        assert.equal(c.restartCount, 0, `${pod.name}/${c.name} restarted under load`);
      }
      await assertHealthyPods();
    } finally {
      console.log(`kind-load summary:\n${loadLines.join("\n")}`);
    }
  });

  /** GET /api/v1/health through a port-forward answers 200 to this client (false when the handshake is refused). */
  async function accepted(client: Deno.HttpClient, port: number) {
    try {
      const r = await fetch(`https://localhost:${port}/api/v1/health`, { client, signal: AbortSignal.timeout(5000) });
      await r.body?.cancel();
      return r.status === 200;
    } catch {
      return false;
    }
  }

  /**
   * A Deployment of the local tools image that sleeps, Ready `readyAfterSeconds` after its container really
   * starts. `unschedulable`: its Pods match no node and stay Pending (a scale target that costs no container).
   */
  function workload(
    namespace: string,
    name: string,
    replicas: number,
    { readyAfterSeconds = 2, unschedulable = false, image = s.toolsImage, rollingUpdate }: {
      readyAfterSeconds?: number;
      unschedulable?: boolean;
      image?: string;
      rollingUpdate?: { maxSurge: number; maxUnavailable: number };
    } = {},
  ) {
    return {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, namespace },
      spec: {
        replicas,
        ...(rollingUpdate ? { strategy: { type: "RollingUpdate", rollingUpdate } } : {}),
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            automountServiceAccountToken: false,
            terminationGracePeriodSeconds: 1,
            ...(unschedulable ? { nodeSelector: { "replica-api.dev/kind-suite": "no-such-node" } } : {}),
            securityContext: { seccompProfile: { type: "RuntimeDefault" } },
            containers: [{
              name: "sleep",
              image,
              imagePullPolicy: "Never",
              command: ["sh", "-c", `sleep ${readyAfterSeconds}; echo ready > /tmp/ready; exec sleep 86400`],
              readinessProbe: { exec: { command: ["cat", "/tmp/ready"] }, periodSeconds: 1 },
              securityContext: { ...restricted, readOnlyRootFilesystem: false },
              resources: { requests: { cpu: "5m", memory: "8Mi" }, limits: { memory: "32Mi" } },
            }],
          },
        },
      },
    };
  }
}
