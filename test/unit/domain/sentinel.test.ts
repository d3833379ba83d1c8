import { describe, expect, it } from "vitest";
import { SentinelHealth } from "../../../lib/domain/attribution.js";
import { parseAwsRegion } from "../../../lib/domain/ids.js";
import { LossCause } from "../../../lib/domain/managed-key.js";
import {
  blindnessAlert,
  type IncidentKeyState,
  probeVerdict,
  type RegionalIncident,
  recoveryProgress,
  restoresAfter,
  type SentinelRecord,
  sentinelAlias,
  sentinelBlind,
  sentinelHealth,
} from "../../../lib/domain/sentinel.js";

const REGION = parseAwsRegion("eu-west-1");
const T0 = new Date("2026-01-01T00:00:00.000Z");
const LATER = new Date("2026-01-01T00:05:00.000Z");
const READY: SentinelRecord = {
  region: REGION,
  keyArn: "arn:aws:kms:eu-west-1:111122223333:key/00000000-0000-0000-0000-000000000001",
  materialRef: "tether-sentinel/eu-west-1",
  state: "ready",
  createdAt: T0,
  lastProbeState: "Enabled",
  lastProbeAt: T0,
};
const OPEN: RegionalIncident = {
  region: REGION,
  sentinelArn: READY.keyArn ?? "",
  openedAt: T0,
  keysMadeDue: 3,
};

describe("sentinelHealth", () => {
  it.each([
    ["no sentinel", undefined, undefined, SentinelHealth.Unknown],
    ["being created", { ...READY, state: "creating" as const }, undefined, SentinelHealth.Unknown],
    ["probed Enabled", READY, undefined, SentinelHealth.Intact],
    [
      "probed PendingImport, no incident yet",
      { ...READY, lastProbeState: "PendingImport" },
      undefined,
      SentinelHealth.Unknown,
    ],
    ["not probed", { ...READY, lastProbeState: undefined }, undefined, SentinelHealth.Unknown],
    ["an open incident", READY, OPEN, SentinelHealth.Lost],
    ["a closed incident", READY, { ...OPEN, closedAt: LATER }, SentinelHealth.Intact],
  ])("%s", (_name, sentinel, incident, expected) => {
    expect(sentinelHealth(sentinel, incident)).toBe(expected);
  });
});

describe("probeVerdict", () => {
  it("opens on a ready sentinel in PendingImport with no incident open", () => {
    expect(probeVerdict(READY, "PendingImport", undefined)).toBe("open");
  });
  it.each([
    ["Enabled", READY, "Enabled", undefined],
    ["an incident already open", READY, "PendingImport", OPEN],
    ["a sentinel still being created", { ...READY, state: "creating" as const }, "PendingImport", undefined],
    ["NotFound (not a loss of material)", READY, "NotFound", undefined],
    ["Disabled", READY, "Disabled", undefined],
  ])("opens nothing: %s", (_name, sentinel, state, incident) => {
    expect(probeVerdict(sentinel, state, incident)).toBe("none");
  });
});

describe("recoveryProgress", () => {
  const key = (over: Partial<IncidentKeyState>): IncidentKeyState => ({
    active: true,
    materialExpected: false,
    visitedSinceOpen: true,
    restores: true,
    ...over,
  });
  it("counts restored keys and the last restore; nothing pending", () => {
    expect(
      recoveryProgress(T0, [
        key({ materialExpected: true, lastImportedAt: T0 }),
        key({ materialExpected: true, lastImportedAt: LATER }),
      ]),
    ).toEqual({ pending: 0, restored: 2, notRestored: 0, lastRestoredAt: LATER });
  });
  it("keeps the incident open while a key is not looked at yet or still lost with a restoring policy", () => {
    expect(recoveryProgress(T0, [key({ visitedSinceOpen: false, materialExpected: true })]).pending).toBe(1);
    expect(recoveryProgress(T0, [key({})]).pending).toBe(1);
  });
  it("a key KMS showed Enabled at a visit since the opening is not pending, whatever its record says (seed 1981782715)", () => {
    // The record says lost (a KMS event's loss recorded by a run that failed before DescribeKey), KMS has it.
    const seen = key({ materialExpected: false, presentAtVisit: true });
    expect(recoveryProgress(T0, [{ ...seen, lastImportedAt: LATER }])).toEqual({
      pending: 0,
      restored: 1,
      notRestored: 0,
      lastRestoredAt: LATER,
    });
    expect(recoveryProgress(T0, [seen])).toEqual({ pending: 0, restored: 1, notRestored: 0 });
    // Not looked at since the opening: what KMS showed then says nothing about the loss.
    expect(recoveryProgress(T0, [{ ...seen, visitedSinceOpen: false }]).pending).toBe(1);
    // Seen gone at the visit: still pending with a restoring policy.
    expect(recoveryProgress(T0, [key({ presentAtVisit: false })]).pending).toBe(1);
  });
  it("counts as not restored: paused or revoked keys, and policies that do not restore", () => {
    expect(recoveryProgress(T0, [key({ active: false }), key({ restores: false })])).toEqual({
      pending: 0,
      restored: 0,
      notRestored: 2,
    });
  });
});

describe("restoresAfter", () => {
  const both = { restoreAfterLoss: true, restoreAfterOutOfBandDelete: false };
  it.each([
    ["an unexplained loss", undefined, both, true],
    ["a regional loss", LossCause.RegionalLoss, both, true],
    ["an expiry", LossCause.Expired, both, true],
    ["a local loss", LossCause.LocalLoss, { ...both, restoreAfterLoss: false }, false],
    ["an out-of-band delete kept gone", LossCause.DeletedOutOfBand, both, false],
    [
      "an out-of-band delete restored",
      LossCause.DeletedOutOfBand,
      { ...both, restoreAfterOutOfBandDelete: true },
      true,
    ],
    [
      "Tether's revoke",
      LossCause.RevokedByTether,
      { restoreAfterLoss: true, restoreAfterOutOfBandDelete: true },
      false,
    ],
  ] as const)("%s → %s", (_, cause, policy, expected) => {
    expect(restoresAfter(cause, policy)).toBe(expected);
  });
  it("an out-of-band delete the policy keeps gone does not hold the incident open (seed 1234)", () => {
    const kept = { active: true, materialExpected: false, visitedSinceOpen: true };
    expect(
      recoveryProgress(T0, [{ ...kept, restores: restoresAfter(LossCause.DeletedOutOfBand, both) }]),
    ).toEqual({ pending: 0, restored: 0, notRestored: 1 });
  });
});

describe("blindnessAlert: the probe cannot see a regional loss", () => {
  it.each([
    ["NotFound", true],
    ["Disabled", true],
    ["PendingDeletion", true],
    ["Enabled", false],
    ["PendingImport", false],
    [undefined, false],
  ] as const)("%s blind: %s", (state, blind) => {
    expect(sentinelBlind(state)).toBe(blind);
  });
  it("alerts when the sentinel enters a blind state, critical, naming the Region and the state", () => {
    const alert = blindnessAlert(READY, "Disabled");
    expect(alert?.severity).toBe("critical");
    expect(alert?.reason).toBe("SENTINEL_UNAVAILABLE");
    expect(alert?.summary).toContain("blind in eu-west-1");
    expect(alert?.summary).toContain("(Disabled)");
  });
  it("not again while the last probe read the same state; again for another blind state", () => {
    expect(blindnessAlert({ ...READY, lastProbeState: "Disabled" }, "Disabled")).toBeUndefined();
    expect(blindnessAlert({ ...READY, lastProbeState: "Disabled" }, "PendingDeletion")).toBeDefined();
    expect(blindnessAlert({ ...READY, lastProbeState: "PendingDeletion" }, "NotFound")).toBeDefined();
  });
  it("never for a usable state or a sentinel still being created", () => {
    expect(blindnessAlert(READY, "Enabled")).toBeUndefined();
    expect(blindnessAlert(READY, "PendingImport")).toBeUndefined();
    expect(blindnessAlert({ ...READY, state: "creating" }, "NotFound")).toBeUndefined();
  });
});

describe("sentinelAlias", () => {
  it("lies inside the deployment's alias prefix", () => {
    expect(sentinelAlias("tether-prod/")).toBe("alias/tether-prod/sentinel");
    expect(sentinelAlias("")).toBe("alias/sentinel");
  });
});
