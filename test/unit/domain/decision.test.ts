import { describe, expect, it } from "vitest";
import {
  AlertReason,
  decide,
  type KeyFound,
  KeyStatusState,
  LossCause,
  type LossFacts,
  type ManagedKey,
  type ObservedKeyState,
  type RegionDecision,
  type RegionRecord,
} from "../../../lib/domain/index.js";
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

const MINUTE = 60_000;
const DEFAULT = makeKey(); // P30D, renew P7D, reconcile PT6H
const revoked = (key: ManagedKey): ManagedKey => ({
  ...key,
  status: { state: KeyStatusState.Revoked, reason: "kill switch", actor: "alice", at: at(-HOUR) },
});
const paused = (key: ManagedKey): ManagedKey => ({
  ...key,
  status: { state: KeyStatusState.Paused, reason: "maintenance", actor: "alice", at: at(-HOUR) },
});
/** Imported 10 days ago with a 30-day validity: ValidTo in 20 days. */
const healthy = (key: ManagedKey, validTo = at(20 * DAY)): RegionRecord =>
  importedRegion(key, at(-10 * DAY), validTo);
const lost = (key: ManagedKey, cause: LossCause | undefined, validTo = at(20 * DAY)): RegionRecord => ({
  ...healthy(key, validTo),
  materialExpected: cause === undefined,
  lossCause: cause,
});

interface Row {
  name: string;
  key: ManagedKey;
  region: RegionRecord;
  observed: ObservedKeyState;
  /** The sentinel and CloudTrail's evidence; absent: no sentinel known, nothing found. */
  facts?: LossFacts;
  expected: Partial<Record<string, unknown>> & { kind: RegionDecision["kind"] };
}

const HOUR_POLICY = makeKey({ validityPeriod: "PT1H" }); // renew PT15M by default
const FIXED_FAR = makeKey({ validTo: at(400 * DAY).toISOString() });
const FIXED_NEAR = makeKey({ validTo: at(3 * DAY).toISOString() });
const FIXED_PAST = makeKey({ validTo: at(-DAY).toISOString() });
const NO_EXPIRY = makeKey({ expirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" });
const NO_AUTO_RESTORE = makeKey({ restoreAfterLoss: false });
const RESTORE_OOB = makeKey({ restoreAfterOutOfBandDelete: true });

const rows: Row[] = [
  // Active, material present.
  {
    name: "healthy, far from the window: check at the reconcile interval",
    key: DEFAULT,
    region: healthy(DEFAULT),
    observed: found({ validTo: at(20 * DAY) }),
    expected: { kind: "none", nextCheckAt: at(6 * HOUR), warning: undefined },
  },
  {
    name: "window opens in 1 hour: check when it opens",
    key: DEFAULT,
    region: healthy(DEFAULT, at(7 * DAY + HOUR)),
    observed: found({ validTo: at(7 * DAY + HOUR) }),
    expected: { kind: "none", nextCheckAt: at(HOUR) },
  },
  {
    name: "window opens now: renew",
    key: DEFAULT,
    region: healthy(DEFAULT, at(7 * DAY)),
    observed: found({ validTo: at(7 * DAY) }),
    expected: { kind: "renew", overdue: false, currentValidTo: at(7 * DAY) },
  },
  {
    name: "inside the window: renew",
    key: DEFAULT,
    region: healthy(DEFAULT, at(DAY)),
    observed: found({ validTo: at(DAY) }),
    expected: { kind: "renew", overdue: false },
  },
  {
    name: "ValidTo passed but KMS still holds it: renew, overdue",
    key: DEFAULT,
    region: healthy(DEFAULT, at(-1000)),
    observed: found({ validTo: at(-1000) }),
    expected: { kind: "renew", overdue: true },
  },
  {
    name: "KMS ValidTo differs from the imported one: drift warning, still scheduled",
    key: DEFAULT,
    region: healthy(DEFAULT, at(25 * DAY)),
    observed: found({ validTo: at(20 * DAY) }),
    expected: { kind: "none", nextCheckAt: at(6 * HOUR), warningReason: AlertReason.ValidToDrift },
  },
  {
    name: "ValidTo differing by under a second (truncation) is not drift",
    key: DEFAULT,
    region: healthy(DEFAULT, at(20 * DAY + 900)),
    observed: found({ validTo: at(20 * DAY) }),
    expected: { kind: "none", warning: undefined },
  },
  {
    name: "drifted ValidTo inside the window: renew, with the drift warning",
    key: DEFAULT,
    region: healthy(DEFAULT, at(20 * DAY)),
    observed: found({ validTo: at(2 * DAY) }),
    expected: { kind: "renew", warningReason: AlertReason.ValidToDrift },
  },
  {
    name: "material imported without expiry against an expiring policy: renew, critical drift",
    key: DEFAULT,
    region: healthy(DEFAULT),
    observed: found({ expirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", validTo: undefined }),
    expected: { kind: "renew", warningReason: AlertReason.ExpirationModelDrift, warningSeverity: "critical" },
  },
  {
    name: "non-expiring policy, non-expiring material: none",
    key: NO_EXPIRY,
    region: healthy(NO_EXPIRY, undefined as unknown as Date),
    observed: found({ expirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" }),
    expected: { kind: "none", nextCheckAt: at(6 * HOUR) },
  },
  {
    name: "non-expiring policy, material that expires: renew, warning drift",
    key: NO_EXPIRY,
    region: healthy(NO_EXPIRY),
    observed: found({ validTo: at(200 * DAY) }),
    expected: { kind: "renew", warningReason: AlertReason.ExpirationModelDrift, warningSeverity: "warning" },
  },
  {
    name: "expiring material without a ValidTo: alert, don't guess",
    key: DEFAULT,
    region: healthy(DEFAULT),
    observed: found({ validTo: undefined }),
    expected: { kind: "alert", severity: "warning", reason: AlertReason.ValidToUnknown },
  },
  {
    name: "1-hour validity, 30 minutes left: check when the 15-minute window opens",
    key: HOUR_POLICY,
    region: importedRegion(HOUR_POLICY, at(-30 * MINUTE), at(30 * MINUTE)),
    observed: found({ validTo: at(30 * MINUTE) }),
    expected: { kind: "none", nextCheckAt: at(15 * MINUTE) },
  },
  {
    name: "1-hour validity, 10 minutes left: renew",
    key: HOUR_POLICY,
    region: importedRegion(HOUR_POLICY, at(-50 * MINUTE), at(10 * MINUTE)),
    observed: found({ validTo: at(10 * MINUTE) }),
    expected: { kind: "renew", overdue: false },
  },
  // Active, material missing.
  {
    name: "never imported (new key or new replica): restore",
    key: DEFAULT,
    region: primaryOf(DEFAULT),
    observed: pendingImport(),
    expected: { kind: "restore", cause: "never-imported", unplannedExpiry: false },
  },
  {
    name: "gone before ValidTo with no event: unexplained, alert and look for evidence (never a regional loss)",
    key: DEFAULT,
    region: healthy(DEFAULT),
    observed: pendingImport(),
    expected: {
      kind: "attributing",
      nextCheckAt: at(MINUTE),
      graceEndsAt: at(15 * MINUTE),
      alert: expect.objectContaining({ severity: "critical", reason: AlertReason.UnexplainedMaterialLoss }),
    },
  },
  {
    name: "gone before ValidTo, sentinel intact: unexplained, not regional",
    key: DEFAULT,
    region: healthy(DEFAULT),
    observed: pendingImport(),
    facts: { sentinel: "intact" },
    expected: { kind: "attributing" },
  },
  {
    name: "gone before ValidTo, the Region's sentinel lost too: regional loss, restore",
    key: DEFAULT,
    region: healthy(DEFAULT),
    observed: pendingImport(),
    facts: { sentinel: "lost" },
    expected: { kind: "restore", cause: LossCause.RegionalLoss, unplannedExpiry: false },
  },
  {
    name: "unexplained and the grace has ended with nothing found: local loss, restore with an alert",
    key: DEFAULT,
    region: { ...healthy(DEFAULT), materialExpected: false, unexplainedSince: at(-15 * MINUTE) },
    observed: pendingImport(),
    expected: {
      kind: "restore",
      cause: LossCause.LocalLoss,
      alert: expect.objectContaining({ reason: AlertReason.LossNotAttributed, severity: "warning" }),
    },
  },
  {
    name: "unexplained, CloudTrail names someone else: out-of-band, critical alert naming them",
    key: DEFAULT,
    region: { ...healthy(DEFAULT), materialExpected: false, unexplainedSince: at(-5 * MINUTE) },
    observed: pendingImport(),
    facts: {
      evidence: {
        kind: "out-of-band",
        eventName: "DeleteImportedKeyMaterial",
        principal: "arn:aws:iam::111122223333:user/security-officer",
        at: at(-6 * MINUTE),
        sourceIp: "203.0.113.7",
      },
    },
    expected: {
      kind: "alert",
      severity: "critical",
      reason: AlertReason.DeletedOutOfBand,
      lossCause: LossCause.DeletedOutOfBand,
      summary: expect.stringContaining("arn:aws:iam::111122223333:user/security-officer"),
    },
  },
  {
    name: "gone after ValidTo with no event: missed expiry, restore, unplanned",
    key: DEFAULT,
    region: healthy(DEFAULT, at(-HOUR)),
    observed: pendingImport(),
    expected: { kind: "restore", cause: LossCause.Expired, unplannedExpiry: true },
  },
  {
    name: "expiry event recorded: restore, unplanned",
    key: DEFAULT,
    region: lost(DEFAULT, LossCause.Expired, at(-HOUR)),
    observed: pendingImport(),
    expected: { kind: "restore", cause: LossCause.Expired, unplannedExpiry: true },
  },
  {
    name: "expired, restoreAfterLoss false: critical alert",
    key: NO_AUTO_RESTORE,
    region: lost(NO_AUTO_RESTORE, LossCause.Expired, at(-HOUR)),
    observed: pendingImport(),
    expected: { kind: "alert", severity: "critical", reason: AlertReason.MaterialLostNotRestored },
  },
  {
    name: "regional loss, restoreAfterLoss false: critical alert",
    key: NO_AUTO_RESTORE,
    region: lost(NO_AUTO_RESTORE, LossCause.RegionalLoss),
    observed: pendingImport(),
    expected: { kind: "alert", severity: "critical", reason: AlertReason.MaterialLostNotRestored },
  },
  {
    name: "deleted out of band, default policy: critical alert only",
    key: DEFAULT,
    region: lost(DEFAULT, LossCause.DeletedOutOfBand),
    observed: pendingImport(),
    expected: { kind: "alert", severity: "critical", reason: AlertReason.DeletedOutOfBand },
  },
  {
    name: "deleted out of band, restoreAfterOutOfBandDelete: restore",
    key: RESTORE_OOB,
    region: lost(RESTORE_OOB, LossCause.DeletedOutOfBand),
    observed: pendingImport(),
    expected: { kind: "restore", cause: LossCause.DeletedOutOfBand, unplannedExpiry: false },
  },
  {
    name: "active after a restore request, region still revoked: restore",
    key: DEFAULT,
    region: lost(DEFAULT, LossCause.RevokedByTether),
    observed: pendingImport(),
    expected: { kind: "restore", cause: LossCause.RevokedByTether },
  },
  // Active, key in a state Tether cannot fix.
  {
    name: "Disabled: warning alert, checked by the material's ValidTo",
    key: DEFAULT,
    region: healthy(DEFAULT, at(7 * DAY + HOUR)),
    observed: found({ keyState: "Disabled", enabled: false, validTo: at(7 * DAY + HOUR) }),
    expected: { kind: "alert", severity: "warning", reason: AlertReason.KeyDisabled, nextCheckAt: at(HOUR) },
  },
  {
    name: "PendingDeletion: critical alert",
    key: DEFAULT,
    region: healthy(DEFAULT),
    observed: found({ keyState: "PendingDeletion", enabled: false, deletionDate: at(7 * DAY) }),
    expected: { kind: "alert", severity: "critical", reason: AlertReason.KeyPendingDeletion },
  },
  {
    name: "PendingReplicaDeletion: critical alert",
    key: DEFAULT,
    region: healthy(DEFAULT),
    observed: found({ keyState: "PendingReplicaDeletion", enabled: false }),
    expected: { kind: "alert", severity: "critical", reason: AlertReason.ReplicaPendingDeletion },
  },
  {
    name: "Unavailable: critical alert",
    key: DEFAULT,
    region: healthy(DEFAULT),
    observed: found({ keyState: "Unavailable", enabled: false }),
    expected: { kind: "alert", severity: "critical", reason: AlertReason.KeyUnavailable },
  },
  {
    name: "Creating: look again in 5 minutes",
    key: DEFAULT,
    region: primaryOf(DEFAULT),
    observed: found({ keyState: "Creating" }),
    expected: { kind: "none", nextCheckAt: at(5 * MINUTE) },
  },
  {
    name: "unknown KeyState: warning alert",
    key: DEFAULT,
    region: healthy(DEFAULT),
    observed: found({ keyState: "Frozen" }),
    expected: { kind: "alert", severity: "warning", reason: AlertReason.UnknownKeyState },
  },
  {
    name: "key not found: critical alert",
    key: DEFAULT,
    region: healthy(DEFAULT),
    observed: NOT_FOUND,
    expected: { kind: "alert", severity: "critical", reason: AlertReason.KeyNotFound },
  },
  {
    name: "origin AWS_KMS: critical alert",
    key: DEFAULT,
    region: healthy(DEFAULT),
    observed: found({ origin: "AWS_KMS" }),
    expected: { kind: "alert", severity: "critical", reason: AlertReason.OriginNotExternal },
  },
  {
    name: "another key spec: critical alert",
    key: DEFAULT,
    region: healthy(DEFAULT),
    observed: found({ keySpec: "RSA_2048", validTo: at(20 * DAY) }),
    expected: { kind: "alert", severity: "critical", reason: AlertReason.KeySpecMismatch },
  },
  // Paused and revoked.
  {
    name: "paused, material missing: standstill",
    key: paused(DEFAULT),
    region: healthy(DEFAULT),
    observed: pendingImport(),
    expected: { kind: "standstill", reason: "paused", nextCheckAt: at(6 * HOUR) },
  },
  {
    name: "paused, renewal due: standstill",
    key: paused(DEFAULT),
    region: healthy(DEFAULT, at(DAY)),
    observed: found({ validTo: at(DAY) }),
    expected: { kind: "standstill", reason: "paused" },
  },
  {
    name: "revoked, material gone: standstill (still watched)",
    key: revoked(DEFAULT),
    region: lost(DEFAULT, LossCause.RevokedByTether),
    observed: pendingImport(),
    expected: { kind: "standstill", reason: "revoked", nextCheckAt: at(6 * HOUR) },
  },
  {
    name: "revoked, material re-imported after Tether deleted it: critical drift",
    key: revoked(DEFAULT),
    region: lost(DEFAULT, LossCause.RevokedByTether),
    observed: found({ validTo: at(30 * DAY) }),
    expected: { kind: "alert", severity: "critical", reason: AlertReason.MaterialPresentAfterRevoke },
  },
  {
    name: "revoked, this region's deletion not done yet: revoke",
    key: revoked(DEFAULT),
    region: healthy(DEFAULT),
    observed: found({ validTo: at(20 * DAY) }),
    expected: { kind: "revoke" },
  },
  {
    name: "revoked, disabled key still holding material: revoke",
    key: revoked(DEFAULT),
    region: healthy(DEFAULT),
    observed: found({ keyState: "Disabled", enabled: false, validTo: at(20 * DAY) }),
    expected: { kind: "revoke" },
  },
  {
    name: "revoked, key gone: standstill",
    key: revoked(DEFAULT),
    region: healthy(DEFAULT),
    observed: NOT_FOUND,
    expected: { kind: "standstill", reason: "revoked" },
  },
  // A fixed ValidTo.
  {
    name: "fixed ValidTo beyond 365 days, capped import in its window: renew",
    key: FIXED_FAR,
    region: importedRegion(FIXED_FAR, at(-362 * DAY), at(3 * DAY)),
    observed: found({ validTo: at(3 * DAY) }),
    expected: { kind: "renew", overdue: false },
  },
  {
    name: "fixed ValidTo reached by the import, in the window: nothing to renew",
    key: FIXED_NEAR,
    region: importedRegion(FIXED_NEAR, at(-10 * DAY), at(3 * DAY)),
    observed: found({ validTo: at(3 * DAY) }),
    expected: { kind: "none", nextCheckAt: at(6 * HOUR) },
  },
  {
    name: "fixed ValidTo passed, material expired there: standstill, policy ended",
    key: FIXED_PAST,
    region: importedRegion(FIXED_PAST, at(-10 * DAY), at(-DAY)),
    observed: pendingImport(),
    expected: { kind: "standstill", reason: "policy-ended" },
  },
  {
    name: "fixed ValidTo passed, material lost for another reason: warning, cannot import",
    key: FIXED_PAST,
    region: lost(FIXED_PAST, LossCause.RegionalLoss, at(-DAY)),
    observed: pendingImport(),
    expected: { kind: "alert", severity: "warning", reason: AlertReason.PolicyValidToPassed },
  },
  {
    name: "fixed ValidTo passed, KMS not yet deleted: standstill, policy ended",
    key: FIXED_PAST,
    region: importedRegion(FIXED_PAST, at(-10 * DAY), at(-DAY)),
    observed: found({ validTo: at(-1000) }),
    expected: { kind: "standstill", reason: "policy-ended" },
  },
  {
    name: "fixed ValidTo ahead, material expired before it: restore, unplanned",
    key: FIXED_FAR,
    region: lost(FIXED_FAR, LossCause.Expired, at(-HOUR)),
    observed: pendingImport(),
    expected: { kind: "restore", cause: LossCause.Expired, unplannedExpiry: true },
  },
  // Input decide cannot reason about.
  {
    name: "invalid now: warning alert, no throw",
    key: DEFAULT,
    region: healthy(DEFAULT),
    observed: found({ validTo: at(20 * DAY) }),
    expected: { kind: "alert", reason: AlertReason.InvalidInput },
  },
  {
    name: "invalid observed ValidTo: warning alert, no throw",
    key: DEFAULT,
    region: healthy(DEFAULT),
    observed: found({ validTo: new Date(Number.NaN) }),
    expected: { kind: "alert", reason: AlertReason.InvalidInput },
  },
];

function flatten(decision: RegionDecision): Record<string, unknown> {
  const warning = "warning" in decision ? decision.warning : undefined;
  return { ...decision, warningReason: warning?.reason, warningSeverity: warning?.severity };
}

describe("decide", () => {
  it.each(rows)("$name", ({ name, key, region, observed, facts, expected }) => {
    // Prepare
    const now = name.startsWith("invalid now") ? new Date(Number.NaN) : NOW;
    // Act
    const decision = decide(key, region, observed, now, facts);
    // Assess
    expect(flatten(decision)).toMatchObject(expected);
    expect(decision.summary).toContain(key.id);
  });

  it("says which region a summary is about and never mentions the material reference", () => {
    const replica = DEFAULT.regions[1] as RegionRecord;
    const decision = decide(DEFAULT, replica, pendingImport(), NOW);
    expect(decision.summary).toContain("us-east-1");
    expect(decision.summary).not.toContain(DEFAULT.materialRef);
  });
});

// ---------------------------------------------------------------------------------------------------
// Every combination: decide is total, and its decisions keep the rules below whatever the input.

const STATUSES = ["active", "paused", "revoked"] as const;
const KEY_STATES = [
  "Enabled",
  "Disabled",
  "PendingImport",
  "PendingDeletion",
  "PendingReplicaDeletion",
  "Unavailable",
  "Creating",
  "Updating",
  "SomethingNew",
];
const VALID_TOS = [
  undefined,
  at(-DAY),
  at(-1),
  NOW,
  at(10 * MINUTE),
  at(DAY),
  at(7 * DAY),
  at(20 * DAY),
  at(400 * DAY),
];
const POLICIES = [
  {},
  { validityPeriod: "PT1H" },
  { validityPeriod: "P365D", renewBefore: "P30D", reconcileInterval: "P1D" },
  { restoreAfterLoss: false, restoreAfterOutOfBandDelete: true, reconcileInterval: "PT1M" },
  { validTo: at(400 * DAY).toISOString() },
  { validTo: at(3 * DAY).toISOString() },
  { validTo: at(-DAY).toISOString() },
  { expirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" },
];
const CAUSES = [undefined, ...Object.values(LossCause)];

function* combinations(): Generator<[ManagedKey, RegionRecord, ObservedKeyState]> {
  for (const policy of POLICIES) {
    const base = makeKey(policy);
    for (const state of STATUSES) {
      const key: ManagedKey =
        state === "active"
          ? base
          : { ...base, status: { state, reason: "r", actor: "a", at: at(-HOUR) } as ManagedKey["status"] };
      for (const cause of CAUSES) {
        for (const importedValidTo of VALID_TOS) {
          for (const everImported of [true, false]) {
            const region: RegionRecord = {
              ...primaryOf(key),
              materialExpected: everImported && cause === undefined,
              lastImportedAt: everImported ? at(-30 * DAY) : undefined,
              importedValidTo: everImported ? importedValidTo : undefined,
              lossCause: cause,
            };
            yield [key, region, NOT_FOUND];
            for (const keyState of KEY_STATES) {
              for (const origin of ["EXTERNAL", "AWS_KMS"]) {
                for (const validTo of VALID_TOS) {
                  for (const expirationModel of [
                    undefined,
                    "KEY_MATERIAL_EXPIRES",
                    "KEY_MATERIAL_DOES_NOT_EXPIRE",
                  ]) {
                    const observed: KeyFound = found({ keyState, origin, validTo, expirationModel });
                    yield [key, region, observed];
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

describe("decide over every combination", () => {
  it("never throws, never calls valid input invalid, and keeps every rule", () => {
    let count = 0;
    const kinds = new Set<string>();
    for (const [key, region, observed] of combinations()) {
      count++;
      const decision = decide(key, region, observed, NOW);
      kinds.add(decision.kind);
      const context = () =>
        JSON.stringify({ policy: key.policy, status: key.status, region, observed, decision });
      const fail = (rule: string) => expect.fail(`${rule}: ${context()}`);

      if (decision.kind === "alert" && decision.reason === AlertReason.InvalidInput)
        fail("valid input rejected");
      if (
        decision.kind === "none" ||
        decision.kind === "alert" ||
        decision.kind === "standstill" ||
        decision.kind === "attributing"
      ) {
        const next = decision.nextCheckAt.getTime();
        if (!(next > NOW.getTime())) fail("next check not in the future");
        if (!(next <= NOW.getTime() + key.policy.reconcileIntervalMs))
          fail("next check beyond the reconcile interval");
      }
      const status = key.status.state;
      if (status !== "active" && (decision.kind === "renew" || decision.kind === "restore")) {
        fail(`${status} key imported into`);
      }
      if (status === "paused" && decision.kind !== "standstill") fail("paused key not standing still");
      if (decision.kind === "revoke" && status !== "revoked") fail("revoke of a key not revoked");
      if (decision.kind === "renew" && !(observed.found && observed.keyState === "Enabled")) {
        fail("renew without material present");
      }
      if (decision.kind === "restore" && !(observed.found && observed.keyState === "PendingImport")) {
        fail("restore while KMS does not say PendingImport");
      }
      if (decision.kind === "restore" || decision.kind === "renew") {
        if (observed.found && observed.origin !== "EXTERNAL") fail("import into a non-EXTERNAL key");
        const policy = key.policy;
        if (policy.expirationModel === "KEY_MATERIAL_EXPIRES" && policy.validity.kind === "fixed") {
          if (policy.validity.validTo.getTime() < NOW.getTime() + MINUTE)
            fail("import after the policy's end");
        }
      }
      if (decision.kind === "restore") {
        if (decision.cause === LossCause.DeletedOutOfBand && !key.policy.restoreAfterOutOfBandDelete) {
          fail("out-of-band deletion restored against the policy");
        }
        if (
          (decision.cause === LossCause.Expired ||
            decision.cause === LossCause.RegionalLoss ||
            decision.cause === LossCause.LocalLoss) &&
          !key.policy.restoreAfterLoss
        ) {
          fail("loss restored against the policy");
        }
        if (decision.unplannedExpiry && decision.cause !== LossCause.Expired)
          fail("unplanned expiry without expiry");
        // No sentinel known here: material gone before its ValidTo is never assumed a regional loss.
        if (decision.cause === LossCause.RegionalLoss && region.lossCause !== LossCause.RegionalLoss) {
          fail("regional loss assumed without the sentinel");
        }
      }
      if (
        status === "revoked" &&
        region.lossCause === LossCause.RevokedByTether &&
        observed.found &&
        observed.origin === "EXTERNAL" &&
        (observed.keyState === "Enabled" || observed.keyState === "Disabled") &&
        !(decision.kind === "alert" && decision.severity === "critical")
      ) {
        fail("re-import after revoke not a critical alert");
      }
    }
    expect(count).toBeGreaterThan(100_000);
    expect([...kinds].sort()).toEqual([
      "alert",
      "attributing",
      "none",
      "renew",
      "restore",
      "revoke",
      "standstill",
    ]);
  });

  it("is total on malformed input too (seeded fuzz)", () => {
    // A small deterministic generator, so a failure reproduces.
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
    const dates = [undefined, new Date(Number.NaN), at(-DAY), NOW, at(DAY), new Date(0), new Date(8.64e15)];
    const junk = [undefined, null, "", "Enabled", 42, {}, []];
    for (let i = 0; i < 20_000; i++) {
      const key = makeKey(pick(POLICIES));
      const mangledKey = {
        ...key,
        status: pick([key.status, { state: "weird" }, { state: "revoked" }]),
        policy: pick([
          key.policy,
          { ...key.policy, reconcileIntervalMs: pick([0, -1, Number.NaN, 1]) },
          { ...key.policy, renewBeforeMs: Number.NaN },
          { ...key.policy, expirationModel: "SOMETIMES" },
          { ...key.policy, validity: { kind: "fixed", validTo: new Date(Number.NaN) } },
        ]),
      } as unknown as ManagedKey;
      const region = {
        ...primaryOf(key),
        lastImportedAt: pick(dates),
        importedValidTo: pick(dates),
        lossCause: pick([...CAUSES, "mystery"]),
      } as RegionRecord;
      const observed = pick([
        NOT_FOUND,
        found({ keyState: pick(junk) as string, validTo: pick(dates), keySpec: pick(junk) as string }),
        found({ expirationModel: pick(junk) as string, validTo: pick(dates), origin: pick(junk) as string }),
        found({ keyState: "PendingImport", validTo: pick(dates) }),
      ]);
      const now = pick([NOW, new Date(Number.NaN), at(300 * DAY)]);
      const decision = decide(mangledKey, region, observed, now);
      expect(["none", "renew", "restore", "revoke", "alert", "standstill", "attributing"]).toContain(
        decision.kind,
      );
    }
    expect(decide(null as unknown as ManagedKey, null as unknown as RegionRecord, NOT_FOUND, NOW).kind).toBe(
      "alert",
    );
  });
});
