/**
 * The set of revoked client certificates, built from CRL files and the configured client CA(s).
 *
 * Building is a pure function of the files' bytes, the CA PEM(s), the time and the previous list, so every policy
 * below is testable without a file system or a clock:
 *
 * - A CRL is **in force** when it parses, its issuer Name equals (DER bytes) the subject of a configured CA, and its
 *   signature verifies with that CA's key. Otherwise it is **refused**.
 * - When anything in a file is refused (unreadable, unparsable, unverifiable, or older than the CRL it would replace),
 *   the CRLs that the previous list took from that file stay in force for every issuer the file no longer supplies a
 *   good CRL for. Revocations are never dropped because a new copy is broken: that would fail open.
 * - A CRL past its nextUpdate stays in force (what it revokes is still revoked) and is reported as stale, as is one
 *   whose thisUpdate lies in the future (clock skew). Deciding to refuse clients over a stale CRL is the caller's
 *   choice, from `status`.
 * @module
 */
import { hexOf } from "./_der.ts";
import { checkCrlSignature, type CrlSigner, crlSignersFromPem } from "./_signature.ts";
import { type Crl, type CrlParseResult, parseCrlFile } from "./crl.ts";

/** A CRL file's content, or why it could not be read. */
export type CrlFile =
  | { readonly path: string; readonly bytes: Uint8Array }
  | { readonly path: string; readonly readError: string };

/**
 * How one CRL fares: `current` (from this load, in force), `previous` (kept from an earlier load because this load
 * of its file was refused), or `refused` (not in force; `problems` say why).
 */
export type CrlState = "current" | "previous" | "refused";

/** One CRL's status, for logs, metrics and a status endpoint. Fields are absent when the CRL could not be parsed. */
export interface CrlStatus {
  readonly file: string;
  /** Which CRL of the file: "DER", "CRL 2 of 3 (PEM block on line 14)", or "file" for file-wide failures. */
  readonly position: string;
  readonly state: CrlState;
  readonly issuer?: string;
  readonly thisUpdate?: Date;
  readonly nextUpdate?: Date;
  readonly crlNumber?: string;
  /** Number of revoked certificates it lists. */
  readonly count?: number;
  /** Why it is refused or kept, or what is wrong with it while in force (stale). Empty when all is well. */
  readonly problems: readonly string[];
}

/** A revoked certificate as the list knows it. */
export interface Revocation {
  readonly serial: string;
  readonly revokedAt: Date;
  readonly reason?: string;
  /** The CRL file that revokes it. */
  readonly file: string;
}

/** The revoked certificates of every CRL in force, and how each CRL fared. Immutable. */
export interface RevocationList {
  /** True when a CRL in force lists `serial` for the issuer whose Name has the DER bytes `issuer`. */
  isRevoked(serial: string, issuer: Uint8Array): boolean;
  /** The revocation behind `isRevoked`, for a log line; undefined when not revoked. */
  revocationOf(serial: string, issuer: Uint8Array): Revocation | undefined;
  /** Per CRL, in file order: in force, kept or refused, with its problems. */
  readonly status: readonly CrlStatus[];
  /** Every problem of `status` as one line, "<file> <position>: <problem>"; empty when all is well. */
  readonly problems: readonly string[];
  /** Distinct (issuer, serial) pairs revoked. */
  readonly size: number;
  /** The `now` it was built for: staleness in `status` is judged at this time. */
  readonly builtAt: Date;
}

/** What {@link buildRevocationList} works from. */
export interface RevocationListInput {
  readonly files: readonly CrlFile[];
  /** The client CA bundle(s) in PEM, e.g. the content of `TLS_CLIENT_CA_FILE`. Throws TypeError when unreadable. */
  readonly caPem: string | readonly string[];
  readonly now: Date;
  /** The list in force so far: its good CRLs stand in for refused new copies of the same file. */
  readonly previous?: RevocationList;
}

/** Tolerated clock difference before a thisUpdate in the future is reported. */
const FUTURE_TOLERANCE_MS = 5 * 60_000;

/**
 * A serial in the form the list compares: uppercase hex without leading zeros ("0" for zero). Accepts the forms
 * tools print: `getPeerCertificate().serialNumber`, openssl's `serial=0A1B…`, colon-separated, or with `0x`.
 * Throws TypeError for anything that is not hex.
 */
export function normalizeSerial(serial: string): string {
  const hex = serial.trim().replace(/^0x/i, "").replaceAll(":", "");
  if (!/^[0-9a-f]+$/i.test(hex)) throw new TypeError(`not a hexadecimal serial number: "${serial}"`);
  return hex.replace(/^0+(?=.)/, "").toUpperCase();
}

interface InForce {
  readonly file: string;
  readonly position: string;
  readonly crl: Crl;
}

class BuiltRevocationList implements RevocationList {
  readonly size: number;
  readonly problems: readonly string[];
  constructor(
    /** Per file, the CRLs in force that came from it: what the next build keeps when that file's new copy is refused. */
    readonly inForceByFile: ReadonlyMap<string, readonly InForce[]>,
    private readonly index: ReadonlyMap<string, ReadonlyMap<string, Revocation>>,
    readonly status: readonly CrlStatus[],
    readonly builtAt: Date,
  ) {
    this.size = [...index.values()].reduce((n, serials) => n + serials.size, 0);
    this.problems = Object.freeze(status.flatMap((s) => s.problems.map((p) => `${s.file} ${s.position}: ${p}`)));
  }

  isRevoked(serial: string, issuer: Uint8Array): boolean {
    return this.revocationOf(serial, issuer) !== undefined;
  }

  revocationOf(serial: string, issuer: Uint8Array): Revocation | undefined {
    return this.index.get(hexOf(issuer))?.get(normalizeSerial(serial));
  }
}

/** Checks a parsed CRL against the CAs: undefined when one of them signed it, else the problem. */
async function refusalOf(crl: Crl, signers: readonly CrlSigner[]): Promise<string | undefined> {
  const issuer = hexOf(crl.issuer);
  const candidates = signers.filter((s) => hexOf(s.subject) === issuer);
  if (candidates.length === 0) {
    const configured = [...new Set(signers.map((s) => s.subjectName))].join("; ");
    return `issuer is not the configured CA (CRL issuer "${crl.issuerName}", CA "${configured}")`;
  }
  // Several CAs may share a name during a key rotation: any one of them signing it is enough.
  const reasons: string[] = [];
  for (const signer of candidates) {
    const reason = await checkCrlSignature(crl, signer);
    if (reason === undefined) return undefined;
    reasons.push(reason);
  }
  return `signature does not verify against the configured CA (${[...new Set(reasons)].join("; ")})`;
}

/** What is wrong with a CRL in force at `now`, without refusing it. */
function freshnessProblems(crl: Crl, now: Date): string[] {
  const problems: string[] = [];
  if (!crl.nextUpdate) problems.push("has no nextUpdate, so its freshness cannot be judged");
  else if (crl.nextUpdate < now) problems.push(`past its nextUpdate since ${crl.nextUpdate.toISOString()}`);
  if (crl.thisUpdate.getTime() > now.getTime() + FUTURE_TOLERANCE_MS) {
    problems.push(`thisUpdate ${crl.thisUpdate.toISOString()} is in the future: check the clocks`);
  }
  return problems;
}

function describe(crl: Crl): Pick<CrlStatus, "issuer" | "thisUpdate" | "nextUpdate" | "crlNumber" | "count"> {
  return {
    issuer: crl.issuerName,
    thisUpdate: crl.thisUpdate,
    ...(crl.nextUpdate ? { nextUpdate: crl.nextUpdate } : {}),
    ...(crl.crlNumber === undefined ? {} : { crlNumber: crl.crlNumber }),
    count: crl.revoked.length,
  };
}

/** The newest CRL of `issuer` among those in force, to refuse a replacement that would roll it back. */
function newestOf(issuer: string, crls: readonly InForce[]): Crl | undefined {
  return crls.filter((c) => hexOf(c.crl.issuer) === issuer).map((c) => c.crl).sort((a, b) => +b.thisUpdate - +a.thisUpdate)[0];
}

async function loadFile(
  file: CrlFile,
  signers: readonly CrlSigner[],
  now: Date,
  before: readonly InForce[],
): Promise<{ inForce: InForce[]; status: CrlStatus[] }> {
  const results: CrlParseResult[] = "readError" in file
    ? [{ ok: false, position: "file", error: `cannot read: ${file.readError}` }]
    : parseCrlFile(file.bytes);
  const inForce: InForce[] = [];
  const status: CrlStatus[] = [];
  for (const result of results) {
    const { position } = result;
    if (!result.ok) {
      status.push({ file: file.path, position, state: "refused", problems: [result.error] });
      continue;
    }
    const { crl } = result;
    const newest = newestOf(hexOf(crl.issuer), before);
    const refusal = await refusalOf(crl, signers) ??
      (newest && crl.thisUpdate < newest.thisUpdate
        ? `older than the CRL in force for this issuer (thisUpdate ${crl.thisUpdate.toISOString()} < ${newest.thisUpdate.toISOString()})`
        : undefined);
    if (refusal) {
      status.push({ file: file.path, position, state: "refused", ...describe(crl), problems: [refusal] });
    } else {
      inForce.push({ file: file.path, position, crl });
      status.push({ file: file.path, position, state: "current", ...describe(crl), problems: freshnessProblems(crl, now) });
    }
  }
  if (status.some((s) => s.state === "refused")) {
    const supplied = new Set(inForce.map((c) => hexOf(c.crl.issuer)));
    for (const kept of before.filter((c) => !supplied.has(hexOf(c.crl.issuer)))) {
      inForce.push(kept);
      const problems = ["kept from an earlier load because this file's current content was refused", ...freshnessProblems(kept.crl, now)];
      status.push({ file: file.path, position: kept.position, state: "previous", ...describe(kept.crl), problems });
    }
  }
  return { inForce, status };
}

/**
 * Builds the list from CRL files (see the module comment for what is refused, kept and reported). Throws TypeError
 * only when the CA PEM has no readable certificate; everything wrong with a CRL file ends up in `status`.
 */
export async function buildRevocationList(input: RevocationListInput): Promise<RevocationList> {
  const { files, now } = input;
  const signers = crlSignersFromPem(input.caPem);
  const previous = input.previous instanceof BuiltRevocationList ? input.previous.inForceByFile : new Map<string, InForce[]>();
  const inForceByFile = new Map<string, readonly InForce[]>();
  const status: CrlStatus[] = [];
  for (const file of files) {
    const loaded = await loadFile(file, signers, now, previous.get(file.path) ?? []);
    inForceByFile.set(file.path, Object.freeze(loaded.inForce));
    status.push(...loaded.status.map((s) => Object.freeze({ ...s, problems: Object.freeze(s.problems) })));
  }
  const index = new Map<string, Map<string, Revocation>>();
  for (const { file, crl } of [...inForceByFile.values()].flat()) {
    const issuer = hexOf(crl.issuer);
    const serials = index.get(issuer) ?? index.set(issuer, new Map()).get(issuer)!;
    for (const { serial, revokedAt, reason } of crl.revoked) {
      if (!serials.has(serial)) serials.set(serial, Object.freeze({ serial, revokedAt, file, ...(reason ? { reason } : {}) }));
    }
  }
  return new BuiltRevocationList(inForceByFile, index, Object.freeze(status), now);
}
