/**
 * Decides what a verified client may do, from a {@link Policy}. Deny by
 * default: a client gets the union of the permissions of every rule one of
 * whose subjects matches its certificate (CN equal, or group among its O
 * values), and nothing else. A certificate listed in `deniedFingerprints`
 * gets nothing, whatever the rules say.
 */
import type { ClientIdentity } from "../http/mod.ts";
import { type NamespaceGrant, normalizeFingerprint, type Permission, PERMISSIONS, type Policy, type PolicyRule } from "./policy.ts";

/** What an identity was granted, in a form fit for a JSON log line. */
export interface AuthorizationSummary {
  /** The policy file, or a note that there is none. */
  readonly policy: string;
  /** Lines of the rules that matched. */
  readonly rules: readonly number[];
  readonly read: "*" | readonly string[];
  readonly scale: "*" | readonly string[];
  /** Why the identity is refused everything, when it is. */
  readonly denied?: string;
}

export interface Authorizer {
  /**
   * Whether `identity` holds `permission` in `namespace`. The namespace `"*"`
   * asks "in every namespace", which only a `["*"]` grant answers with true.
   */
  can(identity: ClientIdentity, permission: Permission, namespace: string): boolean;
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

interface Grants {
  readonly read: NamespaceGrant;
  readonly scale: NamespaceGrant;
  readonly rules: readonly number[];
  readonly denied?: string;
}

const NOTHING: ReadonlySet<string> = new Set();

function union(a: NamespaceGrant, b: NamespaceGrant): NamespaceGrant {
  if (a === "*" || b === "*") return "*";
  if (a.size === 0) return b;
  if (b.size === 0) return a;
  return new Set([...a, ...b]);
}

function allows(grant: NamespaceGrant, namespace: string): boolean {
  return grant === "*" || (namespace !== "*" && grant.has(namespace));
}

function matches(rule: PolicyRule, identity: ClientIdentity): boolean {
  return rule.subjects.some((s) => s.cn !== undefined ? s.cn === identity.cn : identity.organizations.includes(s.group));
}

function listed(grant: NamespaceGrant): "*" | readonly string[] {
  return grant === "*" ? "*" : Object.freeze([...grant].sort());
}

/** An authorizer for `policy`. Grants are computed once per identity object (one per TLS connection). */
export function createAuthorizer(policy: Policy): Authorizer {
  const cache = new WeakMap<ClientIdentity, Grants>();

  const grantsOf = (identity: ClientIdentity): Grants => {
    let grants = cache.get(identity);
    if (grants) return grants;
    if (policy.deniedFingerprints.has(normalizeFingerprint(identity.fingerprint256))) {
      grants = { read: NOTHING, scale: NOTHING, rules: [], denied: "certificate fingerprint is listed in deniedFingerprints" };
    } else {
      let read: NamespaceGrant = NOTHING;
      let scale: NamespaceGrant = NOTHING;
      const lines: number[] = [];
      for (const rule of policy.rules) {
        if (!matches(rule, identity)) continue;
        lines.push(rule.line);
        read = union(read, rule.permissions.read ?? NOTHING);
        scale = union(scale, rule.permissions.scale ?? NOTHING);
      }
      grants = { read, scale, rules: lines };
    }
    cache.set(identity, grants);
    return grants;
  };

  return {
    can: (identity, permission, namespace) => allows(grantsOf(identity)[permission], namespace),
    readableNamespaces: (identity) => grantsOf(identity).read,
    describe(identity) {
      const g = grantsOf(identity);
      return Object.freeze({
        policy: policy.source,
        rules: Object.freeze([...g.rules]),
        read: listed(g.read),
        scale: listed(g.scale),
        ...(g.denied ? { denied: g.denied } : {}),
      });
    },
  };
}

const ALLOW_ALL_SUMMARY: AuthorizationSummary = Object.freeze({
  policy: "none (AUTHZ_POLICY_FILE unset): every authenticated client may read and scale everywhere",
  rules: Object.freeze([]),
  read: "*",
  scale: "*",
});

/** The authorizer when no policy file is configured: every authenticated client may do everything. */
export function allowAll(): Authorizer {
  return {
    can: (_identity, permission) => PERMISSIONS.includes(permission),
    readableNamespaces: () => "*",
    describe: () => ALLOW_ALL_SUMMARY,
  };
}
