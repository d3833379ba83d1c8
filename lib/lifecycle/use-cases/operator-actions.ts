import { NotFoundError } from "../../domain/errors.js";
import { assertImportAllowed, restoreKey, revokeKey } from "../../domain/key-status.js";
import { KeyStatusState, type ManagedKey } from "../../domain/managed-key.js";
import { saveKeyChange } from "../helpers/save-key.js";
import type { LifecycleDeps } from "../ports.js";
import { type RegionOutcome, reconcileWhenFree, type Trigger } from "../region/reconcile-region.js";

export interface OperatorRequest {
  /** A Tether id, a key ARN or an alias. */
  readonly key: string;
  readonly actor: string;
  readonly correlationId: string;
}

export interface OperatorResult {
  readonly key: ManagedKey;
  readonly regions: Readonly<Record<string, RegionOutcome>>;
}

/**
 * The kill switch: marks the key revoked first (from then on nothing imports it automatically), then
 * deletes the imported material in every Region. Pressing it twice is safe. A Region another worker holds
 * is retried briefly; if it stays busy, the next sweep finishes the revoke there (the decision table says
 * "revoke" for material present on a revoked key).
 * @throws NotFoundError; ValidationError when the reason is empty
 */
export async function revoke(
  deps: LifecycleDeps,
  request: OperatorRequest & { reason: string },
): Promise<OperatorResult> {
  const key = await updateKey(deps, request.key, (current) =>
    revokeKey(current, { reason: request.reason, actor: request.actor }, deps.clock()),
  );
  return everyRegion(deps, key, { actor: request.actor, correlationId: request.correlationId });
}

/**
 * Restores: a revoked key becomes active again, and in every Region material that is missing is imported
 * from the vault — including after an out-of-band deletion the policy would not restore on its own.
 * @throws NotFoundError; StateConflictError when the key is paused; ValidationError when the reason is empty
 */
export async function restore(
  deps: LifecycleDeps,
  request: OperatorRequest & { reason: string },
): Promise<OperatorResult> {
  const key = await updateKey(deps, request.key, (current) => {
    if (current.status.state === KeyStatusState.Revoked) {
      return restoreKey(current, { reason: request.reason, actor: request.actor }, deps.clock());
    }
    assertImportAllowed(current, "operator");
    return current;
  });
  return everyRegion(deps, key, {
    actor: request.actor,
    correlationId: request.correlationId,
    operator: "restore",
  });
}

/**
 * Re-imports now in every Region (moving ValidTo forward), whatever the schedule says.
 * @throws NotFoundError; StateConflictError when the key is revoked
 */
export async function reimport(deps: LifecycleDeps, request: OperatorRequest): Promise<OperatorResult> {
  const key = await loadKey(deps, request.key);
  assertImportAllowed(key, "operator");
  return everyRegion(deps, key, {
    actor: request.actor,
    correlationId: request.correlationId,
    operator: "reimport",
  });
}

/** Resolves a Tether id, key ARN or alias to the managed key. @throws NotFoundError */
export async function loadKey(deps: LifecycleDeps, reference: string): Promise<ManagedKey> {
  const id = await deps.keys.resolve(reference);
  const key = id === undefined ? undefined : await deps.keys.get(id);
  if (key === undefined) throw new NotFoundError("Managed key", reference);
  return key;
}

/** Read, change, write with the version check; a concurrent writer makes it read again (a few times). */
async function updateKey(
  deps: LifecycleDeps,
  reference: string,
  change: (key: ManagedKey) => ManagedKey,
): Promise<ManagedKey> {
  return saveKeyChange(deps, await loadKey(deps, reference), change);
}

async function everyRegion(deps: LifecycleDeps, key: ManagedKey, trigger: Trigger): Promise<OperatorResult> {
  const regions: Record<string, RegionOutcome> = {};
  for (const record of key.regions) {
    const outcome = await reconcileWhenFree(deps, key.id, record.region, trigger);
    regions[record.region] = outcome;
  }
  return { key: (await deps.keys.get(key.id)) ?? key, regions };
}
