import { type AlertFinding, AlertReason, AlertSeverity } from "./alerts.js";
import { MINUTE_MS } from "./duration.js";
import type { ImportPolicy } from "./import-policy.js";
import { LossCause, type RegionRecord } from "./managed-key.js";

/**
 * Why a key's material is gone, and what to do about it: the rules of README's table "Why
 * material is gone (attribution)". The decision table (decision.ts) asks here whenever an active key's
 * material is missing in a Region (KMS reports PendingImport). Pure and total: no clock, no I/O.
 *
 * | evidence                                              | cause               | action                                   |
 * |-------------------------------------------------------|---------------------|------------------------------------------|
 * | Tether's own revoke (recorded, or its own CloudTrail) | revoked             | never restore until an operator restores |
 * | past the recorded ValidTo                             | expired             | restore if restoreAfterLoss              |
 * | the Region's sentinel lost its material too           | regional loss       | restore if restoreAfterLoss (no per-key alert: the incident has one) |
 * | a CloudTrail delete by someone else (event or lookup) | out-of-band delete  | alert naming the principal; restore only if restoreAfterOutOfBandDelete |
 * | none of the above, sentinel intact (or not known)     | unexplained         | critical alert at once; wait, looking for evidence, until the attribution grace ends |
 * | still nothing when the grace has ended                | local loss          | restore if restoreAfterLoss, alerting that it could not be attributed |
 */

/** What the probe last saw of the Region's sentinel key. Unknown (no sentinel) never proves a regional loss. */
export const SentinelHealth = {
  Intact: "intact",
  Lost: "lost",
  Unknown: "unknown",
} as const;
export type SentinelHealth = (typeof SentinelHealth)[keyof typeof SentinelHealth];

/** Who deleted the material, as a CloudTrail record (an EventBridge event or a LookupEvents result) says. */
export interface DeleteRecord {
  /** DeleteImportedKeyMaterial, ScheduleKeyDeletion, ... */
  readonly eventName: string;
  /** The caller's ARN (userIdentity.arn, or invokedBy for a service). */
  readonly principal: string;
  /** CloudTrail's eventTime. */
  readonly at: Date;
  /** CloudTrail's sourceIPAddress, when it gives one. */
  readonly sourceIp?: string | undefined;
}

/** What Tether found about who removed the material this time: nothing (yet), Tether itself, or someone else. */
export type LossEvidence =
  | { readonly kind: "none" }
  | ({ readonly kind: "tether" } & DeleteRecord)
  | ({ readonly kind: "out-of-band" } & DeleteRecord);

export const NO_EVIDENCE: LossEvidence = { kind: "none" };

/** The causes the rules tell apart. */
export const AttributedCause = {
  NeverImported: "never-imported",
  Revoked: "revoked",
  Expired: "expired",
  RegionalLoss: "regional-loss",
  OutOfBand: "out-of-band",
  Unexplained: "unexplained",
  LocalLoss: "local-loss",
} as const;
export type AttributedCause = (typeof AttributedCause)[keyof typeof AttributedCause];

export interface LossAttribution {
  readonly cause: AttributedCause;
  /** What to record as the Region's loss cause; undefined while unexplained and for a first import. */
  readonly lossCause: LossCause | undefined;
  /** restore: import now; wait: look again at waitUntil; alert-only: people decide. */
  readonly action: "restore" | "wait" | "alert-only";
  /** What to tell people (once per loss and reason: the caller keeps track). */
  readonly alert?: AlertFinding | undefined;
  /** With `wait`: when to look again (the next lookup, at the latest when the grace ends). */
  readonly waitUntil?: Date | undefined;
  /** With an unexplained loss: when the grace ends (or ended). */
  readonly graceEndsAt?: Date | undefined;
  /** With `out-of-band`: who did it. */
  readonly deletedBy?: DeleteRecord | undefined;
  /** One line, for the log and the alert's summary. */
  readonly detail: string;
}

export interface AttributionInput {
  /** Tether's record of the key in this Region (its recorded loss cause, ValidTo, first sight, evidence). */
  readonly region: RegionRecord;
  /** The Region's sentinel as the probe last saw it (lost: a regional-loss incident is open). */
  readonly sentinel: SentinelHealth;
  /** What CloudTrail said now (an event or a lookup); the record's stored evidence counts too. */
  readonly evidence: LossEvidence;
  readonly policy: ImportPolicy;
  readonly now: Date;
  /**
   * An import this Region's record announced (a crash left it unconfirmed) is not in KMS, which shows no
   * material: it may never have been sent, or it happened and the material was deleted since.
   */
  readonly importUnconfirmed?: boolean | undefined;
}

/** While an unexplained loss waits, Tether looks in CloudTrail again this often (LookupEvents is 2/s). */
export const ATTRIBUTION_LOOKUP_INTERVAL_MS = MINUTE_MS;

/**
 * Why an active key's material is missing in one Region and what to do. The first rule that matches wins:
 * a revoke recorded by Tether (unless someone else deleted the material after it: deletedSinceRevoke);
 * a delete attributed to someone else; a delete by Tether's own principal
 * with no revoke recorded; a cause recorded before (an expiry event, an incident, a grace that ended);
 * never imported; past the recorded ValidTo; the sentinel lost; otherwise unexplained until the grace
 * ends, then a local loss.
 */
export function attributeLoss(input: AttributionInput): LossAttribution {
  const { region, policy, now } = input;
  const evidence = storedEvidence(region, input.evidence);
  const recorded = region.lossCause;

  if (recorded === LossCause.RevokedByTether && !deletedSinceRevoke(region, evidence)) {
    // An active key with Tether's revoke on record: an operator restored it (restore sets it active).
    if (restoreMayHaveBeenUndone(input)) return restoreUndoneUnexplained(region, policy, now);
    return {
      cause: AttributedCause.Revoked,
      lossCause: recorded,
      action: "restore",
      detail: "restore requested after a revoke; importing",
    };
  }
  if (evidence.kind === "out-of-band" || recorded === LossCause.DeletedOutOfBand) {
    return outOfBand(policy, evidence.kind === "out-of-band" ? evidence : undefined);
  }
  if (evidence.kind === "tether") {
    return {
      cause: AttributedCause.Revoked,
      lossCause: LossCause.RevokedByTether,
      action: "alert-only",
      deletedBy: withoutKind(evidence),
      alert: {
        severity: AlertSeverity.Critical,
        reason: AlertReason.MaterialLostNotRestored,
        summary: `material deleted by Tether's own principal ${evidence.principal} at ${evidence.at.toISOString()} with no revoke recorded; not restoring`,
      },
      detail: `material deleted by Tether's own principal ${evidence.principal} with no revoke recorded`,
    };
  }
  if (recorded === LossCause.Expired) return afterLoss(policy, AttributedCause.Expired, "material expired");
  if (recorded === LossCause.RegionalLoss) return regional(policy);
  if (recorded === LossCause.LocalLoss) return local(policy);
  if (region.lastImportedAt === undefined) {
    return {
      cause: AttributedCause.NeverImported,
      lossCause: undefined,
      action: "restore",
      detail: "material never imported here; importing",
    };
  }
  if (region.importedValidTo !== undefined && region.importedValidTo.getTime() <= now.getTime()) {
    return afterLoss(policy, AttributedCause.Expired, "material expired");
  }
  if (input.sentinel === SentinelHealth.Lost) return regional(policy);
  return unexplained(region, policy, now);
}

/**
 * Whether a delete by someone else came after Tether's recorded revoke of an active key, that is while an
 * operator's restore is pending in this Region (restore sets the key active; the Region keeps the revoke as
 * its loss cause until the import is recorded). The operator's restore authorised bringing back what the
 * revoke removed, not undoing a kill switch pulled after it: such a delete is an out-of-band delete like
 * any other, and the policy decides (the operator may restore again, which overrides it). A delete older
 * than the revoke is what the revoke, and then the restore, superseded. CloudTrail's eventTime has whole
 * seconds (rounded down), so a delete in the revoke's own second counts as after it: the doubt keeps the
 * material gone. No revoke time recorded: after it, for the same reason.
 */
export function deletedSinceRevoke(region: RegionRecord, evidence: LossEvidence): boolean {
  if (region.lossCause !== LossCause.RevokedByTether || evidence.kind !== "out-of-band") return false;
  const revokedAt = region.lossDetectedAt;
  if (revokedAt === undefined) return true;
  return evidence.at.getTime() >= Math.floor(revokedAt.getTime() / 1000) * 1000;
}

/**
 * A pending operator's restore whose import a crash left unconfirmed, with KMS showing no material: the
 * import may have happened and someone deleted the material since, a kill switch the restore did not
 * authorise, whose CloudTrail record may come minutes later or never. So the loss is unexplained like any
 * other (alert, look, wait the grace), from this sight on (unexplainedSince, set after the revoke) until
 * the grace ends; then the operator's restore goes on. An operator asking again restores at once.
 */
function restoreMayHaveBeenUndone(input: AttributionInput): boolean {
  const { region } = input;
  if (input.importUnconfirmed === true) return true;
  const since = region.unexplainedSince;
  const revokedAt = region.lossDetectedAt;
  return since !== undefined && (revokedAt === undefined || since.getTime() >= revokedAt.getTime());
}

function restoreUndoneUnexplained(region: RegionRecord, policy: ImportPolicy, now: Date): LossAttribution {
  const since = region.unexplainedSince ?? now;
  const graceEndsAt = new Date(since.getTime() + policy.attributionGraceMs);
  if (now.getTime() >= graceEndsAt.getTime()) {
    return {
      cause: AttributedCause.Revoked,
      lossCause: LossCause.RevokedByTether,
      action: "restore",
      graceEndsAt,
      detail:
        "restore requested after a revoke; the material it may have imported before a crash is gone and no delete was found within the attribution grace; importing",
    };
  }
  const detail = `material gone again during an operator's restore after a revoke (an import a crash left unconfirmed; first seen ${since.toISOString()}); looking for who deleted it until ${graceEndsAt.toISOString()}`;
  return waitForEvidence(graceEndsAt, now, `Unexplained Material Loss: ${detail}`, detail);
}

/** Unexplained for now: a critical alert, and another look at each visit until the grace ends. */
function waitForEvidence(graceEndsAt: Date, now: Date, summary: string, detail: string): LossAttribution {
  const waitUntil = new Date(Math.min(graceEndsAt.getTime(), now.getTime() + ATTRIBUTION_LOOKUP_INTERVAL_MS));
  return {
    cause: AttributedCause.Unexplained,
    lossCause: undefined,
    action: "wait",
    waitUntil,
    graceEndsAt,
    alert: { severity: AlertSeverity.Critical, reason: AlertReason.UnexplainedMaterialLoss, summary },
    detail,
  };
}

/** The record's own evidence (a delete attributed earlier) unless this call brought some. */
function storedEvidence(region: RegionRecord, evidence: LossEvidence): LossEvidence {
  if (evidence.kind !== "none") return evidence;
  if (region.lossCause === LossCause.DeletedOutOfBand && region.deletedBy !== undefined) {
    return {
      kind: "out-of-band",
      eventName: "DeleteImportedKeyMaterial",
      principal: region.deletedBy,
      at: region.deletedAt ?? region.lossDetectedAt ?? new Date(0),
      sourceIp: region.deletedFrom,
    };
  }
  return evidence;
}

function outOfBand(policy: ImportPolicy, record: DeleteRecord | undefined): LossAttribution {
  const who =
    record === undefined
      ? "someone other than Tether"
      : `${record.principal} (${record.eventName} at ${record.at.toISOString()}${record.sourceIp === undefined ? "" : ` from ${record.sourceIp}`})`;
  const restore = policy.restoreAfterOutOfBandDelete;
  return {
    cause: AttributedCause.OutOfBand,
    lossCause: LossCause.DeletedOutOfBand,
    action: restore ? "restore" : "alert-only",
    deletedBy: record === undefined ? undefined : withoutKind(record),
    alert: {
      severity: restore ? AlertSeverity.Warning : AlertSeverity.Critical,
      reason: AlertReason.DeletedOutOfBand,
      summary: restore
        ? `material deleted outside Tether by ${who}; restoring (policy restoreAfterOutOfBandDelete)`
        : `material deleted outside Tether by ${who}; the policy says not to restore it automatically`,
    },
    detail: `material deleted outside Tether by ${who}`,
  };
}

function regional(policy: ImportPolicy): LossAttribution {
  // No per-key alert: the incident raised one for the whole Region.
  return afterLoss(
    policy,
    AttributedCause.RegionalLoss,
    "material lost in a region-wide loss (the Region's sentinel lost its material too)",
  );
}

function local(policy: ImportPolicy): LossAttribution {
  const detail =
    "material lost before its ValidTo and the loss could not be attributed (no CloudTrail record of a delete within the attribution grace)";
  return {
    ...afterLoss(policy, AttributedCause.LocalLoss, detail),
    alert: {
      severity: policy.restoreAfterLoss ? AlertSeverity.Warning : AlertSeverity.Critical,
      reason: AlertReason.LossNotAttributed,
      summary: policy.restoreAfterLoss
        ? `${detail}; restoring (local loss)`
        : `${detail}; the policy says not to restore it automatically`,
    },
  };
}

/** Expired, regional or local: restoreAfterLoss decides. */
function afterLoss(
  policy: ImportPolicy,
  cause:
    | typeof AttributedCause.Expired
    | typeof AttributedCause.RegionalLoss
    | typeof AttributedCause.LocalLoss,
  what: string,
): LossAttribution {
  const lossCause =
    cause === AttributedCause.Expired
      ? LossCause.Expired
      : cause === AttributedCause.RegionalLoss
        ? LossCause.RegionalLoss
        : LossCause.LocalLoss;
  if (policy.restoreAfterLoss) return { cause, lossCause, action: "restore", detail: `${what}; restoring` };
  return {
    cause,
    lossCause,
    action: "alert-only",
    alert: {
      severity: AlertSeverity.Critical,
      reason: AlertReason.MaterialLostNotRestored,
      summary: `${what}; the policy says not to restore it automatically`,
    },
    detail: what,
  };
}

/** Nothing explains the loss: alert (at first sight), look for evidence until the grace ends, then act. */
function unexplained(region: RegionRecord, policy: ImportPolicy, now: Date): LossAttribution {
  const since = region.unexplainedSince ?? now;
  const graceEndsAt = new Date(since.getTime() + policy.attributionGraceMs);
  if (now.getTime() >= graceEndsAt.getTime()) return { ...local(policy), graceEndsAt };
  return waitForEvidence(
    graceEndsAt,
    now,
    `Unexplained Material Loss: material gone before its ValidTo, the Region's sentinel intact, no Tether action; looking in CloudTrail for who deleted it until ${graceEndsAt.toISOString()}`,
    `material gone before its ValidTo with nothing to explain it (first seen ${since.toISOString()}); looking for the cause until ${graceEndsAt.toISOString()}`,
  );
}

function withoutKind(evidence: DeleteRecord & { kind?: string }): DeleteRecord {
  return {
    eventName: evidence.eventName,
    principal: evidence.principal,
    at: evidence.at,
    sourceIp: evidence.sourceIp,
  };
}

/**
 * Whether a `KMS Imported Key Material Expiration` (or CloudTrail's DeleteExpiredKeyMaterial) delivered now
 * is about material this key-Region no longer holds. KMS sends it when it deletes material at its ValidTo,
 * and Tether sets every ValidTo at least the minimum validity (PT1H) after the import it records, so an
 * expiry of the current material is never older than the Region's last import: one that is (a restore or
 * renewal since; a duplicate delivery of the event that restored it) is a late event about earlier
 * material, and so is one older than a delete or revoke Tether recorded. Read as an expiry it would undo a
 * kill switch pulled after that restore. It still makes Tether look at the key (as any KMS event does),
 * without the expiry as the cause.
 *
 * No tolerance is needed: the event's time is whole seconds rounded down, which only makes an old event
 * older. The bound is the last import rather than the recorded ValidTo: an expiry older than the recorded
 * ValidTo is just as impossible in AWS, but a clock set back (the local AWS allows it; see the kms-events
 * handler test) makes a real expiry look older than its ValidTo, never older than the import that set it.
 */
export function staleExpiryEvent(region: RegionRecord, eventAt: Date | undefined): boolean {
  if (eventAt === undefined) return false;
  const before = (instant: Date | undefined) =>
    instant !== undefined && eventAt.getTime() < instant.getTime();
  if (before(region.lastImportedAt)) return true;
  if (region.lossCause === LossCause.DeletedOutOfBand && before(region.deletedAt)) return true;
  return region.lossCause === LossCause.RevokedByTether && before(region.lossDetectedAt);
}
