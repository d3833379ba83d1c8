import { describe, expect, it } from "vitest";
import { POLICY_FIELD_FLAGS, POLICY_FLAGS, policyFromFlags } from "../../../lib/cli/commands/policy-flags.js";
import { UsageError } from "../../../lib/cli/errors.js";
import { policySummary } from "../../../lib/cli/views.js";

describe("--rotate-every", () => {
  it("is a policy flag of register and policy, sent as rotateEvery", () => {
    expect(POLICY_FLAGS["rotate-every"]).toMatchObject({ type: "string", value: "DURATION" });
    expect(POLICY_FIELD_FLAGS.rotateEvery).toBe("--rotate-every");
    expect(policyFromFlags({ "rotate-every": "P365D" }, "register")).toEqual({ rotateEvery: "P365D" });
    expect(policyFromFlags({}, "policy")).not.toHaveProperty("rotateEvery");
  });

  it("refuses a value that is not an ISO 8601 duration", () => {
    expect(() => policyFromFlags({ "rotate-every": "365 days" }, "policy")).toThrow(UsageError);
  });

  it("shows in the policy summary", () => {
    expect(policySummary({ validityPeriod: "P30D", rotateEvery: "P365D" })).toContain("rotated every P365D");
  });
});
