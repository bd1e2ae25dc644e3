/**
 * GET /api/v1/whoami: who the service takes the client certificate for, when that certificate expires, what
 * the policy in force lets it do (per permission, per namespace, and which images it may set where), and which
 * operations this server has enabled at all. It needs only a valid certificate, so a refused client can still
 * learn why it is refused.
 *
 * The permissions are what the policy grants, whether or not the server does the operation: the policy and the
 * OPERATIONS setting are set by different people at different times, and hiding one behind the other would make
 * either impossible to check. A client (the console, the CLI) intersects them: it may do an operation in a
 * namespace when the operation is in `operations` and the namespace is in its permission.
 */
import { HttpError, jsonResponse, validateQuery } from "../http/mod.ts";
import type { Handler } from "../http/mod.ts";
import { allowAll, type Authorizer, type Operation, OPERATIONS, PERMISSIONS } from "../authz/mod.ts";

export interface WhoamiDeps {
  authorizer?: Authorizer;
  /** The operations this server does (config.operations); default: `scale` alone, as the OPERATIONS setting's default. */
  operations?: ReadonlySet<Operation>;
  /** Epoch milliseconds, for the certificate's expiry. */
  now?: () => number;
}

const DEFAULT_OPERATIONS: ReadonlySet<Operation> = new Set(["scale"]);

/** What one identity may do: each permission with "*" (every namespace) or the namespaces it holds it in. */
export type PermissionMap = Record<string, "*" | readonly string[]>;

/** The namespaces view of a {@link PermissionMap}: "*" and each named namespace, with the permissions held there. */
export function byNamespace(permissions: PermissionMap): Record<string, string[]> {
  const everywhere = PERMISSIONS.filter((p) => permissions[p] === "*");
  const out: Record<string, string[]> = {};
  if (everywhere.length) out["*"] = [...everywhere];
  const named = new Set<string>();
  for (const p of PERMISSIONS) {
    const grant = permissions[p];
    if (grant !== undefined && grant !== "*") { for (const ns of grant) named.add(ns); }
  }
  for (const ns of [...named].sort()) {
    out[ns] = PERMISSIONS.filter((p) => {
      const grant = permissions[p];
      return grant === "*" || (grant !== undefined && grant.includes(ns));
    });
  }
  return out;
}

const toIso = (value: string | number | undefined): string | undefined => value === undefined ? undefined : new Date(value).toISOString();

export function createWhoamiHandler(deps: WhoamiDeps): Handler {
  const authorizer = deps.authorizer ?? allowAll();
  const now = deps.now ?? Date.now;
  const enabled = deps.operations ?? DEFAULT_OPERATIONS;
  // In the one order every list of them has, whatever order the setting named them in.
  const operations = Object.freeze(OPERATIONS.filter((o) => enabled.has(o)));
  return (request, context) => {
    validateQuery(request.url, []);
    const client = context.client;
    // The mTLS listener always sets it; off that listener there is nobody to describe.
    if (!client) throw new HttpError(401, "no verified client certificate on this connection");
    const summary = authorizer.describe(client);
    const permissions: PermissionMap = {};
    for (const p of PERMISSIONS) permissions[p] = summary.permissions[p];
    const notAfter = toIso(client.notAfter);
    return jsonResponse({
      identity: {
        cn: client.cn,
        organizations: client.organizations,
        serialNumber: client.serialNumber,
        fingerprint256: client.fingerprint256,
        issuer: client.issuer,
        notBefore: toIso(client.notBefore),
        notAfter,
        expiresInSeconds: notAfter === undefined ? undefined : Math.floor((Date.parse(notAfter) - now()) / 1000),
      },
      policy: summary.policy,
      ...(summary.denied ? { denied: summary.denied } : {}),
      permissions,
      namespaces: summary.denied ? {} : byNamespace(permissions),
      imagePatterns: summary.imagePatterns,
      operations,
    }, { headers: { "cache-control": "no-store" } });
  };
}
