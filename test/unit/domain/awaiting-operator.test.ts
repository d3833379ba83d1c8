import { describe, expect, it } from "vitest";
import { decide, FAILURES_AWAITING_OPERATOR } from "../../../lib/domain/decision.js";
import { at, DAY, found, importedRegion, makeKey, NOW, pendingImport } from "./support.js";

describe("decide after a failure the same bytes would repeat", () => {
  const key = makeKey({ validityPeriod: "P30D", renewBefore: "P7D" });

  it.each(FAILURES_AWAITING_OPERATOR)("stands still after %s instead of restoring", (lastFailure) => {
    const region = { ...importedRegion(key, at(-40 * DAY), at(-10 * DAY)), lastFailure };
    const decision = decide(key, region, pendingImport(), NOW);
    expect(decision).toMatchObject({ kind: "standstill", reason: "awaiting-operator" });
    if (decision.kind === "standstill") {
      expect(decision.nextCheckAt.getTime()).toBeGreaterThan(NOW.getTime());
    }
  });

  it.each(FAILURES_AWAITING_OPERATOR)("stands still after %s instead of renewing", (lastFailure) => {
    const region = { ...importedRegion(key, at(-25 * DAY), at(5 * DAY)), lastFailure };
    expect(decide(key, region, found({ validTo: at(5 * DAY) }), NOW)).toMatchObject({
      kind: "standstill",
      reason: "awaiting-operator",
    });
  });

  it("still restores after a failure that a retry can cure", () => {
    const region = { ...importedRegion(key, at(-40 * DAY), at(-10 * DAY)), lastFailure: "KmsThrottledError" };
    expect(decide(key, region, pendingImport(), NOW)).toMatchObject({ kind: "restore" });
  });

  it("does not hide an alert behind the wait (a disabled key is still reported)", () => {
    const region = {
      ...importedRegion(key, at(-25 * DAY), at(5 * DAY)),
      lastFailure: "IncorrectKeyMaterialError",
    };
    expect(
      decide(key, region, found({ keyState: "Disabled", enabled: false, validTo: at(5 * DAY) }), NOW),
    ).toMatchObject({
      kind: "alert",
    });
  });
});
