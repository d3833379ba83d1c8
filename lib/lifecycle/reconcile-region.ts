import { type AlertFinding, AlertReason, AlertSeverity } from "../domain/alerts.js";
import { type DeleteRecord, type LossEvidence, staleExpiryEvent } from "../domain/attribution.js";
import {
  type AlertEvent,
  AuditDetailType,
  type AuditEvent,
  buildAlertEvent,
  buildFactEvent,
  buildImportFailedEvent,
} from "../domain/audit-types.js";
import { decide, FAILURES_AWAITING_OPERATOR, type RegionDecision } from "../domain/decision.js";
import {
  CheckValueMismatchError,
  errorName,
  IncorrectKeyMaterialError,
  LeaseNotAcquiredError,
  TetherError,
  VaultError,
} from "../domain/errors.js";
import type { AwsRegion, TetherKeyId } from "../domain/ids.js";
import { computeValidTo, distinctValidTo } from "../domain/import-policy.js";
import { ImportType, KeyState } from "../domain/kms-constants.js";
import {
  awaitsPrimaryImport,
  findRegion,
  holdsMaterial,
  type ImportInFlight,
  keyMaterials,
  LossCause,
  type ManagedKey,
  type RegionRecord,
} from "../domain/managed-key.js";
import type { ObservedKeyState } from "../domain/observed.js";
import {
  clearImportInFlight,
  recordFailure,
  recordImport,
  recordImportStarted,
  recordLoss,
  recordLossAlerted,
  recordObservation,
  recordUnexplainedLoss,
  scheduleCheck,
  withKeyPriority,
} from "../domain/region-transitions.js";
import { rotationDue, scheduleRotationCheck } from "../domain/rotation-schedule.js";
import { chooseWrapping } from "../domain/wrapping.js";
import { decideWithEvidence } from "./loss-evidence.js";
import type { Lease, LifecycleDeps } from "./ports.js";

/** Who asked and why: every audit event of the run carries it. */
export interface Trigger {
  readonly actor: string;
  readonly correlationId: string;
  /** An operator's explicit request: import now even if nothing is due ("reimport"), or restore material
   *  that policy would not restore automatically ("restore"). Absent for the sweep and KMS events. */
  readonly operator?: "reimport" | "restore" | undefined;
  /** A loss an event told us about (expiry, out-of-band deletion), recorded before deciding. */
  readonly knownLoss?: LossCause | undefined;
  /** When the event says the expiry happened: a late one older than the last import is not recorded. */
  readonly knownLossAt?: Date | undefined;
  /** Who removed the material, from a CloudTrail event the trigger carries. */
  readonly evidence?: LossEvidence | undefined;
}

/** What happened in one region, for the sweep's report and the API's answer. */
export type RegionOutcome = (
  | { readonly kind: "busy" }
  | { readonly kind: "gone" }
  | { readonly kind: "lease-lost" }
  | { readonly kind: "failed"; readonly errorName: string }
  | { readonly kind: RegionDecision["kind"] | "imported" | "renewed" | "restored" | "revoked" }
) & {
  /**
   * Set on a healthy visit of the primary of an active key whose scheduled rotation is due: the sweep
   * then rotates it (lib/domain/rotation-schedule.ts).
   */
  readonly rotationDue?: boolean;
};

/** Outcomes after which the key is in order for a scheduled rotation. */
const ROTATABLE_OUTCOMES: readonly string[] = ["none", "imported", "renewed", "restored"];

/** A rotation still unfinished this long after it started is reported (it normally takes seconds). */
const UNFINISHED_ROTATION_GRACE_MS = 15 * 60 * 1000;

/** After this many failures in a row an import problem pages someone. */
const ALERT_AFTER_FAILURES = 3;
/** ValidTo values closer than this are the same (KMS reports whole seconds). */
const VALID_TO_TOLERANCE_MS = 1000;

/**
 * Brings one Region of one key to what its policy wants, under a lease so no other worker acts on it at
 * the same time: reads KMS (the truth about material), decides, acts, records, audits.
 *
 * Crash safety: an import is announced in the region record (importInFlight, with the audit event id it
 * will be recorded under) before ImportKeyMaterial; the audit event is written before the record is
 * updated. So after a crash anywhere, the next run sees the intent, asks KMS whether the import happened,
 * and records it once (same event id, so no duplicate in the history) or forgets it.
 */
export async function reconcileRegion(
  deps: LifecycleDeps,
  keyId: TetherKeyId,
  region: AwsRegion,
  trigger: Trigger,
): Promise<RegionOutcome> {
  const owner = `${deps.workerId}:${deps.newId()}`;
  let lease: Lease;
  try {
    lease = await deps.keys.acquireLease(keyId, region, owner, deps.leaseTtlMs, deps.clock());
  } catch (error) {
    if (error instanceof LeaseNotAcquiredError) return { kind: "busy" };
    throw error;
  }
  try {
    return await new RegionRun(deps, lease, trigger).run();
  } catch (error) {
    if (error instanceof LeaseNotAcquiredError) return { kind: "lease-lost" };
    throw error;
  } finally {
    await deps.keys.releaseLease(lease).catch((error: unknown) => {
      deps.log?.("warn", "could not release lease (it will expire)", {
        keyId,
        region,
        error: errorName(error),
      });
    });
  }
}

/** A region busy with another worker is tried again this many times, this far apart. */
const BUSY_RETRIES = 10;
const BUSY_WAIT_MS = 200;

/**
 * reconcileRegion for a caller that must not give up because a sweep holds the region for a moment (an
 * operator's request, a registration, a KMS event): tries again briefly while the region is busy.
 * Returns "busy" only if it stayed busy for about two seconds.
 */
export async function reconcileWhenFree(
  deps: LifecycleDeps,
  keyId: TetherKeyId,
  region: AwsRegion,
  trigger: Trigger,
): Promise<RegionOutcome> {
  let outcome = await reconcileRegion(deps, keyId, region, trigger);
  for (let retry = 0; outcome.kind === "busy" && retry < BUSY_RETRIES; retry++) {
    await new Promise((resolve) => setTimeout(resolve, BUSY_WAIT_MS));
    outcome = await reconcileRegion(deps, keyId, region, trigger);
  }
  return outcome;
}

class RegionRun {
  readonly #events: AuditEvent[] = [];
  /** The key as read at the start of the run (for the rotation schedule). */
  #key: ManagedKey | undefined;

  constructor(
    private readonly deps: LifecycleDeps,
    private readonly lease: Lease,
    private readonly trigger: Trigger,
  ) {}

  async run(): Promise<RegionOutcome> {
    const { deps, lease } = this;
    const key = await this.#load();
    const start = key === undefined ? undefined : findRegion(key, lease.region);
    if (key === undefined || start === undefined) return { kind: "gone" };
    this.#key = key;

    const now = deps.clock();
    // Every save of this run places the Region in the due-work index at its key's priority.
    let record = withKeyPriority(start, key);
    const staleExpiry =
      this.trigger.knownLoss === LossCause.Expired && staleExpiryEvent(record, this.trigger.knownLossAt);
    if (staleExpiry) {
      this.#log("warn", "late expiry event about earlier material: not read as an expiry", {
        eventAt: this.trigger.knownLossAt?.toISOString(),
      });
    }
    const beforeLoss = record;
    if (this.trigger.knownLoss !== undefined && lossOpenToCause(record) && !staleExpiry) {
      const { evidence } = this.trigger;
      record = recordLoss(
        record,
        this.trigger.knownLoss,
        now,
        evidence?.kind === "none" ? undefined : evidence,
      );
    }
    let observed: ObservedKeyState;
    try {
      observed = await deps.kms.describeKey(lease.region, record.keyArn);
    } catch (error) {
      return this.#fail(key, record, error, now);
    }
    if (
      record !== beforeLoss &&
      this.trigger.knownLoss === LossCause.DeletedOutOfBand &&
      observed.found &&
      observed.keyState === KeyState.Enabled
    ) {
      // The delete's record arrived after the material came back (Tether's restore since, or an import
      // outside it; a duplicate delivery of the record that was already settled): KMS holds material now,
      // so recording this delete would mark present material as gone for good.
      this.#log("warn", "out-of-band delete record about material that is back: not recorded as a loss", {
        eventAt:
          this.trigger.evidence?.kind === "out-of-band" ? this.trigger.evidence.at.toISOString() : undefined,
      });
      record = beforeLoss;
    }
    record = recordObservation(record, observed, now);
    const intent = record.importInFlight;
    record = this.#settleImportInFlight(key, record, observed);
    const importUnconfirmed =
      intent !== undefined && observed.found && observed.keyState === KeyState.PendingImport;

    const decision = this.#operatorOverride(
      await decideWithEvidence(deps, key, record, observed, now, this.trigger.evidence, importUnconfirmed),
      key,
      record,
      observed,
      now,
    );
    this.#log("info", decision.summary, { decision: decision.kind });
    this.#reportUnfinishedRotation(key, record, now);
    switch (decision.kind) {
      case "none":
        if (decision.warning !== undefined) this.#alert(key, record, decision.warning, now);
        return this.#finish(scheduleCheck(record, decision.nextCheckAt), { kind: "none" });
      case "standstill":
        return this.#finish(scheduleCheck(record, decision.nextCheckAt), { kind: "standstill" });
      case "attributing": {
        // Once per loss: the first sight raises the alert and starts the grace; later visits only look.
        if (record.unexplainedSince === undefined) {
          this.#alert(key, record, decision.alert, now);
          this.#fact(AuditDetailType.KeyMaterialLost, key, record, now, decision.summary);
          record = recordLossAlerted(recordUnexplainedLoss(record, now), decision.alert.reason);
        }
        return this.#finish(scheduleCheck(record, decision.nextCheckAt), { kind: "attributing" });
      }
      case "alert": {
        const { lossCause, deletedBy } = decision;
        if (lossCause === undefined || !isLossAlert(decision.reason)) {
          this.#alert(key, record, decision, now);
          return this.#finish(scheduleCheck(record, decision.nextCheckAt), { kind: "alert" });
        }
        // A loss Tether leaves to people: recorded with its cause, told once (not at every visit).
        if (record.lossCause !== lossCause) record = recordLoss(record, lossCause, now, deletedBy);
        if (record.lossAlerted !== decision.reason) {
          this.#alert(key, record, decision, now, deletedBy);
          this.#fact(AuditDetailType.KeyMaterialLost, key, record, now, decision.summary, deletedBy);
          record = recordLossAlerted(record, decision.reason);
        }
        return this.#finish(scheduleCheck(record, decision.nextCheckAt), { kind: "alert" });
      }
      case "revoke":
        return this.#revoke(key, record, now);
      case "renew":
        if (decision.warning !== undefined) this.#alert(key, record, decision.warning, now);
        return this.#import(key, record, "renew", now, decision.summary, observed);
      case "restore": {
        const kind = decision.cause === "never-imported" ? "import" : "restore";
        if (kind === "restore") {
          const { alert, deletedBy } = decision;
          // Recorded before the import, so a failed import is retried without deciding (and looking) again.
          if (decision.cause !== "never-imported" && record.lossCause !== decision.cause) {
            record = recordLoss(record, decision.cause, now, deletedBy);
          }
          if (alert !== undefined && record.lossAlerted !== alert.reason) {
            this.#alert(key, record, alert, now, deletedBy);
            record = recordLossAlerted(record, alert.reason);
          }
          this.#fact(AuditDetailType.KeyMaterialLost, key, record, now, decision.summary, deletedBy);
          if (decision.unplannedExpiry) {
            this.#alert(
              key,
              record,
              {
                severity: AlertSeverity.Warning,
                reason: AlertReason.ImportFailing,
                summary: `${decision.summary} (the material expired before Tether renewed it)`,
              },
              now,
            );
          }
        }
        return this.#import(key, record, kind, now, decision.summary, observed);
      }
    }
  }

  /**
   * The key as this run needs it, read after the lease was taken. When the lease carries the Region's
   * record (as the lease's own conditional write left it), only the key record is read (consistently), and
   * `regions` holds that one Region: nothing in a run looks at the key's other Regions. Otherwise the key
   * is read whole. Either way every write of the run stays conditioned as before: the Region's on the
   * lease, the key record's on its version.
   */
  async #load(): Promise<ManagedKey | undefined> {
    const { deps, lease } = this;
    if (lease.record === undefined) return deps.keys.get(lease.keyId);
    const key = await deps.keys.get(lease.keyId, { regions: "none" });
    return key === undefined ? undefined : { ...key, regions: [lease.record] };
  }

  /** An operator's request widens what the table allows: never for a revoked or paused-by-policy key. */
  #operatorOverride(
    decision: RegionDecision,
    key: ManagedKey,
    record: RegionRecord,
    observed: ObservedKeyState,
    now: Date,
  ): RegionDecision {
    const { operator } = this.trigger;
    if (operator === undefined) return decision;
    if (decision.kind === "standstill" && decision.reason === "awaiting-operator") {
      // The operator says the vault is fixed: decide as if the refused attempt had not happened.
      return this.#operatorOverride(
        decide(key, { ...record, lastFailure: undefined }, observed, now),
        key,
        record,
        observed,
        now,
      );
    }
    if (
      operator === "reimport" &&
      decision.kind === "none" &&
      observed.found &&
      observed.keyState === KeyState.Enabled
    ) {
      return {
        kind: "renew",
        currentValidTo: observed.found ? observed.validTo : undefined,
        overdue: false,
        summary: "re-import requested by an operator",
      };
    }
    const restorable: readonly string[] = [
      AlertReason.DeletedOutOfBand,
      AlertReason.MaterialLostNotRestored,
      AlertReason.LossNotAttributed,
    ];
    if (
      (decision.kind === "alert" && restorable.includes(decision.reason)) ||
      (decision.kind === "attributing" && operator === "restore")
    ) {
      return {
        kind: "restore",
        cause: LossCause.DeletedOutOfBand,
        unplannedExpiry: false,
        summary: "restore requested by an operator",
      };
    }
    if (
      decision.kind === "standstill" &&
      decision.reason === "paused" &&
      observed.found &&
      observed.keyState === KeyState.PendingImport
    ) {
      return {
        kind: "restore",
        cause: LossCause.RegionalLoss,
        unplannedExpiry: false,
        summary: "restore of a paused key requested by an operator",
      };
    }
    return decision;
  }

  /**
   * A rotation that started and did not finish (a crash between its steps) is finished by calling rotate
   * again (the sweep does so itself only for a key whose rotation schedule is due); it tells people, once
   * per visit of the primary.
   */
  #reportUnfinishedRotation(key: ManagedKey, record: RegionRecord, now: Date): void {
    const pending = key.pendingRotation ?? key.pendingSwap;
    if (pending === undefined || record.region !== key.primaryRegion) return;
    if (now.getTime() - pending.startedAt.getTime() < UNFINISHED_ROTATION_GRACE_MS) return;
    this.#alert(
      key,
      record,
      {
        severity: AlertSeverity.Warning,
        reason: AlertReason.RotationIncomplete,
        summary: `key ${key.id}: a ${key.pendingRotation === undefined ? "key swap" : "rotation"} started at ${pending.startedAt.toISOString()} by ${pending.actor} has not finished; call rotate again to finish it`,
      },
      now,
    );
  }

  /** A previous run crashed mid-import: KMS says whether the import happened. */
  #settleImportInFlight(key: ManagedKey, record: RegionRecord, observed: ObservedKeyState): RegionRecord {
    const intent = record.importInFlight;
    if (intent === undefined) return record;
    if (intent.unprovable === true) {
      // A re-import of material that does not expire into a key that held it: KMS looks the same whether it
      // happened or not, and nothing depends on it. Not claimed in the history.
      this.#log(
        "warn",
        "an earlier re-import may or may not have completed; KMS looks the same either way",
        {},
      );
      return clearImportInFlight(record);
    }
    const happened =
      observed.found && observed.keyState === KeyState.Enabled && sameTime(observed.validTo, intent.validTo);
    if (!happened) {
      this.#log("warn", "an earlier import did not complete; deciding afresh", {});
      return clearImportInFlight(record);
    }
    this.#log("info", "an earlier import completed before a crash; recording it", {});
    this.#events.push(this.#importedEvent(key, record, intent));
    return recordImport(record, { at: intent.startedAt, validTo: intent.validTo }, key.policy);
  }

  async #import(
    key: ManagedKey,
    before: RegionRecord,
    kind: ImportInFlight["kind"],
    now: Date,
    reason: string,
    observed: ObservedKeyState,
  ): Promise<RegionOutcome> {
    const { deps, lease } = this;
    let record = before;
    try {
      // Every material permanently associated with the key: the loss or expiry of any one of them puts the
      // whole key in PendingImport (DESIGN.md, KMS fact 8), so each is checked and re-imported.
      const materials = keyMaterials(key);
      for (const material of materials) {
        if ((await deps.vault.checkValue(material.materialRef)) !== material.checkValue) {
          throw new CheckValueMismatchError({ keyId: key.id, materialRef: material.materialRef });
        }
      }
      if (key.vaultKind !== deps.vault.kind) await this.#moveVault(key, now);
      // The strongest wrapping KMS accepts, the policy prefers and the vault can produce (an HSM may not
      // do OAEP with SHA-256, say).
      const wrapping = chooseWrapping(
        key.keySpec,
        key.policy.wrapping,
        await deps.vault.supportedWrappings?.(key.keySpec),
      );
      const present = observed.found && holdsMaterial(observed.keyState);
      const validTo = distinctValidTo(
        computeValidTo(key.policy, now),
        present ? observed.validTo : undefined,
      );
      const intent: ImportInFlight = {
        kind,
        startedAt: now,
        validTo,
        eventId: deps.newId(),
        correlationId: this.trigger.correlationId,
        actor: this.trigger.actor,
        ...(present && validTo === undefined && observed.validTo === undefined ? { unprovable: true } : {}),
      };
      record = recordImportStarted(record, intent);
      await deps.keys.saveRegion(key.id, record, lease);
      let after: ObservedKeyState = { found: false };
      // Oldest first, the current material last, each with the same ValidTo: DescribeKey then reports it
      // (KMS reports the earliest ValidTo of the key's materials).
      for (const material of materials) {
        after = await deps.kms.importMaterial({
          region: lease.region,
          keyId: record.keyArn,
          managedKeyId: key.id,
          materialRef: material.materialRef,
          wrapping,
          expirationModel: key.policy.expirationModel,
          validTo,
          // A rotated key names which of its materials each import is; a key never rotated imports as it
          // always did (asymmetric and HMAC keys reject ImportType).
          ...(key.materials !== undefined && material.keyMaterialId !== undefined
            ? { importType: ImportType.EXISTING_KEY_MATERIAL, keyMaterialId: material.keyMaterialId }
            : {}),
        });
      }
      if (!(after.found && after.keyState === KeyState.Enabled && sameTime(after.validTo, validTo))) {
        // KMS accepted the call but does not show the result: keep the intent; the next run settles it.
        throw new ImportNotConfirmedError(key.id, lease.region, after.found ? after.keyState : "NotFound");
      }
      this.#events.push(
        this.#importedEvent(key, record, { ...intent, reason } as ImportInFlight & { reason: string }),
      );
      // What KMS showed after the import, so readers of the record do not see the state before it.
      record = recordObservation(recordImport(record, { at: now, validTo }, key.policy), after, now);
      return this.#finish(record, {
        kind: kind === "import" ? "imported" : kind === "renew" ? "renewed" : "restored",
      });
    } catch (caught) {
      if (caught instanceof LeaseNotAcquiredError) throw caught;
      const error = await this.#explainReplicaRefusal(key, caught);
      // Known refusals mean the import did not happen: forget the intent. Anything else (a timeout) may
      // have imported: keep the intent for the next run to settle.
      const known = error instanceof TetherError && !(error instanceof ImportNotConfirmedError);
      return this.#fail(key, known ? clearImportInFlight(record) : record, error, now);
    }
  }

  /**
   * KMS refuses a replica's import until its primary holds the material (a Multi-Region key's material
   * goes into the primary first), and says so with IncorrectKeyMaterialException. While the primary has
   * never been imported into, that refusal says nothing about the vault's bytes: it is retried like any
   * passing failure, not left waiting for an operator.
   */
  async #explainReplicaRefusal(key: ManagedKey, error: unknown): Promise<unknown> {
    const { deps, lease } = this;
    if (!(error instanceof IncorrectKeyMaterialError) || lease.region === key.primaryRegion) return error;
    const whole = await deps.keys.get(key.id).catch(() => undefined);
    const primary = whole === undefined ? undefined : findRegion(whole, whole.primaryRegion);
    if (primary === undefined || !awaitsPrimaryImport(primary)) return error;
    return new PrimaryNotImportedError(key.id, lease.region, { cause: error });
  }

  async #revoke(key: ManagedKey, before: RegionRecord, now: Date): Promise<RegionOutcome> {
    try {
      await this.deps.kms.deleteImportedKeyMaterial(this.lease.region, before.keyArn);
    } catch (error) {
      return this.#fail(key, before, error, now);
    }
    let record = recordLoss(before, LossCause.RevokedByTether, now);
    // What KMS shows now, for readers of the record; the revoke stands even if this look fails.
    const after = await this.deps.kms.describeKey(this.lease.region, before.keyArn).catch(() => undefined);
    if (after !== undefined) record = recordObservation(record, after, now);
    const reason = key.status.state === "revoked" ? key.status.reason : undefined;
    this.#fact(AuditDetailType.KeyMaterialRevoked, key, record, now, reason);
    return this.#finish(scheduleCheck(record, new Date(now.getTime() + key.policy.reconcileIntervalMs)), {
      kind: "revoked",
    });
  }

  async #fail(key: ManagedKey, before: RegionRecord, error: unknown, now: Date): Promise<RegionOutcome> {
    const name = errorName(error);
    const record = recordFailure(before, name, key.policy, now);
    this.#log("warn", "action failed", { error: name, consecutiveFailures: record.consecutiveFailures });
    this.#events.push(
      buildImportFailedEvent(this.#context(now), this.#subject(key, record), {
        errorName: name,
        attempt: record.consecutiveFailures,
      }),
    );
    const finding = failureFinding(error, record, key);
    if (finding !== undefined) this.#alert(key, record, finding, now);
    if (!(error instanceof TetherError)) {
      // Not one of ours: surface it in the logs with its class only (SDK messages never carry material,
      // but the log is not the place to find out).
      this.deps.log?.("error", "unexpected error", { keyId: key.id, region: this.lease.region, error: name });
    }
    return this.#finish(record, { kind: "failed", errorName: name });
  }

  /** Audit first (history = outbox, idempotent per id), then the record: see reconcileRegion. */
  async #finish(record: RegionRecord, outcome: RegionOutcome): Promise<RegionOutcome> {
    const key = this.#key;
    const now = this.deps.clock();
    const scheduled = key === undefined ? record : scheduleRotationCheck(key, record, now);
    await this.deps.audit.record(...this.#events);
    await this.deps.keys.saveRegion(this.lease.keyId, scheduled, this.lease);
    const rotate =
      key !== undefined &&
      record.region === key.primaryRegion &&
      ROTATABLE_OUTCOMES.includes(outcome.kind) &&
      rotationDue(key, now);
    return rotate ? { ...outcome, rotationDue: true } : outcome;
  }

  #importedEvent(
    key: ManagedKey,
    record: RegionRecord,
    intent: ImportInFlight & { reason?: string },
  ): AuditEvent {
    const detailType =
      intent.kind === "import"
        ? AuditDetailType.KeyMaterialImported
        : intent.kind === "renew"
          ? AuditDetailType.KeyMaterialRenewed
          : AuditDetailType.KeyMaterialRestored;
    return buildFactEvent(
      detailType,
      {
        id: intent.eventId,
        time: intent.startedAt,
        actor: intent.actor,
        correlationId: intent.correlationId,
      },
      { ...this.#subject(key, record), validTo: intent.validTo, reason: intent.reason },
    );
  }

  #fact(
    detailType: Parameters<typeof buildFactEvent>[0],
    key: ManagedKey,
    record: RegionRecord,
    now: Date,
    reason?: string,
    deletedBy?: DeleteRecord,
  ): void {
    this.#events.push(
      buildFactEvent(detailType, this.#context(now), { ...this.#subject(key, record), reason, deletedBy }),
    );
  }

  /**
   * The configured vault is another kind than the key's, and its material under the reference has the
   * recorded check value: the same bytes, so the key now lives in this vault. A lost race with another
   * writer of the key record only delays the move to the next import.
   */
  async #moveVault(key: ManagedKey, now: Date): Promise<void> {
    const { deps } = this;
    try {
      await deps.keys.saveKey({ ...key, vaultKind: deps.vault.kind, updatedAt: now });
      deps.log?.("info", "key moved to another vault (same check value)", {
        keyId: key.id,
        from: key.vaultKind ?? "unrecorded",
        to: deps.vault.kind,
      });
    } catch (error) {
      deps.log?.("warn", "key's vault move not recorded; retried at the next import", {
        keyId: key.id,
        error: errorName(error),
      });
    }
  }

  #alert(
    key: ManagedKey,
    record: RegionRecord,
    finding: AlertFinding,
    now: Date,
    deletedBy?: DeleteRecord,
  ): void {
    const drift: readonly string[] = [
      AlertReason.ValidToDrift,
      AlertReason.ExpirationModelDrift,
      AlertReason.DeletedOutOfBand,
      AlertReason.MaterialPresentAfterRevoke,
      AlertReason.KeySpecMismatch,
    ];
    const detailType: AlertEvent["detailType"] = drift.includes(finding.reason)
      ? AuditDetailType.DriftDetected
      : AuditDetailType.TetherAlert;
    const subject = { ...this.#subject(key, record), deletedBy };
    this.#events.push(buildAlertEvent(detailType, this.#context(now), subject, finding));
    if (detailType === AuditDetailType.DriftDetected && finding.severity === AlertSeverity.Critical) {
      // Drift that needs a human is also an on-call alert.
      this.#events.push(buildAlertEvent(AuditDetailType.TetherAlert, this.#context(now), subject, finding));
    }
  }

  #context(now: Date) {
    return {
      id: this.deps.newId(),
      time: now,
      actor: this.trigger.actor,
      correlationId: this.trigger.correlationId,
    };
  }

  #subject(key: ManagedKey, record: RegionRecord) {
    return { keyId: key.id, keyArn: record.keyArn, region: record.region, checkValue: key.checkValue };
  }

  #log(level: "info" | "warn" | "error", message: string, fields: Record<string, unknown>): void {
    this.deps.log?.(level, message, { keyId: this.lease.keyId, region: this.lease.region, ...fields });
  }
}

/** KMS took the import but DescribeKey does not show it. */
export class ImportNotConfirmedError extends TetherError {
  constructor(keyId: string, region: string, keyState: string) {
    super(`Import into key ${keyId} in ${region} was not confirmed by DescribeKey (state ${keyState}).`);
    this.name = "ImportNotConfirmedError";
  }
}

/**
 * A replica's import was refused because its primary holds no material yet (see #explainReplicaRefusal):
 * retried with the usual backoff.
 */
export class PrimaryNotImportedError extends TetherError {
  constructor(keyId: string, region: string, options?: ErrorOptions) {
    super(
      `Key ${keyId}: the replica in ${region} cannot take the material before the primary has it; retrying.`,
      options,
    );
    this.name = "PrimaryNotImportedError";
  }
}

/** Which failures page someone, and how loudly. */
function failureFinding(error: unknown, record: RegionRecord, key: ManagedKey): AlertFinding | undefined {
  const where = `key ${key.id} in ${record.region}`;
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
  if (FAILURES_AWAITING_OPERATOR.includes(errorName(error)) && error instanceof VaultError) {
    return {
      severity: AlertSeverity.Critical,
      reason: AlertReason.MaterialUnfit,
      summary: `${where}: the vault's material cannot go into this key (${errorName(error)}); not retrying on its own`,
    };
  }
  if (error instanceof VaultError) {
    return {
      severity:
        record.consecutiveFailures >= ALERT_AFTER_FAILURES ? AlertSeverity.Critical : AlertSeverity.Warning,
      reason: AlertReason.VaultUnavailable,
      summary: `${where}: the vault could not provide the material (${errorName(error)})`,
    };
  }
  if (record.consecutiveFailures >= ALERT_AFTER_FAILURES) {
    return {
      severity: AlertSeverity.Critical,
      reason: AlertReason.ImportFailing,
      summary: `${where}: ${record.consecutiveFailures} attempts in a row failed (last: ${errorName(error)})`,
    };
  }
  return undefined;
}

/** Alerts about a loss Tether leaves to people: raised once per loss and reason. */
function isLossAlert(reason: string): boolean {
  const reasons: readonly string[] = [
    AlertReason.DeletedOutOfBand,
    AlertReason.MaterialLostNotRestored,
    AlertReason.LossNotAttributed,
  ];
  return reasons.includes(reason);
}

/**
 * Whether an event's cause may be recorded: the material was expected, or it is missing with its cause not
 * known yet (unexplained) or only concluded for want of evidence (a local loss). A recorded revoke, expiry,
 * regional loss or out-of-band delete stays.
 */
function lossOpenToCause(record: RegionRecord): boolean {
  return (
    record.materialExpected || record.lossCause === undefined || record.lossCause === LossCause.LocalLoss
  );
}

function sameTime(a: Date | undefined, b: Date | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return Math.abs(a.getTime() - b.getTime()) <= VALID_TO_TOLERANCE_MS;
}
