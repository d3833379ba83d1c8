import { describe, expect, it } from "vitest";
import { withStageDefaults } from "../../../lib/lifecycle/use-cases/register.js";

const defaults = { validityPeriod: "P90D", renewBefore: "P14D" };

describe("withStageDefaults", () => {
  it("gives a policy without its own expiry the stage's validity and renew window", () => {
    expect(withStageDefaults(undefined, defaults)).toEqual(defaults);
    expect(withStageDefaults({ restoreAfterLoss: false }, defaults)).toEqual({
      restoreAfterLoss: false,
      ...defaults,
    });
  });

  it("keeps a request's own validity, fixed ValidTo or non-expiring model untouched", () => {
    for (const policy of [
      { validityPeriod: "PT1H" },
      { validTo: "2027-01-01T00:00:00Z" },
      { expirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" },
    ]) {
      expect(withStageDefaults(policy, defaults)).toBe(policy);
    }
  });

  it("keeps a request's own renew window beside the default validity", () => {
    expect(withStageDefaults({ renewBefore: "P1D" }, defaults)).toEqual({
      validityPeriod: "P90D",
      renewBefore: "P1D",
    });
  });

  it("leaves non-object input for the policy parser to refuse, and does nothing without defaults", () => {
    expect(withStageDefaults("P30D", defaults)).toBe("P30D");
    expect(withStageDefaults({ a: 1 }, undefined)).toEqual({ a: 1 });
    expect(withStageDefaults({}, {})).toEqual({});
  });
});
