/**
 * The client certificate's expiry warning, with certificates made by openssl: read from the certificate by
 * node:crypto's X509Certificate, checked against what openssl itself says, and measured against the CLI's clock.
 */
import assert from "node:assert/strict";
import { expiryWarning } from "../../../src/cli/cert_expiry.ts";
import { cli, type FakeApi, json, startFakeApi, VirtualClock } from "./_fake_api.ts";
import type { CertKeyPair } from "../../support/pki.ts";

const DAY = 86_400_000;
const web = { namespace: "demo", name: "web", replicas: 3, readyReplicas: 3, availableReplicas: 3, resourceVersion: "811" };

/** notAfter as openssl prints it (`-dateopt iso_8601`: "2026-12-09 09:17:46Z"), independent of node:crypto. */
async function opensslNotAfter(certPath: string): Promise<Date> {
  const out = await new Deno.Command("openssl", {
    args: ["x509", "-in", certPath, "-noout", "-enddate", "-dateopt", "iso_8601"],
    stdout: "piped",
  }).output();
  assert.ok(out.success, "openssl x509 -enddate");
  const text = new TextDecoder().decode(out.stdout).trim(); // notAfter=2026-12-09 09:17:46Z
  return new Date(text.slice("notAfter=".length).replace(" ", "T"));
}

const asBob = (api: FakeApi, bob: CertKeyPair) => ({ ...api.env, REPLICA_API_CERT: bob.certPath, REPLICA_API_KEY: bob.keyPath });

Deno.test("the client certificate's expiry warning", async (t) => {
  const api = await startFakeApi((r) =>
    r.method === "PUT"
      ? json({ namespace: "demo", name: "web", replicas: 3, previousReplicas: 2 })
      : r.target.includes("wait=rollout")
      ? json({ ...web, rollout: { complete: true, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 } })
      : json({ items: [web] })
  );
  try {
    // Issued by openssl for a day, the suites' usual short-lived kind.
    const bob = await api.pki.issueClient({ name: "short-lived-bob", cn: "bob", organizations: ["sre"] });
    const notAfter = await opensslNotAfter(bob.certPath);

    await t.step("X509Certificate in Deno reads the notAfter openssl wrote", () => {
      const warning = expiryWarning(bob.cert, bob.certPath, notAfter.getTime() - DAY);
      assert.equal(
        warning,
        `replica-api: warning: client certificate ${bob.certPath} (CN=bob) expires in 1 day (${notAfter.toISOString()})`,
      );
    });

    await t.step("two days before expiry a command warns once on stderr, and its stdout and exit code stay as they are", async () => {
      const quiet = await cli(["list"], asBob(api, bob), { clock: new VirtualClock(0, notAfter.getTime() - 30 * DAY) });
      const warned = await cli(["list"], asBob(api, bob), { clock: new VirtualClock(0, notAfter.getTime() - 2 * DAY) });
      assert.equal(warned.code, 0, warned.stderr);
      assert.equal(warned.code, quiet.code);
      assert.equal(warned.stdout, quiet.stdout);
      assert.equal(quiet.stderr, "", "a month before expiry: nothing");
      assert.equal(
        warned.stderr,
        `replica-api: warning: client certificate ${bob.certPath} (CN=bob) expires in 2 days (${notAfter.toISOString()})`,
      );
    });

    await t.step("within the last hour the time left is given in minutes", () => {
      const warning = expiryWarning(bob.cert, bob.certPath, notAfter.getTime() - 42 * 60_000 - 5_000);
      assert.match(warning ?? "", / expires in 42 minutes \(/);
    });

    await t.step("a week and a minute before expiry there is no warning; a week before, there is", () => {
      assert.equal(expiryWarning(bob.cert, bob.certPath, notAfter.getTime() - 7 * DAY - 60_000), undefined);
      assert.match(expiryWarning(bob.cert, bob.certPath, notAfter.getTime() - 7 * DAY) ?? "", / expires in 7 days \(/);
    });

    await t.step("a command that makes several requests warns only once", async () => {
      const run = await cli(["scale", "demo/web", "3", "--wait"], asBob(api, bob), {
        clock: new VirtualClock(0, notAfter.getTime() - 3 * DAY),
      });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stderr.split("\n").filter((line) => line.startsWith("replica-api: warning:")).length, 1, run.stderr);
      assert.ok(run.stderr.startsWith("replica-api: warning: client certificate"), "before anything else");
    });

    await t.step("an expired certificate is named before the server's refusal, which decides the exit code", async () => {
      const expired = api.pki.expiredClient;
      const env = { ...api.env, REPLICA_API_CERT: expired.certPath, REPLICA_API_KEY: expired.keyPath };
      const run = await cli(["list"], env, { clock: new VirtualClock(0, Date.parse("2026-12-07T00:00:00Z")) });
      assert.equal(run.code, 1);
      const [warning, error] = run.stderr.split("\n");
      assert.equal(
        warning,
        `replica-api: warning: client certificate ${expired.certPath} (CN=expired) has expired (2020-01-02T00:00:00.000Z)`,
      );
      assert.match(error, /^error: cannot connect to .*: the server refused our client certificate/);
    });

    await t.step("help, config and an unreadable certificate draw no warning", async () => {
      const clock = () => new VirtualClock(0, notAfter.getTime() - DAY);
      assert.equal((await cli(["help"], asBob(api, bob), { clock: clock() })).stderr, "");
      const config = await cli(["config", "get-contexts"], { ...asBob(api, bob), HOME: "/nonexistent" }, { clock: clock() });
      assert.equal(config.stderr, "No contexts in /nonexistent/.config/replica-api/config.json.");
      const missing = await cli(["list", "--cert", "/nonexistent/bob.crt"], asBob(api, bob), { clock: clock() });
      assert.equal(missing.stderr, "error: cannot read the client certificate /nonexistent/bob.crt (--cert): no such file");
    });

    await t.step("text that is no certificate draws no warning (openConnection reports it)", () => {
      assert.equal(expiryWarning("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "x.crt", 0), undefined);
      assert.equal(expiryWarning(bob.key, bob.keyPath, notAfter.getTime()), undefined);
    });
  } finally {
    await api.close();
  }
});
