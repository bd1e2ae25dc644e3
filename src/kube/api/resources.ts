/**
 * The API server paths of every resource the service lists, watches or writes, in one place: a list, its watch
 * and a write of the same resource can never disagree on a group, a version or an escape.
 */

const scope = (namespace?: string) => (namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "");

/** Deployments in `namespace`, or in every namespace. */
export function deploymentsPath(namespace?: string): string {
  return `/apis/apps/v1${scope(namespace)}/deployments`;
}

/** One Deployment: read and patched by the rollout operations (restart, pause, resume, set image, undo). */
export function deploymentPath(namespace: string, name: string): string {
  return `${deploymentsPath(namespace)}/${encodeURIComponent(name)}`;
}

/** The scale subresource of one Deployment: what a scale writes. */
export function deploymentScalePath(namespace: string, name: string): string {
  return `${deploymentPath(namespace, name)}/scale`;
}

/** ReplicaSets (apps/v1) in `namespace`, or in every namespace: a Deployment's revisions. */
export function replicaSetsPath(namespace?: string): string {
  return `/apis/apps/v1${scope(namespace)}/replicasets`;
}

/** One ReplicaSet: an undo reads the revision it restores from the API server, never from the cache. */
export function replicaSetPath(namespace: string, name: string): string {
  return `${replicaSetsPath(namespace)}/${encodeURIComponent(name)}`;
}

/** HorizontalPodAutoscalers (autoscaling/v2) in `namespace`, or in every namespace. */
export function autoscalersPath(namespace?: string): string {
  return `/apis/autoscaling/v2${scope(namespace)}/horizontalpodautoscalers`;
}

export const NAMESPACES_PATH = "/api/v1/namespaces";

/** events.k8s.io/v1 Events in `namespace`, or in every namespace (the "who did it" records: written, and read by the history). */
export function eventsPath(namespace?: string): string {
  return `/apis/events.k8s.io/v1${scope(namespace)}/events`;
}
