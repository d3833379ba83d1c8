import { MINUTE_MS } from "./duration.js";
import { RotationMethod, rotationMethodOf } from "./import-policy.js";
import { KeySpec, MAX_ON_DEMAND_ROTATIONS } from "./kms-constants.js";
import { KeyStatusState, keyMaterials, type ManagedKey, type RegionRecord } from "./managed-key.js";

/**
 * When the key's current material became current: the rotation that made it current, or, for a key never
 * rotated, its registration (Tether imports the first material right after registering the key).
 */
export function currentMaterialSince(key: ManagedKey): Date {
  const materials = keyMaterials(key);
  return materials[materials.length - 1]?.rotatedAt ?? key.createdAt;
}

/**
 * When the policy's rotation schedule wants the next rotation; undefined when the key has no schedule, was
 * superseded by a key swap (its successor carries the schedule on), or is to be rotated in-key and cannot
 * be (not symmetric, or at AWS's limit).
 */
export function rotationDueAt(key: ManagedKey): Date | undefined {
  const every = key.policy.rotateEveryMs;
  if (every === undefined || key.supersededBy !== undefined) return undefined;
  const inKey =
    key.pendingSwap === undefined && rotationMethodOf(key.keySpec, key.policy) === RotationMethod.InKey;
  if (inKey && key.keySpec !== KeySpec.SYMMETRIC_DEFAULT) return undefined;
  // At AWS's limit of on-demand rotations the in-key schedule ends: rotateKey would only refuse (and
  // alert) every retry. Tether already alerted when the limit was reached and warned from the 20th.
  if (inKey && keyMaterials(key).length - 1 >= MAX_ON_DEMAND_ROTATIONS && key.pendingRotation === undefined) {
    return undefined;
  }
  return new Date(currentMaterialSince(key).getTime() + every);
}

/**
 * Whether the sweep should rotate the key now: it has a schedule it can keep, is active (a paused or
 * revoked key is left alone), and its current material has been current for the scheduled time. A
 * rotation that was started and not finished keeps it due, so the next sweep finishes it.
 */
export function rotationDue(key: ManagedKey, now: Date): boolean {
  if (key.status.state !== KeyStatusState.Active) return false;
  const dueAt = rotationDueAt(key);
  return dueAt !== undefined && dueAt.getTime() <= now.getTime();
}

/** A due rotation that could not be made is tried again this soon (capped by the reconcile interval). */
export const ROTATION_RETRY_MS = 15 * MINUTE_MS;

/**
 * The primary's record with its next check no later than the key's next scheduled rotation, so the
 * due-work index brings the key back on time; once due (a rotation failed, or is about to be made), no
 * later than a retry interval ahead. Replicas, keys without a schedule and paused or revoked keys keep
 * their schedule.
 */
export function scheduleRotationCheck(key: ManagedKey, record: RegionRecord, now: Date): RegionRecord {
  const dueAt = rotationDueAt(key);
  if (dueAt === undefined || record.region !== key.primaryRegion) return record;
  if (key.status.state !== KeyStatusState.Active) return record;
  const retryMs = Math.min(ROTATION_RETRY_MS, key.policy.reconcileIntervalMs);
  const wanted = dueAt.getTime() > now.getTime() ? dueAt.getTime() : now.getTime() + retryMs;
  return wanted < record.nextCheckAt.getTime() ? { ...record, nextCheckAt: new Date(wanted) } : record;
}
