/**
 * The operations that change a Deployment. Each is a permission a policy rule grants per namespace, and each is
 * switched on per server by the OPERATIONS setting (config/), which the handlers consult before doing it.
 *
 * They live here, in the lowest layer that both config/ and handlers/ may import (authz/ sits below both, see
 * tests/unit/layering_test.ts), and beside the permissions because they are the same names: an operation is
 * exactly a permission other than `read`, so the two lists cannot drift apart.
 */

/**
 * - `scale`: PUT replicas.
 * - `restart`: kubectl rollout restart.
 * - `pause`: pause and resume (spec.paused), one switch, as one cannot safely have one without the other.
 * - `undo`: kubectl rollout undo (and the revisions read it needs).
 * - `image`: set the image of one container.
 */
export type Operation = "scale" | "restart" | "pause" | "undo" | "image";

/** Every operation, in the order messages and whoami list them. */
export const OPERATIONS: readonly Operation[] = Object.freeze(["scale", "restart", "pause", "undo", "image"]);

/** Narrows a plain string (a setting's item, a route's permission) to an {@link Operation}. */
export function isOperation(value: string): value is Operation {
  return (OPERATIONS as readonly string[]).includes(value);
}
