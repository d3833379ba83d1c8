/**
 * The rules a region run applies around the decision table (decision.ts): what an operator's request
 * changes in a decision, which losses an event may record, which failures and findings page someone and
 * as what, and when an import counts as done. Pure: lib/lifecycle/region/reconcile-region.ts reads, calls these,
 * acts and records.
 */
import { type AlertFinding, AlertReason, AlertSeverity } from "./alerts.js";
import type { LossEvidence } from "./attribution.js";
import { staleExpiryEvent } from "./attribution.js";
import { type AlertEvent, AuditDetailType, type FactDetailType } from "./audit-types.js";
import { decide, FAILURES_AWAITING_OPERATOR, type RegionDecision } from "./decision.js";
import { CheckValueMismatchError, errorName, IncorrectKeyMaterialError, VaultError } from "./errors.js";
import { sameValidTo } from "./import-policy.js";
import { KeyState } from "./kms-constants.js";
import { type ImportInFlight, LossCause, type ManagedKey, type RegionRecord } from "./managed-key.js";
import type { ObservedKeyState } from "./observed.js";
import { recordLoss } from "./region-transitions.js";
import { rotationDue } from "./rotation-schedule.js";

/**
 * An operator's explicit request: import now even if nothing is due ("reimport"), or restore material that
 * policy would not restore automatically ("restore").
 */
export type OperatorRequest = "reimport" | "restore";

/** Reasons of losses an operator may have restored although policy leaves them to people. */
const OPERATOR_RESTORABLE: readonly string[] = [
  AlertReason.DeletedOutOfBand,
  AlertReason.MaterialLostNotRestored,
  AlertReason.LossNotAttributed,
];

/**
 * An operator's request widens what the table allows: never for a revoked or paused-by-policy key. A
 * standstill awaiting an operator is decided again as if the refused attempt had not happened (the operator
 * says the vault is fixed); a reimport renews present, enabled material; a restore (or any request, for a
 * loss policy leaves to people) restores; a paused key's missing material is restored.
 */
export function applyOperatorRequest(
  decision: RegionDecision,
  operator: OperatorRequest | undefined,
  key: ManagedKey,
  record: RegionRecord,
  observed: ObservedKeyState,
  now: Date,
): RegionDecision {
  if (operator === undefined) return decision;
  if (decision.kind === "standstill" && decision.reason === "awaiting-operator") {
    const afresh = decide(key, { ...record, lastFailure: undefined }, observed, now);
    return applyOperatorRequest(afresh, operator, key, record, observed, now);
  }
  const enabled = observed.found && observed.keyState === KeyState.Enabled;
  if (operator === "reimport" && decision.kind === "none" && enabled) {
    return {
      kind: "renew",
      currentValidTo: observed.found ? observed.validTo : undefined,
      overdue: false,
      summary: "re-import requested by an operator",
    };
  }
  if (
    (decision.kind === "alert" && OPERATOR_RESTORABLE.includes(decision.reason)) ||
    (decision.kind === "attributing" && operator === "restore")
  ) {
    return {
      kind: "restore",
      cause: LossCause.DeletedOutOfBand,
      unplannedExpiry: false,
      summary: "restore requested by an operator",
    };
  }
  const pendingImport = observed.found && observed.keyState === KeyState.PendingImport;
  if (decision.kind === "standstill" && decision.reason === "paused" && pendingImport) {
    return {
      kind: "restore",
      cause: LossCause.RegionalLoss,
      unplannedExpiry: false,
      summary: "restore of a paused key requested by an operator",
    };
  }
  return decision;
}

/** A loss an event told the run about (expiry, out-of-band deletion), with when and who. */
export interface KnownLoss {
  readonly cause?: LossCause | undefined;
  /** When the event says the expiry happened: a late one older than the last import is not recorded. */
  readonly at?: Date | undefined;
  /** Who removed the material, from a CloudTrail event. */
  readonly evidence?: LossEvidence | undefined;
}

/**
 * Whether an event's cause may be recorded: the material was expected, or it is missing with its cause not
 * known yet (unexplained) or only concluded for want of evidence (a local loss). A recorded revoke, expiry,
 * regional loss or out-of-band delete stays.
 */
export function lossOpenToCause(record: RegionRecord): boolean {
  return (
    record.materialExpected || record.lossCause === undefined || record.lossCause === LossCause.LocalLoss
  );
}

/**
 * The record with an event's loss applied, before KMS is read: not when the cause is already settled, nor
 * for a late expiry event about earlier material (`staleExpiry`, which the caller reports).
 */
export function applyKnownLoss(
  record: RegionRecord,
  loss: KnownLoss,
  now: Date,
): { readonly record: RegionRecord; readonly staleExpiry: boolean } {
  const staleExpiry = loss.cause === LossCause.Expired && staleExpiryEvent(record, loss.at);
  if (loss.cause === undefined || !lossOpenToCause(record) || staleExpiry) return { record, staleExpiry };
  const deletedBy = loss.evidence?.kind === "none" ? undefined : loss.evidence;
  return { record: recordLoss(record, loss.cause, now, deletedBy), staleExpiry };
}

/**
 * An out-of-band delete's record that arrived after the material came back (Tether's restore since, or an
 * import outside it; a duplicate delivery of a record already settled): KMS holds enabled material now, so
 * recording the delete would mark present material as gone for good.
 */
export function deleteContradictedByKms(loss: KnownLoss, observed: ObservedKeyState): boolean {
  return (
    loss.cause === LossCause.DeletedOutOfBand && observed.found && observed.keyState === KeyState.Enabled
  );
}

/** Whether KMS shows an import with this ValidTo as done: the key enabled, its ValidTo the one sent. */
export function importConfirmed(observed: ObservedKeyState, validTo: Date | undefined): boolean {
  return observed.found && observed.keyState === KeyState.Enabled && sameValidTo(observed.validTo, validTo);
}

/**
 * A run found an import intent (a crashed import) and KMS shows no material: the import may never have
 * happened, or it happened and someone deleted the material since. Attribution treats that as unexplained
 * (alert, CloudTrail, grace) before an operator's restore goes on (attribution.ts).
 */
export function importLeftUnconfirmed(
  intent: ImportInFlight | undefined,
  observed: ObservedKeyState,
): boolean {
  return intent !== undefined && observed.found && observed.keyState === KeyState.PendingImport;
}

/** After this many failures in a row an import problem pages someone. */
export const ALERT_AFTER_FAILURES = 3;

/** Which failures page someone, and how loudly. */
export function failureFinding(
  error: unknown,
  record: RegionRecord,
  key: ManagedKey,
): AlertFinding | undefined {
  const where = `key ${key.id} in ${record.region}`;
  const name = errorName(error);
  if (error instanceof IncorrectKeyMaterialError) {
    return {
      severity: AlertSeverity.Critical,
      reason: AlertReason.IncorrectKeyMaterial,
      summary: `${where}: KMS refused the vault's material as not this key's material; not retrying on its own`,
    };
  }
  if (error instanceof CheckValueMismatchError) {
    return {
      severity: AlertSeverity.Critical,
      reason: AlertReason.CheckValueMismatch,
      summary: `${where}: the vault's material does not match the recorded check value; nothing imported`,
    };
  }
  if (FAILURES_AWAITING_OPERATOR.includes(name) && error instanceof VaultError) {
    return {
      severity: AlertSeverity.Critical,
      reason: AlertReason.MaterialUnfit,
      summary: `${where}: the vault's material cannot go into this key (${name}); not retrying on its own`,
    };
  }
  const repeated = record.consecutiveFailures >= ALERT_AFTER_FAILURES;
  if (error instanceof VaultError) {
    return {
      severity: repeated ? AlertSeverity.Critical : AlertSeverity.Warning,
      reason: AlertReason.VaultUnavailable,
      summary: `${where}: the vault could not provide the material (${name})`,
    };
  }
  if (!repeated) return undefined;
  return {
    severity: AlertSeverity.Critical,
    reason: AlertReason.ImportFailing,
    summary: `${where}: ${record.consecutiveFailures} attempts in a row failed (last: ${name})`,
  };
}

/** Findings that are drift (KMS differs from what Tether made it), not Tether's own trouble. */
const DRIFT_REASONS: readonly string[] = [
  AlertReason.ValidToDrift,
  AlertReason.ExpirationModelDrift,
  AlertReason.DeletedOutOfBand,
  AlertReason.MaterialPresentAfterRevoke,
  AlertReason.KeySpecMismatch,
];

/**
 * The audit events a finding is told as: drift is a Drift Detected event, and drift that needs a human
 * (critical) an on-call Tether Alert as well; anything else is a Tether Alert.
 */
export function alertDetailTypes(finding: AlertFinding): AlertEvent["detailType"][] {
  if (!DRIFT_REASONS.includes(finding.reason)) return [AuditDetailType.TetherAlert];
  return finding.severity === AlertSeverity.Critical
    ? [AuditDetailType.DriftDetected, AuditDetailType.TetherAlert]
    : [AuditDetailType.DriftDetected];
}

/** Alerts about a loss Tether leaves to people: raised once per loss and reason. */
export function isLossAlert(reason: string): boolean {
  return OPERATOR_RESTORABLE.includes(reason);
}

/** A rotation still unfinished this long after it started is reported (it normally takes seconds). */
export const UNFINISHED_ROTATION_GRACE_MS = 15 * 60 * 1000;

/**
 * A rotation or key swap that started and did not finish (a crash between its steps), told once per visit
 * of the primary after the grace: calling rotate again finishes it.
 */
export function unfinishedRotationFinding(
  key: ManagedKey,
  record: RegionRecord,
  now: Date,
): AlertFinding | undefined {
  const pending = key.pendingRotation ?? key.pendingSwap;
  if (pending === undefined || record.region !== key.primaryRegion) return undefined;
  if (now.getTime() - pending.startedAt.getTime() < UNFINISHED_ROTATION_GRACE_MS) return undefined;
  const what = key.pendingRotation === undefined ? "key swap" : "rotation";
  return {
    severity: AlertSeverity.Warning,
    reason: AlertReason.RotationIncomplete,
    summary: `key ${key.id}: a ${what} started at ${pending.startedAt.toISOString()} by ${pending.actor} has not finished; call rotate again to finish it`,
  };
}

/** The warning for material that expired although the policy says Tether should have renewed it. */
export function unplannedExpiryFinding(summary: string): AlertFinding {
  return {
    severity: AlertSeverity.Warning,
    reason: AlertReason.ImportFailing,
    summary: `${summary} (the material expired before Tether renewed it)`,
  };
}

/** The fact an import of this kind is recorded as. */
export function importedDetailType(kind: ImportInFlight["kind"]): FactDetailType {
  if (kind === "import") return AuditDetailType.KeyMaterialImported;
  return kind === "renew" ? AuditDetailType.KeyMaterialRenewed : AuditDetailType.KeyMaterialRestored;
}

/** A run's outcome after an import of this kind. */
export function importOutcome(kind: ImportInFlight["kind"]): "imported" | "renewed" | "restored" {
  if (kind === "import") return "imported";
  return kind === "renew" ? "renewed" : "restored";
}

/** Outcomes after which the key is in order for a scheduled rotation. */
const ROTATABLE_OUTCOMES: readonly string[] = ["none", "imported", "renewed", "restored"];

/**
 * Whether a visit of `region` that ended in `outcome` leaves the key due for its scheduled rotation: only a
 * healthy visit of the primary of a key whose schedule is due.
 */
export function rotationDueAfter(key: ManagedKey, region: string, outcome: string, now: Date): boolean {
  return region === key.primaryRegion && ROTATABLE_OUTCOMES.includes(outcome) && rotationDue(key, now);
}
