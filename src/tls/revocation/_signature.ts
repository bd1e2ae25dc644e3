/**
 * CRL signature verification with Web Crypto against the configured client CA certificates.
 *
 * Supported, because the dev PKI (ECDSA P-256, `certs/gen.sh`) and common CAs use them: ECDSA on P-256/P-384 with
 * SHA-256/384/512, RSA PKCS#1 v1.5 with SHA-256/384/512, and Ed25519. SHA-1 and RSA-PSS are refused as unsupported.
 * The CA's key comes from node:crypto (`X509Certificate.publicKey` as SPKI DER), its subject from our DER reader.
 * @module
 */
import { X509Certificate } from "node:crypto";
import { DerError, readDer, reader, Tag } from "./_der.ts";
import type { Crl } from "./crl.ts";
import { subjectOf } from "./issuer_and_serial.ts";

/** A CA certificate that may sign CRLs: its subject (what a CRL's issuer must equal) and its public key. */
export interface CrlSigner {
  readonly subject: Uint8Array;
  readonly subjectName: string;
  readonly spki: Uint8Array<ArrayBuffer>;
  /** node:crypto's asymmetricKeyType: "ec", "rsa", "ed25519", … */
  readonly keyType: string;
  /** node:crypto's curve name for EC keys ("prime256v1", "secp384r1"). */
  readonly namedCurve?: string;
}

type Hash = "SHA-256" | "SHA-384" | "SHA-512";

interface SignatureAlgorithm {
  readonly name: string;
  readonly keyType: "ec" | "rsa" | "ed25519";
  readonly hash?: Hash;
}

const SIGNATURE_ALGORITHMS: Record<string, SignatureAlgorithm> = {
  "1.2.840.10045.4.3.2": { name: "ecdsa-with-SHA256", keyType: "ec", hash: "SHA-256" },
  "1.2.840.10045.4.3.3": { name: "ecdsa-with-SHA384", keyType: "ec", hash: "SHA-384" },
  "1.2.840.10045.4.3.4": { name: "ecdsa-with-SHA512", keyType: "ec", hash: "SHA-512" },
  "1.2.840.113549.1.1.11": { name: "sha256WithRSAEncryption", keyType: "rsa", hash: "SHA-256" },
  "1.2.840.113549.1.1.12": { name: "sha384WithRSAEncryption", keyType: "rsa", hash: "SHA-384" },
  "1.2.840.113549.1.1.13": { name: "sha512WithRSAEncryption", keyType: "rsa", hash: "SHA-512" },
  "1.3.101.112": { name: "Ed25519", keyType: "ed25519" },
};

/** Web Crypto curve names and their field size in bytes (the width of r and s in a raw signature). */
const CURVES: Record<string, { readonly namedCurve: string; readonly size: number }> = {
  prime256v1: { namedCurve: "P-256", size: 32 },
  secp384r1: { namedCurve: "P-384", size: 48 },
};

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The CA certificates of one or several PEM bundles (as `TLS_CLIENT_CA_FILE` holds them). Throws on a bad one. */
export function crlSignersFromPem(pems: string | readonly string[]): CrlSigner[] {
  const blocks = (typeof pems === "string" ? [pems] : pems).flatMap((pem) => pem.match(PEM_CERTIFICATE) ?? []);
  if (blocks.length === 0) throw new TypeError("no CA certificate (-----BEGIN CERTIFICATE-----) to check CRLs against");
  return blocks.map((block, i) => {
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(block);
    } catch (err) {
      throw new TypeError(`CA certificate ${i + 1} cannot be read: ${(err as Error).message}`, { cause: err });
    }
    const key = certificate.publicKey;
    return {
      ...subjectOf(new Uint8Array(certificate.raw)),
      spki: new Uint8Array(key.export({ format: "der", type: "spki" })),
      keyType: key.asymmetricKeyType ?? "unknown",
      ...(key.asymmetricKeyDetails?.namedCurve ? { namedCurve: key.asymmetricKeyDetails.namedCurve } : {}),
    };
  });
}

/** Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } (DER) to Web Crypto's r || s, each `size` bytes. */
function ecdsaDerToRaw(signature: Uint8Array, size: number): Uint8Array<ArrayBuffer> {
  const fields = reader(readDer(signature), "ECDSA signature");
  const raw = new Uint8Array(2 * size);
  for (const [i, what] of [[0, "r"], [1, "s"]] as const) {
    const integer = fields.next(Tag.INTEGER, what);
    let bytes = integer.contents;
    if (bytes.length === 0 || bytes[0] & 0x80) throw new DerError(integer.contentOffset, `ECDSA ${what} is not a positive integer`);
    while (bytes.length > 1 && bytes[0] === 0) bytes = bytes.subarray(1);
    if (bytes.length > size) throw new DerError(integer.contentOffset, `ECDSA ${what} is longer than the curve allows`);
    raw.set(bytes, i * size + size - bytes.length);
  }
  fields.end("ECDSA signature");
  return raw;
}

/** Why a signature was not accepted, or undefined when it verifies. */
export async function checkCrlSignature(crl: Crl, signer: CrlSigner): Promise<string | undefined> {
  const { oid, parameters } = crl.signatureAlgorithm;
  const algorithm = SIGNATURE_ALGORITHMS[oid];
  if (!algorithm) return `unsupported signature algorithm ${oid}`;
  // RSA's parameters are NULL (or, rarely, absent); ECDSA's and Ed25519's must be absent (RFC 5758, RFC 8410).
  const nullParameters = parameters?.length === 2 && parameters[0] === Tag.NULL && parameters[1] === 0;
  if (parameters && !(algorithm.keyType === "rsa" && nullParameters)) return `unexpected parameters for ${algorithm.name}`;
  if (signer.keyType !== algorithm.keyType) return `${algorithm.name} cannot be checked with the CA's ${signer.keyType} key`;

  let importParams: AlgorithmIdentifier | RsaHashedImportParams | EcKeyImportParams;
  let verifyParams: AlgorithmIdentifier | EcdsaParams;
  let signature = crl.signature;
  if (algorithm.keyType === "ec") {
    const curve = CURVES[signer.namedCurve ?? ""];
    if (!curve) return `unsupported CA curve ${signer.namedCurve}`;
    importParams = { name: "ECDSA", namedCurve: curve.namedCurve };
    verifyParams = { name: "ECDSA", hash: algorithm.hash! };
    try {
      signature = ecdsaDerToRaw(signature, curve.size);
    } catch (err) {
      if (err instanceof DerError) return `malformed ECDSA signature: ${err.message}`;
      throw err;
    }
  } else if (algorithm.keyType === "rsa") {
    importParams = { name: "RSASSA-PKCS1-v1_5", hash: algorithm.hash! };
    verifyParams = "RSASSA-PKCS1-v1_5";
  } else {
    importParams = verifyParams = "Ed25519";
  }
  const key = await crypto.subtle.importKey("spki", signer.spki, importParams, false, ["verify"]);
  const valid = await crypto.subtle.verify(verifyParams, key, signature, crl.signedBytes);
  return valid ? undefined : `the ${algorithm.name} signature does not verify`;
}
