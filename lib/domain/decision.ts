import { type AlertFinding, AlertReason, AlertSeverity } from "./alerts.js";
import {
  type AttributedCause,
  attributeLoss,
  type DeleteRecord,
  type LossEvidence,
  NO_EVIDENCE,
  SentinelHealth,
} from "./attribution.js";
import { SECOND_MS } from "./duration.js";
import {
  computeValidTo,
  type ExpiringImportPolicy,
  type ImportPolicy,
  policyEnded,
  sameValidTo,
  VALID_TO_TOLERANCE_MS,
} from "./import-policy.js";
import { ExpirationModel, KeyState } from "./kms-constants.js";
import {
  holdsMaterial,
  KeyStatusState,
  LossCause,
  type ManagedKey,
  type RegionRecord,
} from "./managed-key.js";
import { type KeyFound, KeyOrigin, type ObservedKeyState } from "./observed.js";
import { nextCheckAt, transientRecheckAt } from "./schedule.js";

/**
 * The decision table: Tether's record of a key + what DescribeKey says about one region + now → what to
 * do in that region. KMS is the truth about material; the record is Tether's intent and memory (why
 * material is gone, what ValidTo it sent). Pure and total: every input gives a decision, none throws.
 */
export type RegionDecision =
  | NoneDecision
  | RenewDecision
  | RestoreDecision
  | RevokeDecision
  | AlertDecision
  | StandstillDecision
  | AttributingDecision;

/** Nothing to do; look again at nextCheckAt (after now, at most one reconcile interval ahead). */
export interface NoneDecision {
  readonly kind: "none";
  readonly nextCheckAt: Date;
  readonly summary: string;
  /** Drift worth reporting that needs no action now (e.g. KMS's ValidTo is not the one Tether sent). */
  readonly warning?: AlertFinding | undefined;
}

/** Material present and due: re-import the same material with a ValidTo from the policy. */
export interface RenewDecision {
  readonly kind: "renew";
  /** The ValidTo KMS reports now (undefined when the material does not expire). */
  readonly currentValidTo: Date | undefined;
  /** ValidTo already passed but KMS has not deleted the material yet: renew before it does. */
  readonly overdue: boolean;
  readonly summary: string;
  /** Drift that this renewal also corrects (e.g. material imported without expiry against the policy). */
  readonly warning?: AlertFinding | undefined;
}

/** Why material is missing when Tether restores it: a loss, or a region never imported into. */
export type RestoreCause = LossCause | "never-imported";

/** Material missing where it should be: import it. */
export interface RestoreDecision {
  readonly kind: "restore";
  readonly cause: RestoreCause;
  /** The material expired although the policy says Tether should have renewed it: a missed renewal. */
  readonly unplannedExpiry: boolean;
  readonly summary: string;
  /** What to tell people as well (a loss that could not be attributed, an out-of-band delete restored). */
  readonly alert?: AlertFinding | undefined;
  /** Who deleted the material, when CloudTrail said. */
  readonly deletedBy?: DeleteRecord | undefined;
}

/**
 * Material gone with nothing to explain it (lib/domain/attribution.ts): Tether alerts once, looks in
 * CloudTrail for who deleted it, and decides again at nextCheckAt (at the latest when the grace ends).
 */
export interface AttributingDecision {
  readonly kind: "attributing";
  readonly nextCheckAt: Date;
  readonly graceEndsAt: Date;
  /** The critical Unexplained Material Loss alert (raised once: at first sight). */
  readonly alert: AlertFinding;
  readonly summary: string;
}

/** What Tether knows beyond the record and DescribeKey: the Region's sentinel and CloudTrail's evidence. */
export interface LossFacts {
  readonly sentinel?: SentinelHealth | undefined;
  readonly evidence?: LossEvidence | undefined;
  /** This run found an earlier import unconfirmed and KMS without material (AttributionInput). */
  readonly importUnconfirmed?: boolean | undefined;
}

/** The key is revoked but this region still holds material that Tether has not confirmed deleted. */
export interface RevokeDecision {
  readonly kind: "revoke";
  readonly summary: string;
}

/** Tether will not act; people must. Look again at nextCheckAt. */
export interface AlertDecision extends AlertFinding {
  readonly kind: "alert";
  readonly nextCheckAt: Date;
  /** A missing material's cause, to record (so later visits neither re-decide nor page again). */
  readonly lossCause?: LossCause | undefined;
  /** Who deleted the material, when CloudTrail said. */
  readonly deletedBy?: DeleteRecord | undefined;
}

/** Tether stands still by intent; it still looks at nextCheckAt (a revoked key is watched for re-imports). */
export interface StandstillDecision {
  readonly kind: "standstill";
  readonly reason: "paused" | "revoked" | "policy-ended" | "awaiting-operator";
  readonly nextCheckAt: Date;
  readonly summary: string;
}

/** Where decide itself cannot compute a next check (invalid inputs), look again this soon. */
const FALLBACK_RECHECK_MS = 15 * 60 * SECOND_MS;

/** What decide needs to know about the region beyond the record, computed once. */
interface Context {
  readonly key: ManagedKey;
  readonly policy: ImportPolicy;
  readonly region: RegionRecord;
  readonly now: Date;
  readonly where: string;
  readonly facts: LossFacts;
}

/**
 * Decides what to do in one region. Total: for any input it returns a decision and never throws; input it
 * cannot reason about (an invalid date, a policy out of range) yields a warning alert with reason
 * INVALID_INPUT.
 */
export function decide(
  key: ManagedKey,
  region: RegionRecord,
  observed: ObservedKeyState,
  now: Date,
  facts: LossFacts = {},
): RegionDecision {
  const where = `key ${key?.id} in ${region?.region}`;
  try {
    const problem = invalidInput(key, region, observed, now);
    if (problem !== undefined) return invalidInputAlert(key, now, `${where}: ${problem}`);
    return decideValid({ key, policy: key.policy, region, now, where, facts: facts ?? {} }, observed);
  } catch (error) {
    // Defensive only: the property tests show valid input never gets here. The message is ours (no SDK text).
    const message = error instanceof Error ? error.message : "unexpected error";
    return invalidInputAlert(key, now, `${where}: could not decide (${message})`);
  }
}

/**
 * Failures the same vault bytes would repeat: KMS refused them as not this key's material, the vault's
 * check value no longer matches, the material does not fit the key's spec (InvalidMaterialError), or no
 * wrapping KMS and the vault share can carry it (UnsupportedWrappingError). Retrying automatically would
 * only repeat the refusal (the critical alert went out with the failure, once), so Tether waits for an
 * operator's reimport or restore.
 */
export const FAILURES_AWAITING_OPERATOR: readonly string[] = [
  "IncorrectKeyMaterialError",
  "CheckValueMismatchError",
  "InvalidMaterialError",
  "UnsupportedWrappingError",
];

function decideValid(ctx: Context, observed: ObservedKeyState): RegionDecision {
  const decision = decideByState(ctx, observed);
  const lastFailure = ctx.region.lastFailure;
  if (
    (decision.kind === "renew" || decision.kind === "restore") &&
    lastFailure !== undefined &&
    FAILURES_AWAITING_OPERATOR.includes(lastFailure)
  ) {
    return standstill(
      ctx,
      "awaiting-operator",
      `${ctx.where}: the last import failed with ${lastFailure}; waiting for an operator (${decision.summary})`,
    );
  }
  return decision;
}

function decideByState(ctx: Context, observed: ObservedKeyState): RegionDecision {
  const { key } = ctx;
  if (key.status.state === KeyStatusState.Revoked) return decideRevoked(ctx, observed);
  if (key.status.state === KeyStatusState.Paused) {
    return standstill(ctx, "paused", `${ctx.where}: paused, no automatic action`);
  }
  if (!observed.found) {
    return alert(
      ctx,
      AlertSeverity.Critical,
      AlertReason.KeyNotFound,
      `KMS key not found (${ctx.region.keyArn})`,
    );
  }
  if (observed.origin !== KeyOrigin.EXTERNAL) {
    return alert(
      ctx,
      AlertSeverity.Critical,
      AlertReason.OriginNotExternal,
      `origin is ${observed.origin}, not EXTERNAL: no material can be imported`,
    );
  }
  if (observed.keySpec !== undefined && observed.keySpec !== key.keySpec) {
    return alert(
      ctx,
      AlertSeverity.Critical,
      AlertReason.KeySpecMismatch,
      `KMS reports key spec ${observed.keySpec}, Tether registered ${key.keySpec}`,
    );
  }
  switch (observed.keyState) {
    case KeyState.Enabled:
      return decidePresent(ctx, observed);
    case KeyState.PendingImport:
      return decideMissing(ctx);
    case KeyState.Disabled:
      return alert(
        ctx,
        AlertSeverity.Warning,
        AlertReason.KeyDisabled,
        `key is Disabled; material ${describeValidTo(observed.validTo)}; Tether does not renew a disabled key`,
        observed.validTo,
      );
    case KeyState.PendingDeletion:
      return alert(
        ctx,
        AlertSeverity.Critical,
        AlertReason.KeyPendingDeletion,
        `key is PendingDeletion${observed.deletionDate ? ` (deleted at ${iso(observed.deletionDate)})` : ""}; cancel the deletion to keep it`,
      );
    case KeyState.PendingReplicaDeletion:
      return alert(
        ctx,
        AlertSeverity.Critical,
        AlertReason.ReplicaPendingDeletion,
        "key is PendingReplicaDeletion: this replica is being deleted",
      );
    case KeyState.Unavailable:
      return alert(ctx, AlertSeverity.Critical, AlertReason.KeyUnavailable, "key is Unavailable");
    case KeyState.Creating:
    case KeyState.Updating:
      return {
        kind: "none",
        nextCheckAt: transientRecheckAt(ctx.policy, ctx.now),
        summary: `${ctx.where}: key is ${observed.keyState}; looking again shortly`,
      };
    default:
      return alert(
        ctx,
        AlertSeverity.Warning,
        AlertReason.UnknownKeyState,
        `KMS reports a key state Tether does not know: ${observed.keyState}`,
      );
  }
}

/**
 * A revoked key: never import. Material present where Tether has not confirmed the deletion means the
 * revoke is unfinished there (finish it); present where Tether did delete it means someone re-imported
 * after the revoke — critical drift, left to people (it may be a deliberate break-glass restore).
 */
function decideRevoked(ctx: Context, observed: ObservedKeyState): RegionDecision {
  const present =
    observed.found && observed.origin === KeyOrigin.EXTERNAL && holdsMaterial(observed.keyState);
  if (!present) return standstill(ctx, "revoked", `${ctx.where}: revoked, material absent`);
  if (ctx.region.lossCause !== LossCause.RevokedByTether) {
    return { kind: "revoke", summary: `${ctx.where}: revoked but material still present here; deleting it` };
  }
  return alert(
    ctx,
    AlertSeverity.Critical,
    AlertReason.MaterialPresentAfterRevoke,
    `material is present (${observed.found ? observed.keyState : "?"}) although Tether revoked it: someone re-imported it`,
  );
}

/**
 * Active key, KMS says PendingImport: why (lib/domain/attribution.ts), and so whether to restore, wait
 * for evidence, or leave it to people.
 */
function decideMissing(ctx: Context): RegionDecision {
  const { policy, region, now } = ctx;
  const attribution = attributeLoss({
    region,
    sentinel: ctx.facts.sentinel ?? SentinelHealth.Unknown,
    evidence: ctx.facts.evidence ?? NO_EVIDENCE,
    importUnconfirmed: ctx.facts.importUnconfirmed,
    policy,
    now,
  });
  const cause = attribution.cause;
  const unplannedExpiry = cause === "expired" && !isPlannedEnd(policy, region);
  if (policyEnded(policy, now)) {
    if (cause === "expired" && !unplannedExpiry) {
      return standstill(ctx, "policy-ended", `${ctx.where}: material expired at the policy's fixed ValidTo`);
    }
    return {
      ...alert(
        ctx,
        AlertSeverity.Warning,
        AlertReason.PolicyValidToPassed,
        `material missing (${cause}) but the policy's fixed ValidTo has passed; change the policy to import again`,
      ),
      lossCause: attribution.lossCause,
      deletedBy: attribution.deletedBy,
    };
  }
  const detail =
    cause === "expired" && unplannedExpiry
      ? attribution.detail.replace("material expired", "material expired (a renewal was missed)")
      : attribution.detail;
  switch (attribution.action) {
    case "restore":
      return {
        kind: "restore",
        cause: restoreCauseOf(cause),
        unplannedExpiry,
        summary: `${ctx.where}: ${detail}`,
        alert: withWhere(ctx, attribution.alert),
        deletedBy: attribution.deletedBy,
      };
    case "wait":
      return {
        kind: "attributing",
        nextCheckAt: attribution.waitUntil ?? transientRecheckAt(policy, now),
        graceEndsAt: attribution.graceEndsAt ?? now,
        alert: withWhere(ctx, attribution.alert) ?? {
          severity: AlertSeverity.Critical,
          reason: AlertReason.UnexplainedMaterialLoss,
          summary: `${ctx.where}: ${detail}`,
        },
        summary: `${ctx.where}: ${detail}`,
      };
    case "alert-only": {
      const finding = attribution.alert ?? {
        severity: AlertSeverity.Critical,
        reason: AlertReason.MaterialLostNotRestored,
        summary: detail,
      };
      return {
        ...alert(ctx, finding.severity, finding.reason, finding.summary),
        lossCause: attribution.lossCause,
        deletedBy: attribution.deletedBy,
      };
    }
  }
}

/** The restore's cause as the record keeps it. */
function restoreCauseOf(cause: AttributedCause): RestoreCause {
  switch (cause) {
    case "never-imported":
      return "never-imported";
    case "revoked":
      return LossCause.RevokedByTether;
    case "expired":
      return LossCause.Expired;
    case "regional-loss":
      return LossCause.RegionalLoss;
    case "out-of-band":
      return LossCause.DeletedOutOfBand;
    case "unexplained":
    case "local-loss":
      return LossCause.LocalLoss;
  }
}

function withWhere(ctx: Context, finding: AlertFinding | undefined): AlertFinding | undefined {
  return finding === undefined ? undefined : { ...finding, summary: `${ctx.where}: ${finding.summary}` };
}

/** Expiry at (or after) the policy's own fixed end is the plan, not a missed renewal. */
function isPlannedEnd(policy: ImportPolicy, region: RegionRecord): boolean {
  return (
    policy.expirationModel === ExpirationModel.KEY_MATERIAL_EXPIRES &&
    policy.validity.kind === "fixed" &&
    region.importedValidTo !== undefined &&
    region.importedValidTo.getTime() >= policy.validity.validTo.getTime() - VALID_TO_TOLERANCE_MS
  );
}

/** Active key, material present (Enabled): renew when due, otherwise schedule; report drift. */
function decidePresent(ctx: Context, observed: KeyFound): RegionDecision {
  const { policy, now } = ctx;
  const observedModel =
    observed.expirationModel ??
    (observed.validTo !== undefined
      ? ExpirationModel.KEY_MATERIAL_EXPIRES
      : ExpirationModel.KEY_MATERIAL_DOES_NOT_EXPIRE);

  if (observedModel !== policy.expirationModel) return decideModelDrift(ctx, observed, observedModel);

  if (policy.expirationModel === ExpirationModel.KEY_MATERIAL_DOES_NOT_EXPIRE) {
    return {
      kind: "none",
      nextCheckAt: nextCheckAt(policy, undefined, now),
      summary: `${ctx.where}: material present, does not expire`,
    };
  }

  const validTo = observed.validTo;
  if (validTo === undefined) {
    return alert(
      ctx,
      AlertSeverity.Warning,
      AlertReason.ValidToUnknown,
      "material expires but KMS reported no ValidTo; not renewing on a guess",
    );
  }
  return decideExpiring(ctx, policy, validTo);
}

/**
 * KMS's expiration model is not the policy's: re-importing the same material with the policy's model puts
 * it right; for a dead-man's switch, material that never expires is the switch switched off.
 */
function decideModelDrift(ctx: Context, observed: KeyFound, observedModel: string): RegionDecision {
  const { policy, now } = ctx;
  const switchedOff = policy.expirationModel === ExpirationModel.KEY_MATERIAL_EXPIRES;
  const warning: AlertFinding = {
    severity: switchedOff ? AlertSeverity.Critical : AlertSeverity.Warning,
    reason: AlertReason.ExpirationModelDrift,
    summary: `${ctx.where}: KMS reports ${observedModel}, the policy says ${policy.expirationModel}`,
  };
  if (policyEnded(policy, now)) {
    return alert(
      ctx,
      warning.severity,
      warning.reason,
      `${warning.summary}; the policy's fixed ValidTo has passed`,
    );
  }
  return {
    kind: "renew",
    currentValidTo: observed.validTo,
    overdue: false,
    summary: warning.summary,
    warning,
  };
}

/** Expiring material with a ValidTo: renew when past or within the renew window, otherwise schedule. */
function decideExpiring(ctx: Context, policy: ExpiringImportPolicy, validTo: Date): RegionDecision {
  const { now } = ctx;
  const warning = validToDrift(ctx, validTo);
  const validToMs = validTo.getTime();
  const nowMs = now.getTime();
  if (validToMs <= nowMs) {
    if (policyEnded(policy, now)) {
      return standstill(
        ctx,
        "policy-ended",
        `${ctx.where}: material at the policy's fixed ValidTo ${iso(validTo)}`,
      );
    }
    return {
      kind: "renew",
      currentValidTo: validTo,
      overdue: true,
      summary: `${ctx.where}: ValidTo ${iso(validTo)} has passed and KMS still holds the material; renewing now`,
      warning,
    };
  }
  if (validToMs - policy.renewBeforeMs <= nowMs) {
    const target = policyEnded(policy, now) ? undefined : computeValidTo(policy, now);
    if (target !== undefined && target.getTime() > validToMs + VALID_TO_TOLERANCE_MS) {
      return {
        kind: "renew",
        currentValidTo: validTo,
        overdue: false,
        summary: `${ctx.where}: ValidTo ${iso(validTo)} is within the renew window; renewing`,
        warning,
      };
    }
    // A fixed ValidTo already reached: renewing would not move it, so only watch for the expiry.
    return {
      kind: "none",
      nextCheckAt: nextCheckAt(policy, validTo, now),
      summary: `${ctx.where}: ValidTo ${iso(validTo)} is the policy's end; nothing to renew`,
      warning,
    };
  }
  return {
    kind: "none",
    nextCheckAt: nextCheckAt(policy, validTo, now),
    summary: `${ctx.where}: material present until ${iso(validTo)}`,
    warning,
  };
}

/** KMS's ValidTo differs from the one Tether sent: someone re-imported with another expiry. */
function validToDrift(ctx: Context, observedValidTo: Date): AlertFinding | undefined {
  const recorded = ctx.region.importedValidTo;
  if (recorded === undefined || !ctx.region.materialExpected) return undefined;
  if (sameValidTo(recorded, observedValidTo)) return undefined;
  return {
    severity: AlertSeverity.Warning,
    reason: AlertReason.ValidToDrift,
    summary: `${ctx.where}: KMS reports ValidTo ${iso(observedValidTo)}, Tether imported with ${iso(recorded)}`,
  };
}

function alert(
  ctx: Context,
  severity: AlertFinding["severity"],
  reason: AlertFinding["reason"],
  detail: string,
  validTo?: Date,
): AlertDecision {
  return {
    kind: "alert",
    severity,
    reason,
    summary: `${ctx.where}: ${detail}`,
    nextCheckAt: nextCheckAt(ctx.policy, validTo, ctx.now),
  };
}

function standstill(ctx: Context, reason: StandstillDecision["reason"], summary: string): StandstillDecision {
  return { kind: "standstill", reason, nextCheckAt: nextCheckAt(ctx.policy, undefined, ctx.now), summary };
}

function invalidInputAlert(key: ManagedKey, now: Date, summary: string): AlertDecision {
  const nowMs = now instanceof Date && !Number.isNaN(now.getTime()) ? now.getTime() : 0;
  const interval = key?.policy?.reconcileIntervalMs;
  const delay =
    typeof interval === "number" && Number.isFinite(interval) && interval > 0
      ? Math.min(interval, FALLBACK_RECHECK_MS)
      : FALLBACK_RECHECK_MS;
  return {
    kind: "alert",
    severity: AlertSeverity.Warning,
    reason: AlertReason.InvalidInput,
    summary,
    nextCheckAt: new Date(nowMs + delay),
  };
}

/** What decide refuses to reason about, named; undefined when the input is sound. */
function invalidInput(
  key: ManagedKey,
  region: RegionRecord,
  observed: ObservedKeyState,
  now: Date,
): string | undefined {
  if (!isValidDate(now)) return "now is not a valid time";
  if (typeof key !== "object" || key === null || typeof key.policy !== "object" || key.policy === null) {
    return "no managed key or policy";
  }
  if (typeof region !== "object" || region === null) return "no region record";
  if (typeof observed !== "object" || observed === null) return "no observed state";
  if (!Object.values(KeyStatusState).includes(key.status?.state)) return "the key's status is unknown";
  if (region.lossCause !== undefined && !Object.values(LossCause).includes(region.lossCause)) {
    return "the region's loss cause is unknown";
  }
  const policy = key.policy;
  if (!(Number.isFinite(policy.reconcileIntervalMs) && policy.reconcileIntervalMs > 0)) {
    return "the policy's reconcile interval is not a positive duration";
  }
  if (policy.expirationModel === ExpirationModel.KEY_MATERIAL_EXPIRES) {
    if (!(Number.isFinite(policy.renewBeforeMs) && policy.renewBeforeMs > 0)) {
      return "the policy's renew window is not a positive duration";
    }
    const validity = policy.validity;
    if (validity?.kind === "fixed" ? !isValidDate(validity.validTo) : !Number.isFinite(validity?.periodMs)) {
      return "the policy's validity is not valid";
    }
  } else if (policy.expirationModel !== ExpirationModel.KEY_MATERIAL_DOES_NOT_EXPIRE) {
    return "the policy's expiration model is unknown";
  }
  for (const [name, date] of [
    ["lastImportedAt", region.lastImportedAt],
    ["importedValidTo", region.importedValidTo],
    ["unexplainedSince", region.unexplainedSince],
    ["observed ValidTo", observed.found ? observed.validTo : undefined],
  ] as const) {
    if (date !== undefined && !isValidDate(date)) return `${name} is not a valid time`;
  }
  return undefined;
}

function isValidDate(value: unknown): value is Date {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

function describeValidTo(validTo: Date | undefined): string {
  return validTo === undefined ? "does not expire" : `expires ${iso(validTo)}`;
}

function iso(date: Date): string {
  return date.toISOString();
}
