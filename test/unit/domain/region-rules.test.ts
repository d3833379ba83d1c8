import { describe, expect, it } from "vitest";
import {
  type AlertFinding,
  AlertReason,
  AlertSeverity,
  AuditDetailType,
  CheckValueMismatchError,
  decide,
  type ImportInFlight,
  IncorrectKeyMaterialError,
  KeyStatusState,
  KmsThrottledError,
  LossCause,
  type ManagedKey,
  type RegionDecision,
  type RegionRecord,
  sameValidTo,
  VALID_TO_TOLERANCE_MS,
  VaultError,
} from "../../../lib/domain/index.js";
import {
  ALERT_AFTER_FAILURES,
  alertDetailTypes,
  applyKnownLoss,
  applyOperatorRequest,
  deleteContradictedByKms,
  failureFinding,
  importConfirmed,
  importedDetailType,
  importLeftUnconfirmed,
  importOutcome,
  isLossAlert,
  lossOpenToCause,
  type OperatorRequest,
  rotationDueAfter,
  UNFINISHED_ROTATION_GRACE_MS,
  unfinishedRotationFinding,
} from "../../../lib/domain/region-rules.js";
import {
  at,
  DAY,
  found,
  HOUR,
  importedRegion,
  makeKey,
  NOT_FOUND,
  NOW,
  pendingImport,
  primaryOf,
} from "./support.js";

const KEY = makeKey();
const healthy = importedRegion(KEY, at(-10 * DAY), at(20 * DAY));
const withStatus = (state: "paused" | "revoked"): ManagedKey => ({
  ...KEY,
  status: {
    state: state === "paused" ? KeyStatusState.Paused : KeyStatusState.Revoked,
    reason: "test",
    actor: "alice",
    at: at(-HOUR),
  },
});
const next = at(HOUR);
const alertOf = (reason: AlertReason): RegionDecision => ({
  kind: "alert",
  severity: AlertSeverity.Critical,
  reason,
  summary: reason,
  nextCheckAt: next,
});

describe("applyOperatorRequest: an operator's request applied to a decision", () => {
  const none: RegionDecision = { kind: "none", nextCheckAt: next, summary: "fine" };
  const attributing: RegionDecision = {
    kind: "attributing",
    nextCheckAt: next,
    graceEndsAt: next,
    alert: { severity: AlertSeverity.Critical, reason: AlertReason.UnexplainedMaterialLoss, summary: "?" },
    summary: "looking",
  };
  const standstill = (reason: "paused" | "revoked" | "policy-ended"): RegionDecision => ({
    kind: "standstill",
    reason,
    nextCheckAt: next,
    summary: reason,
  });
  const cases: ReadonlyArray<{
    name: string;
    decision: RegionDecision;
    operator: OperatorRequest | undefined;
    observed: Parameters<typeof applyOperatorRequest>[4];
    expected: RegionDecision["kind"] | { kind: "restore"; cause: LossCause };
  }> = [
    {
      name: "no request: the decision stands",
      decision: none,
      operator: undefined,
      observed: found(),
      expected: "none",
    },
    {
      name: "reimport of enabled material: renew",
      decision: none,
      operator: "reimport",
      observed: found(),
      expected: "renew",
    },
    {
      name: "reimport without material: nothing",
      decision: none,
      operator: "reimport",
      observed: pendingImport(),
      expected: "none",
    },
    {
      name: "restore of present material: nothing",
      decision: none,
      operator: "restore",
      observed: found(),
      expected: "none",
    },
    ...[AlertReason.DeletedOutOfBand, AlertReason.MaterialLostNotRestored, AlertReason.LossNotAttributed].map(
      (reason) => ({
        name: `any request for ${reason}: restore`,
        decision: alertOf(reason),
        operator: "reimport" as const,
        observed: pendingImport(),
        expected: { kind: "restore" as const, cause: LossCause.DeletedOutOfBand },
      }),
    ),
    {
      name: "another alert stays",
      decision: alertOf(AlertReason.KeyDisabled),
      operator: "restore",
      observed: found(),
      expected: "alert",
    },
    {
      name: "restore while attributing: restore",
      decision: attributing,
      operator: "restore",
      observed: pendingImport(),
      expected: { kind: "restore", cause: LossCause.DeletedOutOfBand },
    },
    {
      name: "reimport while attributing: stays",
      decision: attributing,
      operator: "reimport",
      observed: pendingImport(),
      expected: "attributing",
    },
    {
      name: "paused without material: restore (regional loss)",
      decision: standstill("paused"),
      operator: "restore",
      observed: pendingImport(),
      expected: { kind: "restore", cause: LossCause.RegionalLoss },
    },
    {
      name: "paused with material: stays",
      decision: standstill("paused"),
      operator: "reimport",
      observed: found(),
      expected: "standstill",
    },
    {
      name: "revoked: never",
      decision: standstill("revoked"),
      operator: "restore",
      observed: pendingImport(),
      expected: "standstill",
    },
    {
      name: "policy ended: never",
      decision: standstill("policy-ended"),
      operator: "restore",
      observed: pendingImport(),
      expected: "standstill",
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const result = applyOperatorRequest(c.decision, c.operator, KEY, healthy, c.observed, NOW);
      if (typeof c.expected === "string") expect(result.kind).toBe(c.expected);
      else expect(result).toMatchObject(c.expected);
    });
  }

  it("awaiting an operator: decided again without the refused attempt, then the request applies", () => {
    const due: RegionRecord = {
      ...importedRegion(KEY, at(-27 * DAY), at(3 * DAY)),
      lastFailure: "IncorrectKeyMaterialError",
      consecutiveFailures: 1,
    };
    const observed = found({ validTo: at(3 * DAY) });
    const waiting = decide(KEY, due, observed, NOW);
    expect(waiting).toMatchObject({ kind: "standstill", reason: "awaiting-operator" });
    expect(applyOperatorRequest(waiting, undefined, KEY, due, observed, NOW)).toBe(waiting);
    expect(applyOperatorRequest(waiting, "reimport", KEY, due, observed, NOW).kind).toBe("renew");
  });

  it("a paused key's standstill is left for a revoked key", () => {
    const decision = decide(withStatus("revoked"), healthy, pendingImport(), NOW);
    expect(
      applyOperatorRequest(decision, "restore", withStatus("revoked"), healthy, pendingImport(), NOW).kind,
    ).not.toBe("restore");
  });
});

describe("applyKnownLoss and deleteContradictedByKms: a loss an event reports", () => {
  it("records the cause of expected material, with the delete's record as evidence", () => {
    const evidence = {
      kind: "out-of-band",
      eventName: "DeleteImportedKeyMaterial",
      principal: "arn:aws:iam::111122223333:user/x",
      at: at(-HOUR),
    } as const;
    const { record, staleExpiry } = applyKnownLoss(
      healthy,
      { cause: LossCause.DeletedOutOfBand, evidence },
      NOW,
    );
    expect(staleExpiry).toBe(false);
    expect(record.lossCause).toBe(LossCause.DeletedOutOfBand);
    expect(record.materialExpected).toBe(false);
    expect(record.deletedBy).toBe(evidence.principal);
  });

  it("leaves a settled cause alone, and a record without a loss", () => {
    const revoked: RegionRecord = {
      ...primaryOf(KEY),
      materialExpected: false,
      lossCause: LossCause.RevokedByTether,
    };
    expect(applyKnownLoss(revoked, { cause: LossCause.Expired }, NOW).record).toBe(revoked);
    expect(applyKnownLoss(healthy, {}, NOW).record).toBe(healthy);
  });

  it("does not read a late expiry event about earlier material as an expiry", () => {
    const result = applyKnownLoss(healthy, { cause: LossCause.Expired, at: at(-20 * DAY) }, NOW);
    expect(result).toEqual({ record: healthy, staleExpiry: true });
  });

  it.each([
    [LossCause.LocalLoss, true],
    [undefined, true],
    [LossCause.Expired, false],
    [LossCause.RegionalLoss, false],
    [LossCause.DeletedOutOfBand, false],
  ])("a missing material with cause %s is open to an event's cause: %s", (lossCause, open) => {
    expect(lossOpenToCause({ ...primaryOf(KEY), materialExpected: false, lossCause })).toBe(open);
  });

  it("an out-of-band delete is contradicted only by enabled material", () => {
    const loss = { cause: LossCause.DeletedOutOfBand };
    expect(deleteContradictedByKms(loss, found())).toBe(true);
    expect(deleteContradictedByKms(loss, pendingImport())).toBe(false);
    expect(deleteContradictedByKms(loss, NOT_FOUND)).toBe(false);
    expect(deleteContradictedByKms({ cause: LossCause.Expired }, found())).toBe(false);
  });
});

describe("one ValidTo tolerance", () => {
  it.each([
    [0, true],
    [VALID_TO_TOLERANCE_MS, true],
    [VALID_TO_TOLERANCE_MS + 1, false],
    [-VALID_TO_TOLERANCE_MS - 1, false],
  ])("ValidTo %i ms apart is the same: %s", (delta, same) => {
    expect(sameValidTo(at(DAY), at(DAY + delta))).toBe(same);
  });

  it("absent is the same only as absent", () => {
    expect(sameValidTo(undefined, undefined)).toBe(true);
    expect(sameValidTo(undefined, at(DAY))).toBe(false);
  });

  it("an import is confirmed by enabled material with its ValidTo, within the tolerance", () => {
    expect(importConfirmed(found({ validTo: at(DAY + 999) }), at(DAY))).toBe(true);
    expect(importConfirmed(found({ validTo: at(DAY + 2000) }), at(DAY))).toBe(false);
    expect(importConfirmed(pendingImport(), undefined)).toBe(false);
    expect(importConfirmed(NOT_FOUND, at(DAY))).toBe(false);
  });

  it("an import intent with no material in KMS is left unconfirmed: it may have been deleted since", () => {
    const intent: ImportInFlight = {
      kind: "restore",
      startedAt: at(0),
      validTo: at(DAY),
      eventId: "e",
      correlationId: "c",
      actor: "operator",
    };
    expect(importLeftUnconfirmed(intent, pendingImport())).toBe(true);
    expect(importLeftUnconfirmed(intent, found())).toBe(false);
    expect(importLeftUnconfirmed(intent, NOT_FOUND)).toBe(false);
    expect(importLeftUnconfirmed(undefined, pendingImport())).toBe(false);
  });
});

describe("the alert policy", () => {
  const record = (failures: number): RegionRecord => ({ ...healthy, consecutiveFailures: failures });
  const unfit = Object.assign(new VaultError("unfit"), { name: "InvalidMaterialError" });
  const cases: ReadonlyArray<[string, unknown, number, AlertReason | undefined, AlertSeverity | undefined]> =
    [
      [
        "KMS refuses the material",
        new IncorrectKeyMaterialError({ keyId: "k" }),
        1,
        AlertReason.IncorrectKeyMaterial,
        AlertSeverity.Critical,
      ],
      [
        "the check value differs",
        new CheckValueMismatchError({ keyId: "k", materialRef: "m" }),
        1,
        AlertReason.CheckValueMismatch,
        AlertSeverity.Critical,
      ],
      ["the vault's material is unfit", unfit, 1, AlertReason.MaterialUnfit, AlertSeverity.Critical],
      [
        "the vault fails once",
        new VaultError("down"),
        1,
        AlertReason.VaultUnavailable,
        AlertSeverity.Warning,
      ],
      [
        "the vault fails repeatedly",
        new VaultError("down"),
        ALERT_AFTER_FAILURES,
        AlertReason.VaultUnavailable,
        AlertSeverity.Critical,
      ],
      [
        "KMS throttles once",
        new KmsThrottledError({ keyId: "k", operation: "ImportKeyMaterial" }),
        ALERT_AFTER_FAILURES - 1,
        undefined,
        undefined,
      ],
      [
        "anything fails repeatedly",
        new Error("boom"),
        ALERT_AFTER_FAILURES,
        AlertReason.ImportFailing,
        AlertSeverity.Critical,
      ],
    ];
  for (const [name, error, failures, reason, severity] of cases) {
    it(`failureFinding: ${name}`, () => {
      const finding = failureFinding(error, record(failures), KEY);
      expect(finding?.reason).toBe(reason);
      expect(finding?.severity).toBe(severity);
      if (finding !== undefined) expect(finding.summary).toContain(KEY.id);
    });
  }

  const finding = (reason: AlertReason, severity: AlertSeverity): AlertFinding => ({
    reason,
    severity,
    summary: "s",
  });
  it.each([
    [AlertReason.ValidToDrift, AlertSeverity.Warning, [AuditDetailType.DriftDetected]],
    [
      AlertReason.DeletedOutOfBand,
      AlertSeverity.Critical,
      [AuditDetailType.DriftDetected, AuditDetailType.TetherAlert],
    ],
    [
      AlertReason.KeySpecMismatch,
      AlertSeverity.Critical,
      [AuditDetailType.DriftDetected, AuditDetailType.TetherAlert],
    ],
    [AlertReason.ImportFailing, AlertSeverity.Critical, [AuditDetailType.TetherAlert]],
    [AlertReason.VaultUnavailable, AlertSeverity.Warning, [AuditDetailType.TetherAlert]],
  ])("%s (%s) is told as %j", (reason, severity, detailTypes) => {
    expect(alertDetailTypes(finding(reason, severity))).toEqual(detailTypes);
  });

  it("loss alerts are the losses Tether leaves to people", () => {
    expect(isLossAlert(AlertReason.DeletedOutOfBand)).toBe(true);
    expect(isLossAlert(AlertReason.LossNotAttributed)).toBe(true);
    expect(isLossAlert(AlertReason.KeyDisabled)).toBe(false);
  });

  it("an unfinished rotation is told on the primary after the grace, naming rotation or swap", () => {
    const started = {
      materialRef: KEY.materialRef,
      checkValue: KEY.checkValue,
      startedAt: at(-UNFINISHED_ROTATION_GRACE_MS),
      steps: {},
      eventId: "e",
      correlationId: "c",
      actor: "alice",
      reason: "r",
    };
    const rotating: ManagedKey = { ...KEY, pendingRotation: started };
    expect(unfinishedRotationFinding(rotating, healthy, NOW)?.summary).toContain("a rotation started");
    expect(unfinishedRotationFinding(rotating, healthy, at(-1))).toBeUndefined();
    const replica = KEY.regions[1] as RegionRecord;
    expect(unfinishedRotationFinding(rotating, replica, NOW)).toBeUndefined();
    const swapping: ManagedKey = {
      ...KEY,
      pendingSwap: { ...started, successorId: KEY.id, alias: "alias/x" },
    };
    expect(unfinishedRotationFinding(swapping, healthy, NOW)?.summary).toContain("a key swap started");
    expect(unfinishedRotationFinding(KEY, healthy, NOW)).toBeUndefined();
  });
});

describe("import kinds and the rotation schedule", () => {
  it.each([
    ["import", AuditDetailType.KeyMaterialImported, "imported"],
    ["renew", AuditDetailType.KeyMaterialRenewed, "renewed"],
    ["restore", AuditDetailType.KeyMaterialRestored, "restored"],
  ] as const)("%s is recorded as %s, outcome %s", (kind, detailType, outcome) => {
    expect(importedDetailType(kind)).toBe(detailType);
    expect(importOutcome(kind)).toBe(outcome);
  });

  it("a rotation is due only after a healthy visit of the primary of a key whose schedule is due", () => {
    const scheduled = makeKey({ rotateEvery: "P90D" }, { createdAt: at(-100 * DAY) });
    const primary = scheduled.primaryRegion;
    const replica = (scheduled.regions[1] as RegionRecord).region;
    expect(rotationDueAfter(scheduled, primary, "none", NOW)).toBe(true);
    expect(rotationDueAfter(scheduled, primary, "renewed", NOW)).toBe(true);
    expect(rotationDueAfter(scheduled, primary, "failed", NOW)).toBe(false);
    expect(rotationDueAfter(scheduled, replica, "none", NOW)).toBe(false);
    expect(rotationDueAfter(KEY, KEY.primaryRegion, "none", NOW)).toBe(false);
  });
});
