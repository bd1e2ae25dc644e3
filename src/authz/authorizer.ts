/**
 * Decides what a verified client may do, from a {@link Policy}. Deny by
 * default: a client gets the union of the permissions of every rule one of
 * whose subjects matches its certificate (CN equal, or group among its O
 * values), and nothing else. A certificate listed in `deniedFingerprints`
 * gets nothing, whatever the rules say.
 */
import type { ClientIdentity } from "../http/mod.ts";
import { matchesImagePattern } from "./image_pattern.ts";
import { type NamespaceGrant, normalizeFingerprint, type Permission, PERMISSIONS, type Policy, type PolicyRule } from "./policy.ts";

/**
 * Whether a client may set an image: allowed, or refused with the patterns that would have been allowed (the
 * union of the patterns of the client's rules that grant `image` in the namespace). No patterns means that no
 * rule grants `image` there at all.
 */
export type ImageDecision = { readonly allowed: true } | { readonly allowed: false; readonly patterns: readonly string[] };

/**
 * The image patterns an identity may set, per namespace: `"*"` for the rules that grant `image` in every
 * namespace, and each namespace named by a rule, with the patterns allowed there (those of `"*"` included).
 * A namespace absent from it has no `image` grant. `["*"]` means any image (the pattern `*` matches every
 * reference, so a rule without `images` is shown as it).
 */
export type ImagePatternMap = Readonly<Record<string, readonly string[]>>;

/** What an identity was granted, in a form fit for a JSON log line. */
export interface AuthorizationSummary {
  /** The policy file, or a note that there is none. */
  readonly policy: string;
  /** Lines of the rules that matched. */
  readonly rules: readonly number[];
  /** Each permission, with "*" (every namespace) or the sorted namespaces it is held in (possibly none). */
  readonly permissions: Readonly<Record<Permission, "*" | readonly string[]>>;
  readonly imagePatterns: ImagePatternMap;
  /** Why the identity is refused everything, when it is. */
  readonly denied?: string;
}

export interface Authorizer {
  /**
   * Whether `identity` holds `permission` in `namespace`. The namespace `"*"`
   * asks "in every namespace", which only a `["*"]` grant answers with true.
   */
  can(identity: ClientIdentity, permission: Permission, namespace: string): boolean;
  /**
   * Whether `identity` may set `image` (the reference exactly as the client wrote it) in `namespace`: some rule
   * matching it grants `image` there and has no `images`, or a pattern matching the reference.
   */
  imageAllowed(identity: ClientIdentity, namespace: string, image: string): ImageDecision;
  /** Namespaces whose Deployments `identity` may read, for filtering lists: all, or a (possibly empty) set. */
  readableNamespaces(identity: ClientIdentity): "*" | ReadonlySet<string>;
  /** What `identity` may do and why, for logs. */
  describe(identity: ClientIdentity): AuthorizationSummary;
  /**
   * Calls `listener` after the policy changes (a reload); returns the unsubscribe. Absent on an authorizer whose
   * policy never changes. Long-lived requests use it to re-check what they were admitted for.
   */
  onChange?(listener: () => void): () => void;
}

/** A matching rule's `image` grant: where, and which images (undefined = any). */
interface ImageGrant {
  readonly namespaces: NamespaceGrant;
  readonly images?: readonly string[];
}

interface Grants {
  readonly namespaces: Readonly<Record<Permission, NamespaceGrant>>;
  readonly images: readonly ImageGrant[];
  readonly rules: readonly number[];
  readonly denied?: string;
}

const NOTHING: ReadonlySet<string> = new Set();
const ALLOWED: ImageDecision = Object.freeze({ allowed: true });
const ANY_IMAGE: readonly string[] = Object.freeze(["*"]);

function union(a: NamespaceGrant, b: NamespaceGrant): NamespaceGrant {
  if (a === "*" || b === "*") return "*";
  if (a.size === 0) return b;
  if (b.size === 0) return a;
  return new Set([...a, ...b]);
}

/** Undefined (a permission string no policy knows) allows nothing: fail closed. */
function allows(grant: NamespaceGrant | undefined, namespace: string): boolean {
  return grant === "*" || (grant !== undefined && namespace !== "*" && grant.has(namespace));
}

function matches(rule: PolicyRule, identity: ClientIdentity): boolean {
  return rule.subjects.some((s) => s.cn !== undefined ? s.cn === identity.cn : identity.organizations.includes(s.group));
}

function listed(grant: NamespaceGrant): "*" | readonly string[] {
  return grant === "*" ? "*" : Object.freeze([...grant].sort());
}

function noGrants(): Record<Permission, NamespaceGrant> {
  return Object.fromEntries(PERMISSIONS.map((p) => [p, NOTHING])) as Record<Permission, NamespaceGrant>;
}

/** The patterns of `grants` together, in policy order without repeats; `["*"]` as soon as one allows any image. */
function patternsOf(grants: readonly ImageGrant[]): readonly string[] {
  const out = new Set<string>();
  for (const grant of grants) {
    if (grant.images === undefined || grant.images.includes("*")) return ANY_IMAGE;
    for (const pattern of grant.images) out.add(pattern);
  }
  return Object.freeze([...out]);
}

function imagePatternMap(grants: readonly ImageGrant[]): ImagePatternMap {
  const everywhere = grants.filter((g) => g.namespaces === "*");
  const named = new Set<string>();
  for (const g of grants) if (g.namespaces !== "*") { for (const ns of g.namespaces) named.add(ns); }
  const out: Record<string, readonly string[]> = {};
  if (everywhere.length) out["*"] = patternsOf(everywhere);
  for (const ns of [...named].sort()) out[ns] = patternsOf(grants.filter((g) => allows(g.namespaces, ns)));
  return Object.freeze(out);
}

/** An authorizer for `policy`. Grants are computed once per identity object (one per TLS connection). */
export function createAuthorizer(policy: Policy): Authorizer {
  const cache = new WeakMap<ClientIdentity, Grants>();

  const grantsOf = (identity: ClientIdentity): Grants => {
    let grants = cache.get(identity);
    if (grants) return grants;
    if (policy.deniedFingerprints.has(normalizeFingerprint(identity.fingerprint256))) {
      grants = { namespaces: noGrants(), images: [], rules: [], denied: "certificate fingerprint is listed in deniedFingerprints" };
    } else {
      const namespaces = noGrants();
      const images: ImageGrant[] = [];
      const lines: number[] = [];
      for (const rule of policy.rules) {
        if (!matches(rule, identity)) continue;
        lines.push(rule.line);
        for (const p of PERMISSIONS) namespaces[p] = union(namespaces[p], rule.permissions[p] ?? NOTHING);
        const image = rule.permissions.image;
        if (image !== undefined) {
          images.push(rule.images === undefined ? { namespaces: image } : { namespaces: image, images: rule.images });
        }
      }
      grants = { namespaces, images, rules: lines };
    }
    cache.set(identity, grants);
    return grants;
  };

  return {
    can: (identity, permission, namespace) => allows(grantsOf(identity).namespaces[permission], namespace),
    imageAllowed(identity, namespace, image) {
      const patterns = new Set<string>();
      for (const grant of grantsOf(identity).images) {
        if (!allows(grant.namespaces, namespace)) continue;
        if (grant.images === undefined || grant.images.some((pattern) => matchesImagePattern(pattern, image))) return ALLOWED;
        for (const pattern of grant.images) patterns.add(pattern);
      }
      return Object.freeze({ allowed: false, patterns: Object.freeze([...patterns]) });
    },
    readableNamespaces: (identity) => grantsOf(identity).namespaces.read,
    describe(identity) {
      const g = grantsOf(identity);
      const permissions = Object.fromEntries(PERMISSIONS.map((p) => [p, listed(g.namespaces[p])]));
      return Object.freeze({
        policy: policy.source,
        rules: Object.freeze([...g.rules]),
        permissions: Object.freeze(permissions) as AuthorizationSummary["permissions"],
        imagePatterns: imagePatternMap(g.images),
        ...(g.denied ? { denied: g.denied } : {}),
      });
    },
  };
}

const ALLOW_ALL_SUMMARY: AuthorizationSummary = Object.freeze({
  policy: "none (AUTHZ_POLICY_FILE unset): every authenticated client may do everything everywhere",
  rules: Object.freeze([]),
  permissions: Object.freeze(Object.fromEntries(PERMISSIONS.map((p) => [p, "*"]))) as AuthorizationSummary["permissions"],
  imagePatterns: Object.freeze({ "*": ANY_IMAGE }),
});

/** The authorizer when no policy file is configured: every authenticated client may do everything, any image included. */
export function allowAll(): Authorizer {
  return {
    can: (_identity, permission) => PERMISSIONS.includes(permission),
    imageAllowed: () => ALLOWED,
    readableNamespaces: () => "*",
    describe: () => ALLOW_ALL_SUMMARY,
  };
}
