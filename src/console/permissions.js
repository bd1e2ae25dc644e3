// @ts-check
/** What this identity may do where, from whoami: the only source of which controls are rendered. @module */

/** @typedef {import("./types.js").Whoami} Whoami */
/** @typedef {import("./types.js").Op} Op */
/** @typedef {import("./types.js").Permission} Permission */

/** The permission an operation needs (resume is covered by pause). @type {Record<Op, Permission>} */
const NEEDS = { scale: "scale", restart: "restart", pause: "pause", resume: "pause", undo: "undo", image: "image" };

/** Every operation, in the order the dialogs list them. @type {readonly Op[]} */
export const OPS = ["scale", "restart", "pause", "resume", "undo", "image"];

/**
 * @param {Whoami | undefined} whoami
 * @returns {(op: Op, namespace: string) => boolean}
 */
export function allowance(whoami) {
  if (!whoami || whoami.denied) return () => false;
  const offered = new Set(whoami.operations);
  return (op, namespace) => {
    const permission = NEEDS[op];
    if (!offered.has(permission)) return false;
    const grant = whoami.permissions[permission];
    return grant === "*" || (Array.isArray(grant) && grant.includes(namespace));
  };
}

/**
 * The image patterns allowed in a namespace (those of "*" included by the server), or [] when none.
 * @param {Whoami | undefined} whoami
 * @param {string} namespace
 */
export function imagePatterns(whoami, namespace) {
  if (!whoami) return [];
  return whoami.imagePatterns[namespace] ?? whoami.imagePatterns["*"] ?? [];
}

/** Whether an image matches one of the patterns (`*` matches any run of characters, `/` included). */
export function imageAllowed(/** @type {string} */ image, /** @type {string[]} */ patterns) {
  return patterns.some((p) => {
    const re = new RegExp(`^${p.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
    return re.test(image);
  });
}
