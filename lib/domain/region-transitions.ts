import type { DeleteRecord } from "./attribution.js";
import { ValidationError } from "./errors.js";
import { type ImportPolicy, Priority } from "./import-policy.js";
import { type ImportInFlight, LossCause, type ManagedKey, type RegionRecord } from "./managed-key.js";
import type { ObservedKeyState } from "./observed.js";
import { nextCheckAt, retryAt } from "./schedule.js";

/**
 * What happened in one region, applied to its record. Each returns a new record; none touches the
 * others. Use with withRegion() to put the result back into the key.
 */

/**
 * A successful import (initial, renew or restore): material expected, loss forgotten, failures reset,
 * next check from the new ValidTo.
 * @throws ValidationError (`validTo`) when validTo is not after importedAt
 */
export function recordImport(
  region: RegionRecord,
  imported: { readonly at: Date; readonly validTo: Date | undefined },
  policy: ImportPolicy,
): RegionRecord {
  if (imported.validTo !== undefined && imported.validTo.getTime() <= imported.at.getTime()) {
    throw new ValidationError("validTo", "must be after the import time");
  }
  return {
    ...region,
    materialExpected: true,
    lastImportedAt: imported.at,
    importedValidTo: imported.validTo,
    lossCause: undefined,
    lossDetectedAt: undefined,
    unexplainedSince: undefined,
    deletedBy: undefined,
    deletedAt: undefined,
    deletedFrom: undefined,
    lossAlerted: undefined,
    consecutiveFailures: 0,
    lastFailure: undefined,
    importInFlight: undefined,
    nextCheckAt: nextCheckAt(policy, imported.validTo, imported.at),
  };
}

/**
 * Material confirmed gone (an event, or Tether's own deletion on revoke). The region is due now so the
 * decision table runs on it at the next sweep (which restores, alerts or stands still).
 */
export function recordLoss(
  region: RegionRecord,
  cause: LossCause,
  now: Date,
  deletedBy?: DeleteRecord,
): RegionRecord {
  return {
    ...region,
    materialExpected: false,
    lossCause: cause,
    lossDetectedAt: region.lossCause === cause ? (region.lossDetectedAt ?? now) : now,
    nextCheckAt: now,
    ...(deletedBy === undefined ? {} : attributedTo(deletedBy)),
  };
}

/** The delete CloudTrail attributes the loss to (who, when, from where). */
export function attributedTo(deletedBy: DeleteRecord): Partial<RegionRecord> {
  return { deletedBy: deletedBy.principal, deletedAt: deletedBy.at, deletedFrom: deletedBy.sourceIp };
}

/**
 * Material found gone with nothing to explain it (lib/domain/attribution.ts): remembered from the first
 * sight, which starts the attribution grace. Tether then no longer expects the material.
 */
export function recordUnexplainedLoss(region: RegionRecord, now: Date): RegionRecord {
  if (region.unexplainedSince !== undefined) return region;
  // A revoke on record (an operator's restore pending, its import gone again) keeps its time: whether a
  // delete came after the revoke is read from it (attribution.ts deletedSinceRevoke, staleExpiryEvent).
  const lossDetectedAt =
    region.lossCause === LossCause.RevokedByTether ? (region.lossDetectedAt ?? now) : now;
  return { ...region, materialExpected: false, unexplainedSince: now, lossDetectedAt };
}

/** The alert reason raised for the current loss (so later visits do not page again). */
export function recordLossAlerted(region: RegionRecord, reason: string): RegionRecord {
  return { ...region, lossAlerted: reason };
}

/**
 * A failed attempt (import, delete, describe): count it and back off. `errorName` is the error class
 * name (e.g. KmsThrottledError), never its message.
 */
export function recordFailure(
  region: RegionRecord,
  errorName: string,
  policy: ImportPolicy,
  now: Date,
): RegionRecord {
  const consecutiveFailures = region.consecutiveFailures + 1;
  return {
    ...region,
    consecutiveFailures,
    lastFailure: errorName,
    nextCheckAt: retryAt(consecutiveFailures, policy, now),
  };
}

/** What DescribeKey said, and when (for the API and for diagnosing drift later). */
export function recordObservation(region: RegionRecord, observed: ObservedKeyState, now: Date): RegionRecord {
  return {
    ...region,
    lastObservedKeyState: observed.found ? observed.keyState : "NotFound",
    lastObservedAt: now,
  };
}

/** Sets when the sweep looks at this region next (from a none/alert/standstill decision). */
export function scheduleCheck(region: RegionRecord, at: Date): RegionRecord {
  return { ...region, nextCheckAt: at };
}

/**
 * The record carrying its key's current priority, so saving it puts the Region in the right place in the
 * due-work index (RegionRecord.priority): a run does this first, whatever the record said before.
 */
export function withKeyPriority(region: RegionRecord, key: Pick<ManagedKey, "policy">): RegionRecord {
  // Normal is written as no priority at all, as Regions were before priorities: one spelling per place.
  const priority = key.policy.priority === Priority.Normal ? undefined : key.policy.priority;
  return region.priority === priority ? region : { ...region, priority };
}

/** An import is about to be sent to KMS (see RegionRecord.importInFlight). */
export function recordImportStarted(region: RegionRecord, intent: ImportInFlight): RegionRecord {
  return { ...region, importInFlight: intent };
}

/** The import in flight did not happen (KMS does not show it) or failed for a known reason. */
export function clearImportInFlight(region: RegionRecord): RegionRecord {
  return { ...region, importInFlight: undefined };
}
