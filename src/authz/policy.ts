/**
 * The authorization policy file: which client certificates (by subject CN or
 * organization, i.e. group) may read Deployments, or do which operation to
 * them, in which namespaces, and which images they may set. The format is
 * documented with an example in ./README.md.
 *
 * Parsing is strict because a typo in a security policy must not silently
 * grant or withhold access: unknown fields, unknown permissions, duplicate
 * fields, empty subjects and invalid namespace names are errors, and every
 * error names the file, line and column at fault.
 */
import { isDns1123Label } from "../kube/mod.ts";
import { locationOf, pointerChild, scanJson, syntaxErrorLocation, type TextLocation } from "./_json_locate.ts";
import { imagePatternProblem } from "./image_pattern.ts";
import { type Operation, OPERATIONS } from "./operations.ts";

/**
 * What a client may do: `read` (every GET: Deployments, replica counts, revisions), or one of the
 * {@link Operation}s (`pause` covers pause and resume).
 */
export type Permission = "read" | Operation;

/** Every permission; messages that list the known ones are built from it. */
export const PERMISSIONS: readonly Permission[] = Object.freeze(["read", ...OPERATIONS]);

/** Namespaces a permission applies to: all (`"*"`) or a set of names. */
export type NamespaceGrant = "*" | ReadonlySet<string>;

/** One subject of a rule: exactly one of `cn` or `group` is set. */
export type PolicySubject = { readonly cn: string; readonly group?: undefined } | { readonly group: string; readonly cn?: undefined };

export interface PolicyRule {
  /** 1-based line of the rule in the policy file, so logs can point at the rule that granted access. */
  readonly line: number;
  readonly description?: string;
  /** The rule applies to a client matching any of these. */
  readonly subjects: readonly PolicySubject[];
  readonly permissions: Readonly<Partial<Record<Permission, NamespaceGrant>>>;
  /**
   * The image patterns this rule's `image` permission is limited to (see ./image_pattern.ts); undefined = any
   * image. Only a rule that grants `image` has them.
   */
  readonly images?: readonly string[];
}

export interface Policy {
  /** Where the policy came from (a file path), for messages. */
  readonly source: string;
  readonly rules: readonly PolicyRule[];
  /** SHA-256 certificate fingerprints (upper-case, colon-separated) refused every permission. */
  readonly deniedFingerprints: ReadonlySet<string>;
}

/** A policy that cannot be used; the message is `source:line:column: detail`. */
export class PolicyError extends Error {
  readonly line: number;
  readonly column: number;
  constructor(readonly source: string, at: TextLocation, readonly detail: string) {
    super(`${source}:${at.line}:${at.column}: ${detail}`);
    this.name = "PolicyError";
    this.line = at.line;
    this.column = at.column;
  }
}

const TOP_LEVEL_FIELDS = ["rules", "deniedFingerprints", "description"];
const RULE_FIELDS = ["subjects", "permissions", "images", "description"];
const SUBJECT_FIELDS = ["cn", "group"];
/** X.520 allows 64 characters for CN and O; some CAs issue longer ones, so this only stops absurd values. */
const MAX_SUBJECT_LENGTH = 256;
const FINGERPRINT = /^[0-9A-F]{64}$/;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: Json): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function quote(value: string, max = 60): string {
  return JSON.stringify(value.length > max ? value.slice(0, max) + "…" : value);
}

/**
 * Parses and validates a policy document. `source` names it in errors (use
 * the file path). Throws {@link PolicyError} naming the line and column of the
 * first problem.
 */
export function parsePolicy(text: string, source: string): Policy {
  // Editors on some systems prepend a byte-order mark; a space keeps every offset (and so every line/column) intact.
  const json = text.startsWith("\uFEFF") ? " " + text.slice(1) : text;
  let document: Json;
  try {
    document = JSON.parse(json);
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    // The position is in the prefix already; V8's own "at position N (line L column C)" would only repeat it.
    // "Unexpected token 'x', "<a copy of the text>" is not valid JSON": the copy is noise here.
    const reason = error.message
      .replace(/\s*(in JSON )?at position \d+( \(line \d+ column \d+\))?/, "")
      .replace(/^(Unexpected token '.+?'), [\s\S]*is not valid JSON$/, "$1")
      .split("\n")[0];
    throw new PolicyError(source, syntaxErrorLocation(json, error.message), `invalid JSON: ${reason}`);
  }

  // JSON.parse keeps the last of duplicate keys silently; the scan finds them, and the positions errors point at.
  const scan = scanJson(json);
  const at = (pointer: string, part: "key" | "value" = "value"): TextLocation => {
    const span = scan.spans.get(pointer);
    if (!span) return { line: 1, column: 1 };
    return locationOf(json, part === "key" && span.keyOffset !== undefined ? span.keyOffset : span.valueOffset);
  };
  const fail = (pointer: string, detail: string, part: "key" | "value" = "value"): never => {
    throw new PolicyError(source, at(pointer, part), detail);
  };

  if (scan.duplicateKeys.length > 0) {
    const first = scan.duplicateKeys[0];
    const key = first.pointer.slice(first.pointer.lastIndexOf("/") + 1).replaceAll("~1", "/").replaceAll("~0", "~");
    throw new PolicyError(source, locationOf(json, first.keyOffset), `duplicate field ${quote(key)}`);
  }

  const checkFields = (value: { [key: string]: Json }, pointer: string, known: readonly string[], what: string) => {
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) {
        fail(pointerChild(pointer, key), `unknown field ${quote(key)} in ${what}; known fields: ${known.join(", ")}`, "key");
      }
    }
  };
  const description = (value: Json | undefined, pointer: string): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== "string") fail(pointer, `"description" must be a string`);
    return value as string;
  };

  if (!isObject(document)) {
    return fail("", `the policy must be a JSON object like {"rules": [...]}`);
  }
  checkFields(document, "", TOP_LEVEL_FIELDS, "the policy");
  description(document.description, "/description");
  if (!Object.hasOwn(document, "rules")) fail("", `the policy has no "rules" field`);
  const rulesValue = document.rules;
  if (!Array.isArray(rulesValue)) return fail("/rules", `"rules" must be an array of rules`);

  const rules = rulesValue.map((rule, index) => parseRule(rule, pointerChild("/rules", index)));
  const deniedFingerprints = parseFingerprints(document.deniedFingerprints, "/deniedFingerprints");
  return Object.freeze({ source, rules: Object.freeze(rules), deniedFingerprints });

  function parseRule(rule: Json, pointer: string): PolicyRule {
    if (!isObject(rule)) return fail(pointer, `a rule must be an object with "subjects" and "permissions"`);
    checkFields(rule, pointer, RULE_FIELDS, "rule");
    if (!Object.hasOwn(rule, "subjects")) fail(pointer, `the rule has no "subjects" field (who it applies to)`);
    if (!Object.hasOwn(rule, "permissions")) fail(pointer, `the rule has no "permissions" field (what it grants)`);
    const line = at(pointer).line;
    const desc = description(rule.description, pointerChild(pointer, "description"));
    const subjects = parseSubjects(rule.subjects, pointerChild(pointer, "subjects"));
    const permissions = parsePermissions(rule.permissions, pointerChild(pointer, "permissions"));
    const images = rule.images === undefined ? undefined : parseImages(rule.images, pointerChild(pointer, "images"));
    if (images !== undefined && permissions.image === undefined) {
      // Patterns limit the image permission only; in a rule without it they would do nothing, which reads as a grant.
      fail(
        pointerChild(pointer, "images"),
        `"images" limits the image permission, which this rule does not grant: add "image": [namespaces] to "permissions", or remove "images"`,
        "key",
      );
    }
    return Object.freeze({
      line,
      ...(desc === undefined ? {} : { description: desc }),
      subjects,
      permissions,
      ...(images === undefined ? {} : { images }),
    });
  }

  function parseImages(value: Json, pointer: string): readonly string[] {
    if (!Array.isArray(value)) return fail(pointer, `"images" must be an array of image patterns like ["registry.internal/*"]`);
    if (value.length === 0) {
      fail(pointer, `"images" is empty: the rule would allow no image; list patterns, or remove "images" to allow any image`);
    }
    const seen = new Set<string>();
    value.forEach((pattern, index) => {
      const child = pointerChild(pointer, index);
      if (typeof pattern !== "string") return fail(child, `image patterns must be strings like "registry.internal/*"`);
      const problem = imagePatternProblem(pattern);
      if (problem !== undefined) fail(child, `image pattern ${quote(pattern)} ${problem}`);
      if (seen.has(pattern)) fail(child, `duplicate image pattern ${quote(pattern)}`);
      seen.add(pattern);
    });
    return Object.freeze([...seen]);
  }

  function parseSubjects(value: Json, pointer: string): readonly PolicySubject[] {
    if (!Array.isArray(value)) return fail(pointer, `"subjects" must be an array like [{"cn": "alice"}, {"group": "sre"}]`);
    if (value.length === 0) fail(pointer, `"subjects" is empty: the rule would apply to nobody`);
    return Object.freeze(value.map((subject, index) => parseSubject(subject, pointerChild(pointer, index))));
  }

  function parseSubject(subject: Json, pointer: string): PolicySubject {
    if (!isObject(subject)) return fail(pointer, `a subject must be an object: {"cn": "<common name>"} or {"group": "<organization>"}`);
    checkFields(subject, pointer, SUBJECT_FIELDS, "subject");
    const keys = Object.keys(subject);
    if (keys.length === 0) fail(pointer, `empty subject: give "cn" (certificate common name) or "group" (certificate organization)`);
    if (keys.length > 1) {
      fail(
        pointer,
        `a subject names either "cn" or "group", not both; a rule applies when any of its subjects matches, so list them separately`,
      );
    }
    const field = keys[0] as "cn" | "group";
    const name = subject[field];
    const valuePointer = pointerChild(pointer, field);
    if (typeof name !== "string") return fail(valuePointer, `"${field}" must be a string`);
    if (name.trim() === "") fail(valuePointer, `empty subject: "${field}" is an empty string`);
    if (name !== name.trim()) fail(valuePointer, `"${field}" ${quote(name)} has leading or trailing whitespace`);
    // deno-lint-ignore no-control-regex
    if (/[\x00-\x1f\x7f]/.test(name)) fail(valuePointer, `"${field}" contains a control character`);
    if (name.length > MAX_SUBJECT_LENGTH) fail(valuePointer, `"${field}" is longer than ${MAX_SUBJECT_LENGTH} characters`);
    return Object.freeze(field === "cn" ? { cn: name } : { group: name });
  }

  function parsePermissions(value: Json, pointer: string): PolicyRule["permissions"] {
    if (!isObject(value)) return fail(pointer, `"permissions" must be an object like {"read": ["*"], "scale": ["demo"]}`);
    const out: Partial<Record<Permission, NamespaceGrant>> = {};
    for (const [key, namespaces] of Object.entries(value)) {
      const child = pointerChild(pointer, key);
      if (!(PERMISSIONS as readonly string[]).includes(key)) {
        fail(child, `unknown permission ${quote(key)}; known permissions: ${PERMISSIONS.join(", ")}`, "key");
      }
      out[key as Permission] = parseNamespaces(namespaces, child, key);
    }
    if (Object.keys(out).length === 0) fail(pointer, `"permissions" is empty: the rule would grant nothing`);
    return Object.freeze(out);
  }

  function parseNamespaces(value: Json, pointer: string, permission: string): NamespaceGrant {
    if (!Array.isArray(value)) return fail(pointer, `"${permission}" must be an array of namespace names, or ["*"] for all`);
    if (value.length === 0) fail(pointer, `"${permission}" lists no namespace: remove it, or list namespaces (["*"] for all)`);
    const names = new Set<string>();
    let all = false;
    value.forEach((name, index) => {
      const child = pointerChild(pointer, index);
      if (typeof name !== "string") return fail(child, `namespace names must be strings`);
      if (name === "*") all = true;
      else if (!isDns1123Label(name)) {
        fail(child, `${quote(name)} is not a valid namespace name (lower-case DNS-1123 label, at most 63 characters) or "*"`);
      } else names.add(name);
    });
    return all ? "*" : names;
  }

  function parseFingerprints(value: Json | undefined, pointer: string): ReadonlySet<string> {
    const out = new Set<string>();
    if (value === undefined) return out;
    if (!Array.isArray(value)) return fail(pointer, `"deniedFingerprints" must be an array of SHA-256 certificate fingerprints`);
    value.forEach((entry, index) => {
      const child = pointerChild(pointer, index);
      const hex = typeof entry === "string" ? entry.replaceAll(":", "").toUpperCase() : "";
      if (!FINGERPRINT.test(hex)) {
        fail(child, `not a SHA-256 fingerprint: expected 32 hex bytes like "AB:CD:…" (openssl x509 -noout -fingerprint -sha256)`);
      }
      out.add(normalizeFingerprint(hex));
    });
    return out;
  }
}

/** "abcd…" or "AB:CD:…" → "AB:CD:…", the form node:tls reports. */
export function normalizeFingerprint(fingerprint: string): string {
  const hex = fingerprint.replaceAll(":", "").toUpperCase();
  return hex.match(/../g)?.join(":") ?? hex;
}
