// @ts-check
/**
 * Shapes of what the API answers, as the console reads them (api/openapi.json is the authority).
 * The detail fields (`paused` … `rollout`) come only with `?detail=true`; every reader tolerates their absence.
 * @module
 */

/** @typedef {{ name: string, minReplicas?: number, maxReplicas: number }} Autoscaler */
/** @typedef {{ name: string, image: string, init?: boolean }} Container */
/**
 * @typedef {{ complete: boolean, generation: number, observedGeneration: number, replicas: number,
 *   updatedReplicas: number, readyReplicas: number, availableReplicas: number, reason?: string, message?: string }} Rollout
 */
/**
 * @typedef {{ namespace: string, name: string, replicas: number, readyReplicas: number, availableReplicas: number,
 *   resourceVersion: string, autoscaler?: Autoscaler, paused?: boolean, revision?: number, containers?: Container[],
 *   restartedAt?: string, createdAt?: string, rollout?: Rollout }} Deployment
 */
/** @typedef {"scale" | "restart" | "pause" | "undo" | "image"} Permission */
/** @typedef {"scale" | "restart" | "pause" | "resume" | "undo" | "image"} Op */
/**
 * @typedef {{ identity: { cn: string, organizations: string[] }, policy: string, denied?: string,
 *   permissions: Record<string, "*" | string[]>, namespaces: Record<string, string[]>,
 *   imagePatterns: Record<string, string[]>, operations: Permission[] }} Whoami
 */
/** @typedef {{ type?: string, title?: string, status: number, detail?: string }} Problem */
/**
 * @typedef {{ revision: number, current: boolean, replicaSet: string, images: { name: string, image: string }[],
 *   changeCause?: string, created: string, replicas: number }} Revision
 */
/** @typedef {{ time: string, reason: string, note: string, instance?: string, count?: number }} HistoryEvent */

export {};
