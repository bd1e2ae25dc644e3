/**
 * Test PKI generated with the real `openssl` CLI, so tests exercise the same
 * certificate shapes production sees (ECDSA P-256, EKUs, multi-valued O).
 *
 * Everything lives in one temp dir; call `cleanup()` when done. Needs
 * --allow-run=openssl plus read/write on the temp dir.
 */

/** A certificate with its private key, as file paths and PEM contents. */
export interface CertKeyPair {
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: string;
  readonly key: string;
}

/** What to put in a client certificate issued by {@link TestPki.issueClient}. */
export interface ClientCertSpec {
  /** File name stem inside the PKI dir; must be unique per PKI. */
  readonly name: string;
  readonly cn: string;
  readonly organizations?: readonly string[];
  /** Default "clientAuth". */
  readonly extendedKeyUsage?: "clientAuth" | "serverAuth";
  /** Issue from the unrelated second CA instead of the trusted one. */
  readonly fromOtherCa?: boolean;
  /** Issue a certificate whose validity ended in 2020. */
  readonly expired?: boolean;
}

export interface TestPki {
  readonly dir: string;
  /** The CA the server trusts for client certificates (and that signed the server cert). */
  readonly ca: CertKeyPair;
  /** An unrelated CA the server does not trust. */
  readonly otherCa: CertKeyPair;
  /** Server cert: SAN DNS:localhost, IP:127.0.0.1; EKU serverAuth. */
  readonly server: CertKeyPair;
  /** Valid client: CN=alice, O=sre, O=oncall; EKU clientAuth. */
  readonly alice: CertKeyPair;
  /** CN=mallory, issued by `otherCa`. */
  readonly foreignClient: CertKeyPair;
  /** CN=expired, validity 2020-01-01 .. 2020-01-02. */
  readonly expiredClient: CertKeyPair;
  /** CN=wrong-eku, EKU serverAuth only. */
  readonly serverAuthOnlyClient: CertKeyPair;
  /** Issue another client certificate (e.g. more identities for integration tests). */
  issueClient(spec: ClientCertSpec): Promise<CertKeyPair>;
  /** SHA-256 fingerprint as `openssl x509 -fingerprint -sha256` prints it (AA:BB:...). */
  fingerprint256(certPath: string): Promise<string>;
  cleanup(): Promise<void>;
}

// A private config keeps the system openssl.cnf (which differs between
// distros) out of the picture; `openssl ca` also needs its database section.
const opensslConfig = (caState = "ca-state") => `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused

[ca_root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
authorityKeyIdentifier = keyid

[clientAuth_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid

[serverAuth_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
authorityKeyIdentifier = keyid

# Only used for the expired certificate: \`openssl x509 -req\` (3.0) cannot
# backdate, \`openssl ca -startdate/-enddate\` can.
[ca]
default_ca = backdating_ca
[backdating_ca]
dir = .
database = ${caState}.index
serial = ${caState}.serial
new_certs_dir = .
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
[policy_any]
commonName = supplied
organizationName = optional
`;

const KEY_ARGS = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

async function openssl(cwd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    const stderr = new TextDecoder().decode(out.stderr);
    throw new Error(`openssl ${args[0]} failed (exit ${out.code}): ${stderr.trim()}`);
  }
}

function subject(cn: string, organizations: readonly string[] = []): string {
  // Each "/O=" is its own RDN, which is how several O values end up in one subject.
  return `/CN=${cn}` + organizations.map((o) => `/O=${o}`).join("");
}

function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  bytes[0] &= 0x7f; // keep it positive
  return "0x" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function readPair(dir: string, name: string): Promise<CertKeyPair> {
  const certPath = `${dir}/${name}.crt`;
  const keyPath = `${dir}/${name}.key`;
  const [cert, key] = await Promise.all([Deno.readTextFile(certPath), Deno.readTextFile(keyPath)]);
  return { certPath, keyPath, cert, key };
}

async function createCa(dir: string, name: string, cn: string): Promise<CertKeyPair> {
  await openssl(dir, [
    "req",
    "-config",
    "openssl.cnf",
    "-x509",
    ...KEY_ARGS,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
    "-subj",
    `/CN=${cn}`,
    "-days",
    "60",
    "-extensions",
    "ca_root",
    "-set_serial",
    randomSerial(),
  ]);
  return readPair(dir, name);
}

interface LeafSpec {
  name: string;
  subj: string;
  ext: string;
  caName: string;
  expired?: boolean;
}

async function issueLeaf(dir: string, spec: LeafSpec): Promise<CertKeyPair> {
  const { name, caName } = spec;
  await openssl(dir, [
    "req",
    "-config",
    "openssl.cnf",
    "-new",
    ...KEY_ARGS,
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    spec.subj,
  ]);
  if (spec.expired) {
    // `openssl ca` keeps a database and serial file; per-certificate ones keep parallel issuing safe.
    const state = `${name}.ca-state`;
    await Promise.all([
      Deno.writeTextFile(`${dir}/${name}.ca.cnf`, opensslConfig(state)),
      Deno.writeTextFile(`${dir}/${state}.index`, ""),
      Deno.writeTextFile(`${dir}/${state}.serial`, randomSerial().slice(2) + "\n"),
    ]);
    await openssl(dir, [
      "ca",
      "-config",
      `${name}.ca.cnf`,
      "-batch",
      "-notext",
      "-in",
      `${name}.csr`,
      "-out",
      `${name}.crt`,
      "-cert",
      `${caName}.crt`,
      "-keyfile",
      `${caName}.key`,
      "-extensions",
      spec.ext,
      "-startdate",
      "20200101000000Z",
      "-enddate",
      "20200102000000Z",
    ]);
  } else {
    await openssl(dir, [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      `${caName}.crt`,
      "-CAkey",
      `${caName}.key`,
      "-set_serial",
      randomSerial(),
      // Longer than the CLI's 7-day expiry warning, so a suite's certificates never trigger it by accident.
      "-days",
      "30",
      "-sha256",
      "-extfile",
      "openssl.cnf",
      "-extensions",
      spec.ext,
      "-out",
      `${name}.crt`,
    ]);
  }
  return readPair(dir, name);
}

/** Generate a fresh PKI in a new temp dir (about a dozen openssl runs, mostly in parallel). */
export async function createTestPki(): Promise<TestPki> {
  const dir = await Deno.makeTempDir({ prefix: "replica-api-pki-" });
  try {
    await Deno.writeTextFile(`${dir}/openssl.cnf`, opensslConfig());
    const [ca, otherCa] = await Promise.all([
      createCa(dir, "ca", "replica-api test CA"),
      createCa(dir, "other-ca", "unrelated test CA"),
    ]);
    const issueClient = (spec: ClientCertSpec) =>
      issueLeaf(dir, {
        name: spec.name,
        subj: subject(spec.cn, spec.organizations),
        ext: `${spec.extendedKeyUsage ?? "clientAuth"}_ext`,
        caName: spec.fromOtherCa ? "other-ca" : "ca",
        expired: spec.expired,
      });
    const [server, alice, foreignClient, serverAuthOnlyClient, expiredClient] = await Promise.all([
      issueLeaf(dir, { name: "server", subj: "/CN=localhost", ext: "server_ext", caName: "ca" }),
      issueClient({ name: "alice", cn: "alice", organizations: ["sre", "oncall"] }),
      issueClient({ name: "mallory", cn: "mallory", organizations: ["sre"], fromOtherCa: true }),
      issueClient({ name: "wrong-eku", cn: "wrong-eku", extendedKeyUsage: "serverAuth" }),
      issueClient({ name: "expired", cn: "expired", organizations: ["sre"], expired: true }),
    ]);
    return {
      dir,
      ca,
      otherCa,
      server,
      alice,
      foreignClient,
      expiredClient,
      serverAuthOnlyClient,
      issueClient,
      async fingerprint256(certPath: string): Promise<string> {
        const out = await new Deno.Command("openssl", {
          args: ["x509", "-in", certPath, "-noout", "-fingerprint", "-sha256"],
          stdout: "piped",
          stderr: "inherit",
        }).output();
        // Prints "sha256 Fingerprint=AA:BB:..." (prefix casing varies between versions).
        return new TextDecoder().decode(out.stdout).trim().split("=")[1];
      },
      cleanup: () => Deno.remove(dir, { recursive: true }),
    };
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
}

let shared: Promise<TestPki> | undefined;

/** One PKI for every test module of the process that asks, generated on first use and removed when the process unloads. */
export function sharedTestPki(): Promise<TestPki> {
  if (!shared) {
    shared = createTestPki();
    shared.then((pki) => globalThis.addEventListener("unload", () => Deno.removeSync(pki.dir, { recursive: true })));
  }
  return shared;
}

/** Key algorithms a {@link CrlAuthority}'s CA can have: what the dev PKI uses (P-256) and what other CAs use. */
export type CaKeyType = "ec-p256" | "ec-p384" | "rsa" | "ed25519";

/** What to put in a certificate issued by {@link CrlAuthority.issue}. */
export interface RevocableCertSpec {
  /** File name stem inside the authority's dir; must be unique per authority. */
  readonly name: string;
  /** Default: the name. */
  readonly cn?: string;
  /** Hex serial to issue under (e.g. "00FF…" or 20 bytes); default: random, chosen by `openssl ca -rand_serial`. */
  readonly serial?: string;
}

/** A certificate issued by a {@link CrlAuthority}, with the serial openssl printed for it (uppercase hex). */
export interface RevocableCert extends CertKeyPair {
  readonly serial: string;
  /** The certificate's DER, as `getPeerCertificate().raw` gives it. */
  readonly der: Uint8Array;
}

/** When and how to sign a CRL with {@link CrlAuthority.crl}. */
export interface CrlSpec {
  /** File name stem; default "crl". */
  readonly name?: string;
  /** openssl date forms, e.g. "20200101000000Z"; default: now and now + 1 day. */
  readonly lastUpdate?: string;
  readonly nextUpdate?: string;
  /** Default "sha256" (openssl ignores it for Ed25519, whose digest is built in). */
  readonly digest?: "sha256" | "sha384" | "sha512";
  /** Write DER (via `openssl crl -outform DER`) instead of PEM. */
  readonly der?: boolean;
  /** Extra CRL extension lines in openssl config syntax, e.g. "1.2.3.4 = critical,DER:05:00" (`-crlexts`). */
  readonly extensions?: readonly string[];
}

/**
 * A CA run with `openssl ca` and its database, so tests can issue, revoke and publish CRLs the way an operator does
 * (`openssl ca -revoke`, `openssl ca -gencrl`). Each authority has its own temp dir; call `cleanup()` when done.
 */
export interface CrlAuthority {
  readonly dir: string;
  readonly ca: CertKeyPair;
  issue(spec: RevocableCertSpec): Promise<RevocableCert>;
  /** Marks the certificate revoked in the database; it appears in CRLs made afterwards. */
  revoke(cert: CertKeyPair, reason?: "keyCompromise" | "superseded" | "cessationOfOperation"): Promise<void>;
  /** Signs a CRL of the database's current revocations and returns its path and bytes. */
  crl(spec?: CrlSpec): Promise<{ readonly path: string; readonly bytes: Uint8Array }>;
  cleanup(): Promise<void>;
}

const CA_KEY_ARGS: Record<CaKeyType, string[]> = {
  "ec-p256": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
  "ec-p384": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"],
  rsa: ["-newkey", "rsa:2048"],
  ed25519: ["-newkey", "ed25519"],
};

const crlAuthorityConfig = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused

[ca_root]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash

[clientAuth_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid

[ca]
default_ca = test_ca
[test_ca]
dir = .
database = index.txt
serial = serial
crlnumber = crlnumber
new_certs_dir = issued
certificate = ca.crt
private_key = ca.key
default_md = sha256
default_days = 1
policy = policy_any
unique_subject = no
copy_extensions = none
crl_extensions = crl_ext
[crl_ext]
authorityKeyIdentifier = keyid
[policy_any]
commonName = supplied
organizationName = optional
`;

/** Creates a CA of the given key type (default P-256, as certs/gen.sh) with an empty `openssl ca` database. */
export async function createCrlAuthority(options: { keyType?: CaKeyType; cn?: string } = {}): Promise<CrlAuthority> {
  const keyType = options.keyType ?? "ec-p256";
  const dir = await Deno.makeTempDir({ prefix: "replica-api-crl-ca-" });
  // openssl ca calls are not safe to run in parallel on one database: chain them.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(job: () => Promise<T>): Promise<T> => {
    const run = queue.then(job);
    queue = run.catch(() => {});
    return run;
  };
  try {
    await Promise.all([
      Deno.writeTextFile(`${dir}/openssl.cnf`, crlAuthorityConfig),
      Deno.writeTextFile(`${dir}/index.txt`, ""),
      Deno.writeTextFile(`${dir}/crlnumber`, "01\n"),
      Deno.mkdir(`${dir}/issued`),
    ]);
    await openssl(dir, [
      "req",
      "-config",
      "openssl.cnf",
      "-x509",
      ...CA_KEY_ARGS[keyType],
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-subj",
      `/CN=${options.cn ?? `replica-api test ${keyType} CA`}`,
      "-days",
      "2",
      "-extensions",
      "ca_root",
      "-set_serial",
      randomSerial(),
    ]);
    const ca = await readPair(dir, "ca");
    return {
      dir,
      ca,
      issue: (spec) =>
        serially(async () => {
          const { name } = spec;
          await openssl(dir, [
            "req",
            "-config",
            "openssl.cnf",
            "-new",
            ...KEY_ARGS,
            "-keyout",
            `${name}.key`,
            "-out",
            `${name}.csr`,
            "-subj",
            `/CN=${spec.cn ?? name}/O=sre`,
          ]);
          if (spec.serial) await Deno.writeTextFile(`${dir}/serial`, `${spec.serial}\n`);
          await openssl(dir, [
            "ca",
            "-config",
            "openssl.cnf",
            "-batch",
            "-notext",
            "-preserveDN",
            ...(spec.serial ? [] : ["-rand_serial"]),
            "-in",
            `${name}.csr`,
            "-out",
            `${name}.crt`,
            "-extensions",
            "clientAuth_ext",
          ]);
          const pair = await readPair(dir, name);
          const der = await opensslOutput(dir, ["x509", "-in", `${name}.crt`, "-outform", "DER"]);
          const serial = new TextDecoder().decode(await opensslOutput(dir, ["x509", "-in", `${name}.crt`, "-noout", "-serial"]))
            .trim().replace(/^serial=/, "");
          return { ...pair, serial, der };
        }),
      revoke: (cert, reason) =>
        serially(() =>
          openssl(dir, ["ca", "-config", "openssl.cnf", "-revoke", cert.certPath, ...(reason ? ["-crl_reason", reason] : [])])
        ),
      crl: (spec = {}) =>
        serially(async () => {
          const name = spec.name ?? "crl";
          let config = "openssl.cnf";
          if (spec.extensions) {
            config = `${name}.cnf`;
            const section = ["authorityKeyIdentifier = keyid", ...spec.extensions].join("\n");
            await Deno.writeTextFile(`${dir}/${config}`, `${crlAuthorityConfig}\n[${name}_crl_ext]\n${section}\n`);
          }
          await openssl(dir, [
            "ca",
            "-config",
            config,
            "-gencrl",
            ...(spec.extensions ? ["-crlexts", `${name}_crl_ext`] : []),
            "-md",
            spec.digest ?? "sha256",
            ...(spec.lastUpdate ? ["-crl_lastupdate", spec.lastUpdate] : []),
            ...(spec.nextUpdate ? ["-crl_nextupdate", spec.nextUpdate] : ["-crldays", "1"]),
            "-out",
            `${name}.pem`,
          ]);
          if (!spec.der) return { path: `${dir}/${name}.pem`, bytes: await Deno.readFile(`${dir}/${name}.pem`) };
          await openssl(dir, ["crl", "-in", `${name}.pem`, "-outform", "DER", "-out", `${name}.der`]);
          return { path: `${dir}/${name}.der`, bytes: await Deno.readFile(`${dir}/${name}.der`) };
        }),
      cleanup: () => Deno.remove(dir, { recursive: true }),
    };
  } catch (err) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw err;
  }
}

async function opensslOutput(cwd: string, args: string[]): Promise<Uint8Array> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) throw new Error(`openssl ${args[0]} failed (exit ${out.code}): ${new TextDecoder().decode(out.stderr).trim()}`);
  return out.stdout;
}
