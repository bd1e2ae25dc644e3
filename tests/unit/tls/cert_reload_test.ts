/**
 * Certificate rotation: the reloader watches a Kubernetes-style Secret volume
 * (files reached through a `..data` symlink that is swapped on update),
 * validates the new material, and swaps it into a running node:https mTLS
 * listener with reloadSecureContext. New handshakes use the new material;
 * established connections carry on; bad material is refused.
 */
import assert from "node:assert/strict";
import https from "node:https";
import type { TLSSocket } from "node:tls";
import { createLogger } from "../../../src/observability/logger.ts";
import { type CertReloader, type ReloadOutcome, startCertReloader } from "../../../src/tls/cert_reloader.ts";
import { readTlsMaterial, type TlsMaterial, TlsMaterialError, validateTlsMaterial } from "../../../src/tls/reload_material.ts";
import { MTLS_MIN_VERSION, reloadSecureContext } from "../../../src/tls/reload_secure_context.ts";
import { createTestPki, type TestPki } from "../../support/pki.ts";

let pkis: Promise<[TestPki, TestPki]> | undefined;
/** Two unrelated PKIs: the CA of the second is the one rotated to. */
function sharedPkis(): Promise<[TestPki, TestPki]> {
  if (!pkis) {
    pkis = Promise.all([createTestPki(), createTestPki()]);
    pkis.then((all) => globalThis.addEventListener("unload", () => all.forEach((p) => Deno.removeSync(p.dir, { recursive: true }))));
  }
  return pkis;
}

/** A directory laid out like a mounted Secret: tls.crt -> ..data/tls.crt, ..data -> ..<version>. */
class SecretVolume {
  private version = 0;
  private constructor(readonly dir: string) {}

  static async create(material: TlsMaterial): Promise<SecretVolume> {
    const volume = new SecretVolume(await Deno.makeTempDir({ prefix: "replica-api-secret-" }));
    await volume.update(material);
    for (const name of ["tls.crt", "tls.key", "ca.crt"]) await Deno.symlink(`..data/${name}`, `${volume.dir}/${name}`);
    return volume;
  }

  get files() {
    return { certFile: `${this.dir}/tls.crt`, keyFile: `${this.dir}/tls.key`, caFile: `${this.dir}/ca.crt` };
  }

  /** What the kubelet does: write a new version directory, atomically repoint ..data, remove the old version. */
  async update(material: TlsMaterial): Promise<void> {
    const previous = this.version === 0 ? undefined : `..v${this.version}`;
    const next = `..v${++this.version}`;
    await Deno.mkdir(`${this.dir}/${next}`);
    await Deno.writeTextFile(`${this.dir}/${next}/tls.crt`, material.cert);
    await Deno.writeTextFile(`${this.dir}/${next}/tls.key`, material.key);
    await Deno.writeTextFile(`${this.dir}/${next}/ca.crt`, material.ca);
    await Deno.symlink(next, `${this.dir}/..data_tmp`);
    await Deno.rename(`${this.dir}/..data_tmp`, `${this.dir}/..data`);
    if (previous) await Deno.remove(`${this.dir}/${previous}`, { recursive: true });
  }

  remove(): Promise<void> {
    return Deno.remove(this.dir, { recursive: true });
  }
}

interface Reloading {
  reloader: CertReloader;
  outcomes: string[];
  logs: Record<string, unknown>[];
  /** Resolves with the next reported outcome (fails after 5 s). */
  nextOutcome(): Promise<string>;
}

function startReloading(
  volume: SecretVolume,
  initial: TlsMaterial,
  apply: (m: TlsMaterial) => void | Promise<void>,
  extra: { watch?: boolean; pollIntervalMs?: number; debounceMs?: number } = {},
): Reloading {
  const outcomes: string[] = [];
  const logs: Record<string, unknown>[] = [];
  const waiters: ((outcome: string) => void)[] = [];
  const reloader = startCertReloader({
    files: volume.files,
    initial,
    apply,
    log: createLogger({ level: "debug", sink: (line) => logs.push(JSON.parse(line)) }),
    onOutcome: (outcome) => {
      outcomes.push(outcome);
      waiters.shift()?.(outcome);
    },
    debounceMs: extra.debounceMs ?? 50,
    pollIntervalMs: extra.pollIntervalMs ?? 0,
    watch: extra.watch,
  });
  return {
    reloader,
    outcomes,
    logs,
    nextOutcome: () =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no reload outcome within 5 s")), 5000);
        waiters.push((outcome) => {
          clearTimeout(timer);
          resolve(outcome);
        });
      }),
  };
}

interface Server {
  server: https.Server;
  port: number;
  close(): Promise<void>;
}

/** A bare mTLS listener with the same TLS options as src/tls/mtls_server.ts; answers "<CN> on connection <n>". */
async function startServer(material: TlsMaterial): Promise<Server> {
  const connectionIds = new WeakMap<object, number>();
  let connections = 0;
  const server = https.createServer({
    ...material,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: MTLS_MIN_VERSION,
  }, (req, res) => {
    const socket = req.socket as TLSSocket;
    if (!connectionIds.has(socket)) connectionIds.set(socket, ++connections);
    const cn = (socket.getPeerCertificate().subject as unknown as Record<string, string>).CN;
    res.end(`${cn} on connection ${connectionIds.get(socket)}`);
  });
  server.on("tlsClientError", (_err, socket) => socket.destroy());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    server,
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

interface ClientOptions {
  /** CA the client trusts for the server certificate. */
  trust: string;
  cert: string;
  key: string;
  agent?: https.Agent;
  maxVersion?: "TLSv1.2" | "TLSv1.3";
}

/** One GET; resolves with "200 <body>" or "refused (<code>)". */
function get(port: number, options: ClientOptions): Promise<string> {
  return new Promise((resolve) => {
    const req = https.request({
      host: "127.0.0.1",
      port,
      servername: "localhost",
      path: "/",
      ca: options.trust,
      cert: options.cert,
      key: options.key,
      agent: options.agent ?? false,
      maxVersion: options.maxVersion,
    }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => body += chunk);
      res.on("end", () => resolve(`${res.statusCode} ${body}`));
    });
    req.on("error", (err: Error & { code?: string }) => resolve(`refused (${err.code ?? err.message})`));
    req.end();
  });
}

Deno.test("rotating the client CA: old clients are refused, new ones accepted, an established connection keeps working", async () => {
  const [one, two] = await sharedPkis();
  const before: TlsMaterial = { cert: one.server.cert, key: one.server.key, ca: one.ca.cert };
  const after: TlsMaterial = { ...before, ca: two.ca.cert };
  const volume = await SecretVolume.create(before);
  const srv = await startServer(before);
  const r = startReloading(volume, before, (m) => reloadSecureContext(srv.server, m));
  const trust = one.ca.cert; // the server certificate does not change
  const keepAlive = new https.Agent({ keepAlive: true, maxSockets: 1, ca: trust, cert: one.alice.cert, key: one.alice.key });
  const oldClient = { trust, cert: one.alice.cert, key: one.alice.key };
  const newClient = { trust, cert: two.alice.cert, key: two.alice.key };
  try {
    assert.equal(await get(srv.port, oldClient), "200 alice on connection 1");
    assert.match(await get(srv.port, newClient), /^refused/, "the new CA is not trusted yet");
    assert.equal(await get(srv.port, { ...oldClient, agent: keepAlive }), "200 alice on connection 2");

    const reloaded = r.nextOutcome();
    await volume.update(after);
    assert.equal(await reloaded, "reloaded");
    assert.deepEqual(r.reloader.current, after);

    assert.match(await get(srv.port, oldClient), /^refused/, "a new connection with a certificate from the old CA is refused");
    assert.equal(await get(srv.port, newClient), "200 alice on connection 3", "a certificate from the new CA is accepted");
    assert.equal(
      await get(srv.port, { ...oldClient, agent: keepAlive }),
      "200 alice on connection 2",
      "the keep-alive connection from before the rotation still works",
    );
    assert.match(await get(srv.port, { ...newClient, maxVersion: "TLSv1.2" }), /^refused/, "still TLS 1.3 only after the swap");

    const line = r.logs.find((l) => l.msg === "TLS material reloaded");
    assert.ok(line, "the reload is logged");
    assert.equal(line.level, "info");
    assert.equal(line.serverSubject, "CN=localhost");
    assert.deepEqual(r.outcomes, ["reloaded"]);
  } finally {
    keepAlive.destroy();
    await r.reloader.close();
    await srv.close();
    await volume.remove();
  }
});

Deno.test("rotating the server certificate: new handshakes present the new one", async () => {
  const [one, two] = await sharedPkis();
  const before: TlsMaterial = { cert: one.server.cert, key: one.server.key, ca: one.ca.cert };
  const after: TlsMaterial = { cert: two.server.cert, key: two.server.key, ca: one.ca.cert };
  const volume = await SecretVolume.create(before);
  const srv = await startServer(before);
  const r = startReloading(volume, before, (m) => reloadSecureContext(srv.server, m));
  const alice = { cert: one.alice.cert, key: one.alice.key };
  try {
    assert.equal(await get(srv.port, { ...alice, trust: one.ca.cert }), "200 alice on connection 1");
    const reloaded = r.nextOutcome();
    await volume.update(after);
    assert.equal(await reloaded, "reloaded");
    assert.match(await get(srv.port, { ...alice, trust: one.ca.cert }), /^refused/, "the client no longer trusts the server");
    assert.equal(await get(srv.port, { ...alice, trust: two.ca.cert }), "200 alice on connection 2");
  } finally {
    await r.reloader.close();
    await srv.close();
    await volume.remove();
  }
});

Deno.test("invalid new material is refused with an error naming the file, and the listener keeps the old", async () => {
  const [one, two] = await sharedPkis();
  const good: TlsMaterial = { cert: one.server.cert, key: one.server.key, ca: one.ca.cert };
  const volume = await SecretVolume.create(good);
  const srv = await startServer(good);
  const applied: TlsMaterial[] = [];
  const r = startReloading(volume, good, (m) => {
    applied.push(m);
    reloadSecureContext(srv.server, m);
  });
  const alice = { trust: one.ca.cert, cert: one.alice.cert, key: one.alice.key };
  try {
    const refused = r.nextOutcome();
    await volume.update({ ...good, key: two.server.key, ca: two.ca.cert }); // the key of another certificate
    assert.equal(await refused, "invalid");
    assert.equal(applied.length, 0, "nothing was applied");
    assert.deepEqual(r.reloader.current, good);
    const error = r.logs.find((l) => l.level === "error");
    assert.ok(error, "the refusal is logged as an error");
    assert.equal(error.setting, "TLS_KEY_FILE");
    assert.match(String((error.error as { message: string }).message), /does not belong to the certificate/);
    assert.equal(await get(srv.port, alice), "200 alice on connection 1", "clients of the old CA are still served");
    assert.equal(await r.reloader.check(), "invalid");
    assert.equal(r.logs.filter((l) => l.level === "error").length, 1, "the same bad files are reported once");

    const fixed = r.nextOutcome();
    await volume.update({ ...good, ca: two.ca.cert });
    assert.equal(await fixed, "reloaded", "corrected files are picked up");
    assert.equal(applied.length, 1);
  } finally {
    await r.reloader.close();
    await srv.close();
    await volume.remove();
  }
});

Deno.test("a failing apply counts as invalid and the current material stays", async () => {
  const [one, two] = await sharedPkis();
  const good: TlsMaterial = { cert: one.server.cert, key: one.server.key, ca: one.ca.cert };
  const volume = await SecretVolume.create(good);
  const r = startReloading(volume, good, () => {
    throw new Error("runtime refused it");
  });
  try {
    await volume.update({ ...good, ca: two.ca.cert });
    assert.equal(await r.reloader.check(), "invalid");
    assert.deepEqual(r.reloader.current, good);
    assert.ok(r.logs.some((l) => l.msg === "applying new TLS material failed; keeping the current certificates"));
  } finally {
    await r.reloader.close();
    await volume.remove();
  }
});

Deno.test("a burst of updates is debounced into one reload of the final files; unrelated changes reload nothing", async () => {
  const [one, two] = await sharedPkis();
  const a: TlsMaterial = { cert: one.server.cert, key: one.server.key, ca: one.ca.cert };
  const volume = await SecretVolume.create(a);
  const applied: TlsMaterial[] = [];
  // Generous debounce: the two updates must fall within it even on a loaded machine.
  const r = startReloading(volume, a, (m) => void applied.push(m), { debounceMs: 300 });
  try {
    await volume.update({ ...a, ca: two.ca.cert });
    await volume.update({ ...a, ca: one.ca.cert + two.ca.cert });
    await r.nextOutcome();
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(applied.length, 1);
    assert.equal(applied[0].ca, one.ca.cert + two.ca.cert, "the state after the last update");
    await Deno.writeTextFile(`${volume.dir}/unrelated.txt`, "x");
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(applied.length, 1);
    assert.equal(await r.reloader.check(), "unchanged");
  } finally {
    await r.reloader.close();
    await volume.remove();
  }
});

Deno.test("with watching off, the periodic re-read picks up a change", async () => {
  const [one, two] = await sharedPkis();
  const a: TlsMaterial = { cert: one.server.cert, key: one.server.key, ca: one.ca.cert };
  const volume = await SecretVolume.create(a);
  const r = startReloading(volume, a, () => {}, { watch: false, pollIntervalMs: 100 });
  try {
    const next = r.nextOutcome();
    await volume.update({ ...a, ca: two.ca.cert });
    assert.equal(await next, "reloaded");
  } finally {
    await r.reloader.close();
    await volume.remove();
  }
});

Deno.test("checks run one at a time, in order", async () => {
  const [one, two] = await sharedPkis();
  const a: TlsMaterial = { cert: one.server.cert, key: one.server.key, ca: one.ca.cert };
  const volume = await SecretVolume.create(a);
  let applying = 0;
  let overlapped = false;
  const r = startReloading(volume, a, async () => {
    overlapped ||= ++applying > 1;
    await new Promise((resolve) => setTimeout(resolve, 30));
    applying--;
  }, { watch: false });
  try {
    await volume.update({ ...a, ca: two.ca.cert });
    const results: ReloadOutcome[] = await Promise.all([r.reloader.check(), r.reloader.check(), r.reloader.check()]);
    assert.deepEqual(results, ["reloaded", "unchanged", "unchanged"]);
    assert.equal(overlapped, false);
  } finally {
    await r.reloader.close();
    await volume.remove();
  }
});

Deno.test("validateTlsMaterial accepts good material and names the file at fault otherwise", async (t) => {
  const [one, two] = await sharedPkis();
  const files = { certFile: "/s/tls.crt", keyFile: "/s/tls.key", caFile: "/s/ca.crt" };
  const good: TlsMaterial = { cert: one.server.cert, key: one.server.key, ca: one.ca.cert };
  await t.step("good material, with a chain and a two-CA bundle", () => {
    const summary = validateTlsMaterial({ ...good, cert: one.server.cert + one.ca.cert, ca: one.ca.cert + two.ca.cert }, files);
    assert.equal(summary.serverSubject, "CN=localhost");
    assert.equal(summary.clientCaSubjects.length, 2);
    assert.ok(Date.parse(summary.serverNotAfter) > Date.now());
  });
  const bad: [string, TlsMaterial, string, RegExp][] = [
    ["no certificate", { ...good, cert: "hello" }, "TLS_CERT_FILE", /\/s\/tls.crt holds no PEM certificate/],
    [
      "a certificate that does not parse",
      { ...good, cert: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" },
      "TLS_CERT_FILE",
      /certificate 1 cannot be parsed/,
    ],
    [
      "an expired server certificate",
      { ...good, cert: one.expiredClient.cert, key: one.expiredClient.key },
      "TLS_CERT_FILE",
      /expired at 2020/,
    ],
    ["no key", { ...good, key: "" }, "TLS_KEY_FILE", /holds no PEM private key/],
    [
      "a key that does not parse",
      // Not a key (assembled so secret scanners do not flag this file): PEM-shaped garbage.
      { ...good, key: `-----BEGIN ${["PRIVATE", "KEY"].join(" ")}-----\nAAAA\n-----END ${["PRIVATE", "KEY"].join(" ")}-----\n` },
      "TLS_KEY_FILE",
      /cannot be parsed/,
    ],
    [
      "the key of another certificate",
      { ...good, key: one.alice.key },
      "TLS_KEY_FILE",
      /does not belong to the certificate in \/s\/tls.crt/,
    ],
    ["an empty CA bundle", { ...good, ca: "" }, "TLS_CLIENT_CA_FILE", /holds no PEM certificate/],
    [
      "a leaf certificate as CA",
      { ...good, ca: one.ca.cert + one.alice.cert },
      "TLS_CLIENT_CA_FILE",
      /certificate 2 \(CN=alice.*is not a CA/,
    ],
  ];
  for (const [name, material, setting, message] of bad) {
    await t.step(name, () => {
      assert.throws(() => validateTlsMaterial(material, files), (e: Error) => {
        assert.ok(e instanceof TlsMaterialError);
        assert.equal(e.setting, setting);
        assert.match(e.message, message);
        return true;
      });
    });
  }
});

Deno.test("readTlsMaterial reads and validates the files, naming a missing one", async () => {
  const [one] = await sharedPkis();
  const { material, summary } = readTlsMaterial({ certFile: one.server.certPath, keyFile: one.server.keyPath, caFile: one.ca.certPath });
  assert.equal(material.cert, one.server.cert);
  assert.equal(summary.serverSubject, "CN=localhost");
  assert.throws(
    () => readTlsMaterial({ certFile: one.server.certPath, keyFile: "/nonexistent/tls.key", caFile: one.ca.certPath }),
    (e: TlsMaterialError) => e.setting === "TLS_KEY_FILE" && /cannot read \/nonexistent\/tls.key/.test(e.message),
  );
});
