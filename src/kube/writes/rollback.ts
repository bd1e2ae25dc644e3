/**
 * What `kubectl rollout undo` decides before it patches, as pure functions: which revision "previous" means,
 * whether the target revision's template is already in force, and which annotations the restored Deployment
 * keeps. (kubectl: staging/src/k8s.io/kubectl/pkg/polymorphichelpers/rollback.go.)
 */
import type { ReplicaSetRecord } from "../cache/mod.ts";
import type { PodTemplateJson } from "./deployment_api.ts";

/** The label the Deployment controller adds to each ReplicaSet's template; never part of the Deployment's own. */
export const POD_TEMPLATE_HASH_LABEL = "pod-template-hash";

/**
 * The Deployment's own annotations that an undo keeps rather than taking the ReplicaSet's: they describe the
 * Deployment (its revision bookkeeping, what `kubectl apply` last applied), not the template being restored.
 */
export const ROLLBACK_KEPT_ANNOTATIONS: ReadonlySet<string> = new Set([
  "kubectl.kubernetes.io/last-applied-configuration",
  "deployment.kubernetes.io/revision",
  "deployment.kubernetes.io/revision-history",
  "deployment.kubernetes.io/desired-replicas",
  "deployment.kubernetes.io/max-replicas",
  "deprecated.deployment.rollback.to",
]);

/** The highest revision below `current` (kubectl's "previous revision"); undefined when there is none. */
export function previousRevision(revisions: readonly ReplicaSetRecord[], current: number): ReplicaSetRecord | undefined {
  let previous: ReplicaSetRecord | undefined;
  for (const r of revisions) if (r.revision < current && (!previous || r.revision > previous.revision)) previous = r;
  return previous;
}

/** A copy of a ReplicaSet's template as the Deployment's: without the pod-template-hash label. */
export function templateWithoutHash(template: PodTemplateJson): PodTemplateJson {
  const copy = structuredClone(template);
  const labels = copy.metadata?.labels;
  if (labels && POD_TEMPLATE_HASH_LABEL in labels) delete labels[POD_TEMPLATE_HASH_LABEL];
  return copy;
}

/** kubectl's equalIgnoreHash: the same template once the pod-template-hash label is left out of both. */
export function sameTemplate(a: PodTemplateJson | undefined, b: PodTemplateJson | undefined): boolean {
  return jsonEqual(templateWithoutHash(a ?? {}), templateWithoutHash(b ?? {}));
}

/** The restored Deployment's annotations: its own kept ones, and the ReplicaSet's others. */
export function rollbackAnnotations(
  deployment: Readonly<Record<string, string>> | undefined,
  replicaSet: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of ROLLBACK_KEPT_ANNOTATIONS) if (deployment?.[key] !== undefined) out[key] = deployment[key];
  for (const [key, value] of Object.entries(replicaSet ?? {})) if (!ROLLBACK_KEPT_ANNOTATIONS.has(key)) out[key] = value;
  return out;
}

/** Deep equality of JSON values, key order aside. */
function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((v, i) => jsonEqual(v, other[i]));
  }
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}
