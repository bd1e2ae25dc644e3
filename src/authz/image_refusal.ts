/**
 * The words of a refused image (403), so every place that checks the authorizer's `imageAllowed` says the same
 * thing, and says how to fix it: which patterns would be allowed, and that they are compared with the reference
 * exactly as written.
 */
import type { ClientIdentity } from "../http/mod.ts";
import { who } from "./_who.ts";

/** Whether a reference names its registry (`registry.internal/app`, `localhost:5000/app`), as distribution/reference decides. */
function namesRegistry(image: string): boolean {
  const slash = image.indexOf("/");
  if (slash === -1) return false;
  const first = image.slice(0, slash);
  return first.includes(".") || first.includes(":") || first === "localhost";
}

/**
 * The problem detail for `image` refused to `identity` in `namespace`, given the `patterns` of the refusal
 * (`imageAllowed(...).patterns`; empty when no rule grants `image` there).
 */
export function describeImageRefusal(identity: ClientIdentity, namespace: string, image: string, patterns: readonly string[]): string {
  const refused = `${who(identity)} may not set image ${JSON.stringify(image)} in namespace "${namespace}"`;
  if (patterns.length === 0) return `${refused}: no policy rule grants it the image permission there`;
  const allowed = `${refused}: the policy allows only images matching ${patterns.map((p) => JSON.stringify(p)).join(", ")} there`;
  // The likeliest surprise: a short name that Docker would expand, which the patterns (rightly) do not.
  if (namesRegistry(image)) return allowed;
  const name = image.includes("/") ? image : `library/${image}`;
  return `${allowed}; references are compared as written, with no registry added: "${image}" is not "docker.io/${name}"`;
}
