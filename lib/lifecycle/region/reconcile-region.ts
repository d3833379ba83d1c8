import { AuditDetailType } from "../../domain/audit-types.js";
import type { AlertDecision, RegionDecision, RestoreDecision } from "../../domain/decision.js";
import { errorName, LeaseNotAcquiredError, TetherError } from "../../domain/errors.js";
import type { AwsRegion, TetherKeyId } from "../../domain/ids.js";
import {
  findRegion,
  type ImportInFlight,
  LossCause,
  type ManagedKey,
  type RegionRecord,
} from "../../domain/managed-key.js";
import { MemberAccessError } from "../../domain/member-account.js";
import type { ObservedKeyState } from "../../domain/observed.js";
import {
  applyKnownLoss,
  applyOperatorRequest,
  deleteContradictedByKms,
  failureFinding,
  importLeftUnconfirmed,
  importOutcome,
  isLossAlert,
  type KnownLoss,
  rotationDueAfter,
  unfinishedRotationFinding,
  unplannedExpiryFinding,
} from "../../domain/region-rules.js";
import {
  recordFailure,
  recordImport,
  recordLoss,
  recordLossAlerted,
  recordObservation,
  recordUnexplainedLoss,
  scheduleCheck,
  withKeyPriority,
} from "../../domain/region-transitions.js";
import { scheduleRotationCheck } from "../../domain/rotation-schedule.js";
import { BUSY_RETRIES, withLease } from "../helpers/lease.js";
import { alertMemberAccess } from "../helpers/member-alert.js";
import type { Lease, LifecycleDeps } from "../ports.js";
import { decideWithEvidence } from "./loss-evidence.js";
import { RegionEvents } from "./region-events.js";
import { importIntoRegion, settleImportInFlight } from "./region-import.js";
import type { RegionOutcome, Trigger } from "./region-outcome.js";

export { ImportNotConfirmedError, PrimaryNotImportedError } from "./region-import.js";

export type { RegionOutcome, Trigger } from "./region-outcome.js";

/**
 * Brings one Region of one key to what its policy wants, under a lease so no other worker acts on it at
 * the same time: reads KMS (the truth about material), decides (lib/domain/decision.ts, then the region
 * rules of lib/domain/region-rules.ts), acts, records, audits. "busy" when another worker holds the Region.
 *
 * Crash safety: an import is announced in the region record (importInFlight, with the audit event id it
 * will be recorded under) before ImportKeyMaterial; the audit event is written before the record is
 * updated. So after a crash anywhere, the next run sees the intent, asks KMS whether the import happened,
 * and records it once (same event id, so no duplicate in the history) or forgets it
 * (lib/lifecycle/region/region-import.ts).
 */
export function reconcileRegion(
  deps: LifecycleDeps,
  keyId: TetherKeyId,
  region: AwsRegion,
  trigger: Trigger,
): Promise<RegionOutcome> {
  return reconcileLeased(deps, keyId, region, trigger, 0);
}

/**
 * reconcileRegion for a caller that must not give up because a sweep holds the region for a moment (an
 * operator's request, a registration, a KMS event): tries again briefly while the region is busy.
 * Returns "busy" only if it stayed busy for about two seconds.
 */
export function reconcileWhenFree(
  deps: LifecycleDeps,
  keyId: TetherKeyId,
  region: AwsRegion,
  trigger: Trigger,
): Promise<RegionOutcome> {
  return reconcileLeased(deps, keyId, region, trigger, BUSY_RETRIES);
}

async function reconcileLeased(
  deps: LifecycleDeps,
  keyId: TetherKeyId,
  region: AwsRegion,
  trigger: Trigger,
  retries: number,
): Promise<RegionOutcome> {
  const leased = await withLease(
    deps,
    keyId,
    region,
    async (lease): Promise<RegionOutcome> => {
      try {
        return await new RegionRun(deps, lease, trigger).run();
      } catch (error) {
        if (error instanceof LeaseNotAcquiredError) return { kind: "lease-lost" };
        throw error;
      }
    },
    { retries },
  );
  return leased.acquired ? leased.value : { kind: "busy" };
}

class RegionRun {
  readonly #events: RegionEvents;
  /** The key as read at the start of the run (for the rotation schedule). */
  #key: ManagedKey | undefined;

  constructor(
    private readonly deps: LifecycleDeps,
    private readonly lease: Lease,
    private readonly trigger: Trigger,
  ) {
    this.#events = new RegionEvents(deps, trigger);
  }

  /** Read (the record, then KMS), settle a crashed import, decide, act. */
  async run(): Promise<RegionOutcome> {
    const { deps, lease } = this;
    const key = await this.#load();
    const start = key === undefined ? undefined : findRegion(key, lease.region);
    if (key === undefined || start === undefined) return { kind: "gone" };
    this.#key = key;

    const now = deps.clock();
    // Every save of this run places the Region in the due-work index at its key's priority.
    const beforeLoss = withKeyPriority(start, key);
    const loss = this.#knownLoss();
    const applied = applyKnownLoss(beforeLoss, loss, now);
    if (applied.staleExpiry) {
      this.#log("warn", "late expiry event about earlier material: not read as an expiry", {
        eventAt: loss.at?.toISOString(),
      });
    }
    let record = applied.record;
    let observed: ObservedKeyState;
    try {
      observed = await deps.kms.describeKey(lease.region, record.keyArn);
    } catch (error) {
      return this.#fail(key, record, error, now);
    }
    if (record !== beforeLoss && deleteContradictedByKms(loss, observed)) {
      this.#log("warn", "out-of-band delete record about material that is back: not recorded as a loss", {
        eventAt: loss.evidence?.kind === "out-of-band" ? loss.evidence.at.toISOString() : undefined,
      });
      record = beforeLoss;
    }
    record = recordObservation(record, observed, now);
    const unconfirmed = importLeftUnconfirmed(record.importInFlight, observed);
    record = this.#settle(key, record, observed);
    const { evidence } = this.trigger;
    const decided = await decideWithEvidence(deps, key, record, observed, now, evidence, unconfirmed);
    const decision = applyOperatorRequest(decided, this.trigger.operator, key, record, observed, now);
    this.#log("info", decision.summary, { decision: decision.kind });
    const unfinished = unfinishedRotationFinding(key, record, now);
    if (unfinished !== undefined) this.#events.alert(key, record, unfinished, now);
    return this.#act(key, record, decision, observed, now);
  }

  #knownLoss(): KnownLoss {
    const { knownLoss, knownLossAt, evidence } = this.trigger;
    return { cause: knownLoss, at: knownLossAt, evidence };
  }

  async #act(
    key: ManagedKey,
    record: RegionRecord,
    decision: RegionDecision,
    observed: ObservedKeyState,
    now: Date,
  ): Promise<RegionOutcome> {
    switch (decision.kind) {
      case "none":
        if (decision.warning !== undefined) this.#events.alert(key, record, decision.warning, now);
        return this.#finish(scheduleCheck(record, decision.nextCheckAt), { kind: "none" });
      case "standstill":
        return this.#finish(scheduleCheck(record, decision.nextCheckAt), { kind: "standstill" });
      case "attributing": {
        // Once per loss: the first sight raises the alert and starts the grace; later visits only look.
        let next = record;
        if (record.unexplainedSince === undefined) {
          this.#events.alert(key, record, decision.alert, now);
          this.#events.fact(AuditDetailType.KeyMaterialLost, key, record, now, decision.summary);
          next = recordLossAlerted(recordUnexplainedLoss(record, now), decision.alert.reason);
        }
        return this.#finish(scheduleCheck(next, decision.nextCheckAt), { kind: "attributing" });
      }
      case "alert":
        return this.#finish(scheduleCheck(this.#tell(key, record, decision, now), decision.nextCheckAt), {
          kind: "alert",
        });
      case "revoke":
        return this.#revoke(key, record, now);
      case "renew":
        if (decision.warning !== undefined) this.#events.alert(key, record, decision.warning, now);
        return this.#import(key, record, "renew", now, decision.summary, observed);
      case "restore":
        return this.#restore(key, record, decision, observed, now);
    }
  }

  /**
   * An alert decision: a loss Tether leaves to people is recorded with its cause and told once (not at
   * every visit); any other finding is told at every visit.
   */
  #tell(key: ManagedKey, before: RegionRecord, decision: AlertDecision, now: Date): RegionRecord {
    const { lossCause, deletedBy } = decision;
    if (lossCause === undefined || !isLossAlert(decision.reason)) {
      this.#events.alert(key, before, decision, now);
      return before;
    }
    let record = before.lossCause === lossCause ? before : recordLoss(before, lossCause, now, deletedBy);
    if (record.lossAlerted !== decision.reason) {
      this.#events.alert(key, record, decision, now, deletedBy);
      this.#events.fact(AuditDetailType.KeyMaterialLost, key, record, now, decision.summary, deletedBy);
      record = recordLossAlerted(record, decision.reason);
    }
    return record;
  }

  /** The loss recorded and told before the import, so a failed import is retried without deciding again. */
  #restore(
    key: ManagedKey,
    before: RegionRecord,
    decision: RestoreDecision,
    observed: ObservedKeyState,
    now: Date,
  ): Promise<RegionOutcome> {
    if (decision.cause === "never-imported") {
      return this.#import(key, before, "import", now, decision.summary, observed);
    }
    const { alert, deletedBy } = decision;
    let record =
      before.lossCause === decision.cause ? before : recordLoss(before, decision.cause, now, deletedBy);
    if (alert !== undefined && record.lossAlerted !== alert.reason) {
      this.#events.alert(key, record, alert, now, deletedBy);
      record = recordLossAlerted(record, alert.reason);
    }
    this.#events.fact(AuditDetailType.KeyMaterialLost, key, record, now, decision.summary, deletedBy);
    if (decision.unplannedExpiry) {
      this.#events.alert(key, record, unplannedExpiryFinding(decision.summary), now);
    }
    return this.#import(key, record, "restore", now, decision.summary, observed);
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

  /** A previous run crashed mid-import: KMS says whether the import happened (region-import.ts). */
  #settle(key: ManagedKey, record: RegionRecord, observed: ObservedKeyState): RegionRecord {
    const settled = settleImportInFlight(key, record, observed);
    if (settled.kind === "unprovable") {
      this.#log(
        "warn",
        "an earlier re-import may or may not have completed; KMS looks the same either way",
        {},
      );
    } else if (settled.kind === "not-done") {
      this.#log("warn", "an earlier import did not complete; deciding afresh", {});
    } else if (settled.kind === "done") {
      this.#log("info", "an earlier import completed before a crash; recording it", {});
      this.#events.imported(key, record, settled.intent);
    }
    return settled.record;
  }

  async #import(
    key: ManagedKey,
    before: RegionRecord,
    kind: ImportInFlight["kind"],
    now: Date,
    reason: string,
    observed: ObservedKeyState,
  ): Promise<RegionOutcome> {
    const { deps, lease, trigger } = this;
    const attempt = await importIntoRegion(deps, lease, trigger, key, before, kind, now, observed);
    if (!attempt.ok) return this.#fail(key, attempt.record, attempt.error, now);
    const { intent } = attempt;
    const validTo = intent.validTo;
    this.#events.imported(key, attempt.record, intent, reason);
    // What KMS showed after the import, so readers of the record do not see the state before it.
    const record = recordObservation(
      recordImport(attempt.record, { at: now, validTo }, key.policy),
      attempt.after,
      now,
    );
    return this.#finish(record, { kind: importOutcome(kind) });
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
    this.#events.fact(AuditDetailType.KeyMaterialRevoked, key, record, now, reason);
    return this.#finish(scheduleCheck(record, new Date(now.getTime() + key.policy.reconcileIntervalMs)), {
      kind: "revoked",
    });
  }

  async #fail(key: ManagedKey, before: RegionRecord, error: unknown, now: Date): Promise<RegionOutcome> {
    const name = errorName(error);
    const record = recordFailure(before, name, key.policy, now);
    this.#log("warn", "action failed", { error: name, consecutiveFailures: record.consecutiveFailures });
    this.#events.importFailed(key, record, now, name);
    if (error instanceof MemberAccessError) {
      // The member's trouble, not this key's: one alert names the member (alertMemberAccess), none per key.
      await alertMemberAccess(this.deps, error, this.trigger).catch((cause: unknown) =>
        this.#log("error", "member access alert not raised; the next failure tries again", {
          error: errorName(cause),
        }),
      );
      return this.#finish(record, { kind: "failed", errorName: name });
    }
    const finding = failureFinding(error, record, key);
    if (finding !== undefined) this.#events.alert(key, record, finding, now);
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
    await this.deps.audit.record(...this.#events.all);
    await this.deps.keys.saveRegion(this.lease.keyId, scheduled, this.lease);
    const rotate = key !== undefined && rotationDueAfter(key, record.region, outcome.kind, now);
    return rotate ? { ...outcome, rotationDue: true } : outcome;
  }

  #log(level: "info" | "warn" | "error", message: string, fields: Record<string, unknown>): void {
    this.deps.log?.(level, message, { keyId: this.lease.keyId, region: this.lease.region, ...fields });
  }
}
