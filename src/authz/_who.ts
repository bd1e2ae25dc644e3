/** How refusals name a client: the identity the policy matched on, in the certificate's own terms. */
import type { ClientIdentity } from "../http/mod.ts";

/** `CN=alice, O=sre+oncall`; `CN=(none)` for a certificate without one CN. */
export function who(identity: ClientIdentity): string {
  const groups = identity.organizations.length ? `, O=${identity.organizations.join("+")}` : "";
  return `CN=${identity.cn || "(none)"}${groups}`;
}
