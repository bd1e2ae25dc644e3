/**
 * The authorizer every part of the service holds: it answers with the policy in force now, so a reloaded policy
 * takes effect for the next request without anyone re-wiring anything. Long-lived requests (watch streams)
 * subscribe to changes and re-check what they were admitted for.
 */
import type { Authorizer } from "./authorizer.ts";

export interface ReloadableAuthorizer extends Authorizer {
  /** Puts `next` in force; then tells every subscriber. */
  replace(next: Authorizer): void;
  /** Calls `listener` after each replacement; returns the unsubscribe. */
  onChange(listener: () => void): () => void;
}

export function createReloadableAuthorizer(initial: Authorizer): ReloadableAuthorizer {
  let current = initial;
  const listeners = new Set<() => void>();
  return {
    can: (identity, permission, namespace) => current.can(identity, permission, namespace),
    imageAllowed: (identity, namespace, image) => current.imageAllowed(identity, namespace, image),
    readableNamespaces: (identity) => current.readableNamespaces(identity),
    describe: (identity) => current.describe(identity),
    replace(next) {
      current = next;
      for (const listener of [...listeners]) {
        try {
          listener();
        } catch { /* a subscriber's failure must not stop the others from hearing of the change */ }
      }
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
