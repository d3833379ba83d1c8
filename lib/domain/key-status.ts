import { StateConflictError, ValidationError } from "./errors.js";
import { checkRotationSchedule, type ImportPolicy } from "./import-policy.js";
import { KeyStatusState, type ManagedKey } from "./managed-key.js";
import { chooseWrapping } from "./wrapping.js";

/**
 * Key-level status transitions. Each returns a new ManagedKey (updatedAt = now) and leaves `version` to
 * the store, which compares and increments it on write.
 *
 *   active ──pause──▶ paused ──resume──▶ active
 *   active, paused ──revoke──▶ revoked ──restore──▶ active
 *
 * A revoked key is never re-imported or renewed until restored: that is what makes revoke a kill switch.
 */

/** Who asks for a status change and why (both recorded, both audited). */
export interface StatusRequest {
  readonly actor: string;
  readonly reason: string;
}

/** Who triggers an import: the sweep / event handler, or an operator through the API. */
export type ImportTrigger = "automatic" | "operator";

/**
 * Revokes a key: stops all automatic re-import. Idempotent — revoking a revoked key returns it unchanged,
 * so pressing the kill switch twice is safe (the use case still re-runs the deletions).
 * @throws ValidationError when actor or reason is empty
 */
export function revokeKey(key: ManagedKey, request: StatusRequest, now: Date): ManagedKey {
  checkRequest(request);
  if (key.status.state === KeyStatusState.Revoked) return key;
  return { ...key, status: { state: KeyStatusState.Revoked, ...request, at: now }, updatedAt: now };
}

/**
 * Restores a revoked key to active; the sweep then imports its material in every region.
 * @throws StateConflictError when the key is not revoked; ValidationError when actor or reason is empty
 */
export function restoreKey(key: ManagedKey, request: StatusRequest, now: Date): ManagedKey {
  checkRequest(request);
  if (key.status.state !== KeyStatusState.Revoked) {
    throw new StateConflictError(
      `Key ${key.id} is ${key.status.state}, not revoked: there is nothing to restore.`,
      {
        keyId: key.id,
        state: key.status.state,
      },
    );
  }
  return { ...key, status: { state: KeyStatusState.Active }, updatedAt: now };
}

/**
 * Pauses automatic actions on an active key (Tether still watches it).
 * @throws StateConflictError when the key is paused already or revoked; ValidationError on an empty actor/reason
 */
export function pauseKey(key: ManagedKey, request: StatusRequest, now: Date): ManagedKey {
  checkRequest(request);
  if (key.status.state !== KeyStatusState.Active) {
    throw new StateConflictError(`Key ${key.id} is ${key.status.state}; only an active key can be paused.`, {
      keyId: key.id,
      state: key.status.state,
    });
  }
  return { ...key, status: { state: KeyStatusState.Paused, ...request, at: now }, updatedAt: now };
}

/**
 * Resumes a paused key.
 * @throws StateConflictError when the key is not paused (a revoked key needs restore, not resume);
 *   ValidationError when actor or reason is empty
 */
export function resumeKey(key: ManagedKey, request: StatusRequest, now: Date): ManagedKey {
  checkRequest(request);
  if (key.status.state !== KeyStatusState.Paused) {
    const hint =
      key.status.state === KeyStatusState.Revoked ? " A revoked key is brought back with restore." : "";
    throw new StateConflictError(`Key ${key.id} is ${key.status.state}, not paused.${hint}`, {
      keyId: key.id,
      state: key.status.state,
    });
  }
  return { ...key, status: { state: KeyStatusState.Active }, updatedAt: now };
}

/**
 * Guards every import (initial, renew, restore). A revoked key is never imported into; a paused key only
 * by an operator's explicit request.
 * @throws StateConflictError naming why the import is refused
 */
export function assertImportAllowed(key: ManagedKey, trigger: ImportTrigger): void {
  if (key.status.state === KeyStatusState.Revoked) {
    throw new StateConflictError(
      `Key ${key.id} is revoked: its material is not imported or renewed until the key is restored.`,
      { keyId: key.id, state: key.status.state },
    );
  }
  if (key.status.state === KeyStatusState.Paused && trigger === "automatic") {
    throw new StateConflictError(`Key ${key.id} is paused: no automatic import.`, {
      keyId: key.id,
      state: key.status.state,
    });
  }
}

/**
 * Replaces a key's import policy and makes every region due now, so the new policy takes effect at the
 * next sweep.
 * @throws ValidationError (`wrappingAlgorithm`/`wrappingKeySpec`) when the policy's wrapping preference
 *   cannot carry this key's material; (`rotationMethod`) when it asks for in-key rotation of a key that is not symmetric
 */
export function changePolicy(key: ManagedKey, policy: ImportPolicy, now: Date): ManagedKey {
  chooseWrapping(key.keySpec, policy.wrapping);
  checkRotationSchedule(key.keySpec, policy);
  return {
    ...key,
    policy,
    regions: key.regions.map((region) => ({ ...region, nextCheckAt: now })),
    updatedAt: now,
  };
}

const MAX_REASON_LENGTH = 1024;

function checkRequest(request: StatusRequest): void {
  if (typeof request.actor !== "string" || request.actor.trim() === "") {
    throw new ValidationError("actor", "must name who asks");
  }
  if (typeof request.reason !== "string" || request.reason.trim() === "") {
    throw new ValidationError("reason", "must say why");
  }
  if (request.reason.length > MAX_REASON_LENGTH) {
    throw new ValidationError("reason", `must be at most ${MAX_REASON_LENGTH} characters`);
  }
}
