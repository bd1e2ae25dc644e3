/**
 * `make client-cert` and `make revoke-cert` as a person runs them (certs/clients.sh through the Makefile), writing
 * into a temp dir instead of certs/ so the developer's PKI is left alone. The CRL they write is then read by the
 * revocation module, which closes the loop from `openssl ca -revoke` to `isRevoked`.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { fileURLToPath } from "node:url";
import { issuerAndSerialOf, loadRevocationList } from "../../../../src/tls/revocation/mod.ts";

const REPO = fileURLToPath(new URL("../../../../", import.meta.url));

interface MakeResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** `make -s TARGET VAR=value...` in the repository, with a clean environment so a stray CN or DAYS cannot leak in. */
async function make(certsDir: string, target: string, ...variables: string[]): Promise<MakeResult> {
  const out = await new Deno.Command("make", {
    args: ["-s", "-C", REPO, target, `CERTS_DIR=${certsDir}`, ...variables],
    clearEnv: true,
    env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", HOME: Deno.env.get("HOME") ?? "/tmp" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

async function openssl(...args: string[]): Promise<string> {
  const out = await new Deno.Command("openssl", { args, stdout: "piped", stderr: "piped" }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout).trim();
}

function certificate(path: string): X509Certificate {
  return new X509Certificate(Deno.readTextFileSync(path));
}

Deno.test("make client-cert issues a 7-day clientAuth certificate from the dev CA (creating it) and prints how to use it", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replica-api-client-cert-" });
  try {
    const result = await make(dir, "client-cert", "CN=alice", "O=sre,oncall");
    assert.equal(result.code, 0, result.stderr);
    const crt = `${dir}/clients/alice.crt`;
    assert.match(result.stdout, new RegExp(`bin/replica-api --cert ${crt} --key ${dir}/clients/alice.key --cacert ${dir}/ca.crt`));
    assert.match(result.stdout, new RegExp(`curl --cert ${crt} --key ${dir}/clients/alice.key --cacert ${dir}/ca.crt https://`));
    assert.equal(await openssl("x509", "-in", crt, "-noout", "-subject", "-nameopt", "RFC2253"), "subject=O=oncall,O=sre,CN=alice");
    assert.match(await openssl("x509", "-in", crt, "-noout", "-ext", "extendedKeyUsage"), /TLS Web Client Authentication/);
    assert.equal(await openssl("verify", "-CAfile", `${dir}/ca.crt`, crt), `${crt}: OK`);
    const cert = certificate(crt);
    assert.equal((Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000, 7);
    assert.equal((await Deno.stat(`${dir}/clients/alice.key`)).mode! & 0o777, 0o600);
    assert.ok((await Deno.stat(`${dir}/crl.pem`)).isFile, "an empty CRL is there from the start");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("make client-cert gives random serials, and make revoke-cert revokes every certificate of the CN in certs/crl.pem", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replica-api-client-cert-" });
  try {
    const serials: string[] = [];
    for (const days of ["2", "3"]) {
      const result = await make(dir, "client-cert", "CN=alice", "O=sre", `DAYS=${days}`);
      assert.equal(result.code, 0, result.stderr);
      serials.push(certificate(`${dir}/clients/alice.crt`).serialNumber);
    }
    assert.equal((await make(dir, "client-cert", "CN=bob", "O=sre")).code, 0);
    const bob = certificate(`${dir}/clients/bob.crt`);
    // openssl ca -rand_serial: 159 random bits, so neither long-ish nor one apart.
    const [first, second] = serials.map((s) => BigInt(`0x${s}`));
    assert.ok(serials.every((s) => s.length >= 32), serials.join(" "));
    assert.ok(second - first > 1n || first - second > 1n, serials.join(" "));

    const revoked = await make(dir, "revoke-cert", "CN=alice");
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stderr, /2 revoked/);
    const list = await loadRevocationList([`${dir}/crl.pem`], { caPem: await Deno.readTextFile(`${dir}/ca.crt`) });
    assert.deepEqual(list.problems, []);
    const { issuer } = issuerAndSerialOf(bob.raw);
    assert.deepEqual(serials.map((s) => list.isRevoked(s, issuer)), [true, true]);
    assert.equal(list.isRevoked(bob.serialNumber, issuer), false);

    const again = await make(dir, "revoke-cert", "CN=alice");
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /no valid certificate for CN=alice/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("make client-cert refuses more than 30 days, a non-numeric DAYS, an empty CN and an O that is not a plain name", async () => {
  const dir = await Deno.makeTempDir({ prefix: "replica-api-client-cert-" });
  try {
    const cases: [string[], RegExp][] = [
      [["CN=carol", "DAYS=31"], /DAYS=31: client certificates last 1 to 30 days/],
      [["CN=carol", "DAYS=0"], /DAYS=0: client certificates last 1 to 30 days/],
      [["CN=carol", "DAYS=7d"], /DAYS "7d" is not a whole number of days/],
      [["CN=", "O=sre"], /CN is empty/],
      [["O=sre"], /CN is empty/],
      [["CN=../carol"], /CN "\.\.\/carol": use letters, digits/],
      [["CN=carol", "O=sre/CN=admin"], /O "sre\/CN=admin": use letters/],
    ];
    for (const [variables, message] of cases) {
      const result = await make(dir, "client-cert", ...variables);
      assert.notEqual(result.code, 0, variables.join(" "));
      assert.match(result.stderr, message);
    }
    const written = await Array.fromAsync(Deno.readDir(dir));
    assert.deepEqual(written.map((e) => e.name), [], "the request is checked before anything (even the CA) is created");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
