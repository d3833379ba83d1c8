import { describe, expect, it } from "vitest";
import { POLICY_FIELD_FLAGS, POLICY_FLAGS, policyFromFlags } from "../../../lib/cli/commands/policy-flags.js";
import { UsageError } from "../../../lib/cli/errors.js";
import { policySummary } from "../../../lib/cli/views.js";

describe("--attribution-grace", () => {
  it("is a policy flag of register and policy, sent as attributionGrace (PT0S included)", () => {
    expect(POLICY_FLAGS["attribution-grace"]).toMatchObject({ type: "string", value: "DURATION" });
    expect(POLICY_FIELD_FLAGS.attributionGrace).toBe("--attribution-grace");
    expect(policyFromFlags({ "attribution-grace": "PT30M" }, "keys register")).toEqual({
      attributionGrace: "PT30M",
    });
    expect(policyFromFlags({ "attribution-grace": "PT0S" }, "keys policy")).toEqual({
      attributionGrace: "PT0S",
    });
    expect(policyFromFlags({}, "keys policy")).not.toHaveProperty("attributionGrace");
  });

  it("refuses a value that is not an ISO 8601 duration (the API checks the PT24H bound)", () => {
    expect(() => policyFromFlags({ "attribution-grace": "15 minutes" }, "keys policy")).toThrow(UsageError);
  });

  it("shows in the policy summary", () => {
    expect(policySummary({ attributionGrace: "PT15M" })).toContain("unexplained losses attributed for PT15M");
  });
});
