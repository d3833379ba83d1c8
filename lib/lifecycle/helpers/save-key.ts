import { NotFoundError, VersionConflictError } from "../../domain/errors.js";
import type { ManagedKey } from "../../domain/managed-key.js";
import type { LifecycleDeps } from "../ports.js";

/** A concurrent writer makes a change read the key again this many times before giving up. */
const MAX_ATTEMPTS = 5;

/**
 * Applies `change` to the key and saves it with the store's version check; on a concurrent write (a policy
 * change, a sweep's record) reads the key again and applies the change to what is there now. A change
 * that returns the key it was given is not saved.
 * @throws VersionConflictError after repeated concurrent changes; NotFoundError when the key went away
 */
export async function saveKeyChange(
  deps: LifecycleDeps,
  key: ManagedKey,
  change: (key: ManagedKey) => ManagedKey,
): Promise<ManagedKey> {
  let current = key;
  for (let attempt = 1; ; attempt++) {
    const next = change(current);
    if (next === current) return current;
    try {
      return await deps.keys.saveKey(next);
    } catch (error) {
      if (!(error instanceof VersionConflictError) || attempt >= MAX_ATTEMPTS) throw error;
      const again = await deps.keys.get(key.id);
      if (again === undefined) throw new NotFoundError("Managed key", key.id);
      current = again;
    }
  }
}
