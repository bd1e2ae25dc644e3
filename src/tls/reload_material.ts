/**
 * Reads and checks the listener's TLS material (server certificate chain,
 * private key, client CA bundle), so that a broken file is refused with a
 * message naming it, at start and on every reload, instead of surfacing as
 * handshake failures for every client.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";

/** Paths of the three files (TLS_CERT_FILE, TLS_KEY_FILE, TLS_CLIENT_CA_FILE). */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
}

/** PEM contents of the three files. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

export type TlsSetting = "TLS_CERT_FILE" | "TLS_KEY_FILE" | "TLS_CLIENT_CA_FILE";

/** Unusable material; `setting` names the file at fault, the message says what is wrong with it. */
export class TlsMaterialError extends Error {
  constructor(readonly setting: TlsSetting, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TlsMaterialError";
  }
}

/** What was loaded, for the log line that announces it. */
export interface TlsMaterialSummary {
  readonly serverSubject: string;
  readonly serverFingerprint256: string;
  /** ISO 8601. */
  readonly serverNotAfter: string;
  readonly clientCaSubjects: readonly string[];
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

function certificates(setting: TlsSetting, path: string, pem: string): X509Certificate[] {
  const blocks = pem.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new TlsMaterialError(setting, `${path} holds no PEM certificate`);
  return blocks.map((block, index) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new TlsMaterialError(setting, `${path}: certificate ${index + 1} cannot be parsed: ${(error as Error).message}`, {
        cause: error,
      });
    }
  });
}

function dnOf(cert: X509Certificate): string {
  return cert.subject.replaceAll("\n", ", ");
}

/**
 * Checks that the material can serve: every certificate parses, the key
 * parses and belongs to the first (leaf) certificate, which has not
 * expired, and the CA bundle holds CA certificates of which at least one is
 * still valid. `files` only names the paths in messages. Throws
 * {@link TlsMaterialError}.
 */
export function validateTlsMaterial(material: TlsMaterial, files: TlsFiles, now: Date = new Date()): TlsMaterialSummary {
  const chain = certificates("TLS_CERT_FILE", files.certFile, material.cert);
  const leaf = chain[0];
  if (leaf.validToDate.getTime() <= now.getTime()) {
    throw new TlsMaterialError("TLS_CERT_FILE", `${files.certFile}: the server certificate expired at ${leaf.validToDate.toISOString()}`);
  }

  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(material.key)) {
    throw new TlsMaterialError("TLS_KEY_FILE", `${files.keyFile} holds no PEM private key`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(material.key);
  } catch (error) {
    throw new TlsMaterialError("TLS_KEY_FILE", `${files.keyFile}: the private key cannot be parsed: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!leaf.checkPrivateKey(key)) {
    throw new TlsMaterialError(
      "TLS_KEY_FILE",
      `${files.keyFile} does not belong to the certificate in ${files.certFile} (${dnOf(leaf)}); were they updated together?`,
    );
  }

  const cas = certificates("TLS_CLIENT_CA_FILE", files.caFile, material.ca);
  cas.forEach((ca, index) => {
    if (!ca.ca) {
      throw new TlsMaterialError(
        "TLS_CLIENT_CA_FILE",
        `${files.caFile}: certificate ${index + 1} (${dnOf(ca)}) is not a CA certificate (basicConstraints CA:TRUE)`,
      );
    }
  });
  if (cas.every((ca) => ca.validToDate.getTime() <= now.getTime())) {
    throw new TlsMaterialError("TLS_CLIENT_CA_FILE", `${files.caFile}: every CA certificate in it has expired; no client could connect`);
  }

  return Object.freeze({
    serverSubject: dnOf(leaf),
    serverFingerprint256: leaf.fingerprint256,
    serverNotAfter: leaf.validToDate.toISOString(),
    clientCaSubjects: Object.freeze(cas.map(dnOf)),
  });
}

function readSetting(setting: TlsSetting, path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (error) {
    throw new TlsMaterialError(setting, `cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Reads and validates the three files (synchronously: for start-up, before anything listens). */
export function readTlsMaterial(files: TlsFiles, now: Date = new Date()): { material: TlsMaterial; summary: TlsMaterialSummary } {
  const material = {
    cert: readSetting("TLS_CERT_FILE", files.certFile),
    key: readSetting("TLS_KEY_FILE", files.keyFile),
    ca: readSetting("TLS_CLIENT_CA_FILE", files.caFile),
  };
  return { material, summary: validateTlsMaterial(material, files, now) };
}

/** Asynchronous {@link readTlsMaterial} without the validation, for the reloader. */
export async function readTlsFiles(files: TlsFiles): Promise<TlsMaterial> {
  const read = async (setting: TlsSetting, path: string) => {
    try {
      return await Deno.readTextFile(path);
    } catch (error) {
      throw new TlsMaterialError(setting, `cannot read ${path}: ${(error as Error).message}`, { cause: error });
    }
  };
  const [cert, key, ca] = await Promise.all([
    read("TLS_CERT_FILE", files.certFile),
    read("TLS_KEY_FILE", files.keyFile),
    read("TLS_CLIENT_CA_FILE", files.caFile),
  ]);
  return { cert, key, ca };
}
