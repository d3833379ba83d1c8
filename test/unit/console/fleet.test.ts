import { describe, expect, it } from "vitest";
import type { KeyView } from "../../../lib/api/response-schemas.js";
import { filterRows, fleetRows, sortRows, timelineLanes } from "../../../lib/console/fleet.js";

const NOW = new Date("2026-06-01T00:00:00.000Z");
const day = (n: number) => new Date(NOW.getTime() + n * 86_400_000).toISOString();

function key(
  id: string,
  state: string,
  regions: { region: string; validTo?: number; failures?: number; nextCheck?: number }[],
): KeyView {
  return {
    id,
    kmsKeyId: id,
    keyArn: `arn:aws:kms:eu-west-1:111122223333:key/${id}`,
    primaryRegion: "eu-west-1",
    keySpec: "SYMMETRIC_DEFAULT",
    multiRegion: regions.length > 1,
    materialRef: `ref/${id}`,
    checkValue: "kcv",
    policy: { renewBefore: "P7D", validityPeriod: "P30D" },
    status: { state: state as "active" },
    version: 1,
    createdAt: day(-1),
    updatedAt: day(-1),
    regions: regions.map((r) => ({
      region: r.region,
      keyArn: `arn:aws:kms:${r.region}:111122223333:key/${id}`,
      materialExpected: true,
      importedValidTo: r.validTo === undefined ? undefined : day(r.validTo),
      nextCheckAt: day(r.nextCheck ?? 0.25),
      consecutiveFailures: r.failures ?? 0,
      ...(r.failures ? { lastFailure: "ThrottlingException" } : {}),
    })),
  } as KeyView;
}

const keys = [
  key("a", "active", [
    { region: "eu-west-1", validTo: 30 },
    { region: "eu-central-1", validTo: 30 },
  ]),
  key("b", "active", [{ region: "eu-west-1", validTo: 3, failures: 2 }]),
  key("c", "revoked", [{ region: "eu-west-1" }]),
  key("d", "active", [{ region: "eu-west-1", validTo: 200 }]),
  // The sweep looks only after ValidTo: the renewal would come too late.
  key("e", "active", [{ region: "eu-west-1", validTo: 20, nextCheck: 25 }]),
];
const rows = fleetRows(keys, new Map());

describe("the console's fleet model", () => {
  it("has a row per key × Region, with the last outcome in words", () => {
    expect(rows.map((r) => `${r.keyId}/${r.region}`)).toEqual([
      "a/eu-west-1",
      "a/eu-central-1",
      "b/eu-west-1",
      "c/eu-west-1",
      "d/eu-west-1",
      "e/eu-west-1",
    ]);
    expect(rows.find((r) => r.keyId === "b")?.lastOutcome).toBe("failing ×2: ThrottlingException");
    expect(rows.find((r) => r.keyId === "c")?.lastOutcome).toBe("not imported yet");
  });

  it("filters by status, Region, expiry within N days and failing", () => {
    const ids = (filter: Parameters<typeof filterRows>[1]) =>
      filterRows(rows, filter, NOW).map((r) => `${r.keyId}/${r.region}`);
    expect(ids({ status: "revoked" })).toEqual(["c/eu-west-1"]);
    expect(ids({ region: "eu-central-1" })).toEqual(["a/eu-central-1"]);
    expect(ids({ expiringWithinDays: 25 })).toEqual(["b/eu-west-1", "e/eu-west-1"]);
    expect(ids({ failingOnly: true })).toEqual(["b/eu-west-1"]);
    expect(ids({})).toHaveLength(6);
  });

  it("sorts by ValidTo with no ValidTo last, either way round", () => {
    const up = sortRows(rows, "validTo", true).map((r) => r.keyId);
    expect(up).toEqual(["b", "e", "a", "a", "d", "c"]);
    expect(sortRows(rows, "validTo", false).map((r) => r.keyId)[0]).toBe("c");
  });

  it("draws the next 90 days: renewals past the policy marked, failing and revoked kept", () => {
    const lanes = timelineLanes(rows, NOW, 90);
    expect(lanes.map((l) => `${l.keyId}/${l.region}`)).toEqual([
      "b/eu-west-1",
      "e/eu-west-1",
      "a/eu-west-1",
      "a/eu-central-1",
      "c/eu-west-1",
    ]);
    const lane = (id: string) => lanes.find((l) => l.keyId === id);
    // a: the window opens 7 days before ValidTo; on time.
    expect(lane("a")?.renewalDay).toBeCloseTo(23);
    expect(lane("a")?.renewalLate).toBe(false);
    // b: the window is open and the Region is failing: late.
    expect(lane("b")?.renewalLate).toBe(true);
    expect(lane("b")?.failing).toBe(true);
    // e: the next look is after ValidTo.
    expect(lane("e")?.renewalDay).toBeCloseTo(25);
    expect(lane("e")?.renewalLate).toBe(true);
    expect(lane("c")?.revoked).toBe(true);
    expect(lane("c")?.renewalDay).toBeUndefined();
  });
});
