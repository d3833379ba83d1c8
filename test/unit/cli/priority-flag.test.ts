import { describe, expect, it } from "vitest";
import { POLICY_FIELD_FLAGS, POLICY_FLAGS, policyFromFlags } from "../../../lib/cli/commands/policy-flags.js";
import { UsageError } from "../../../lib/cli/errors.js";
import { keyFields } from "../../../lib/cli/views.js";
import { keyView, NOW } from "../../integration/cli/fake-api.js";

describe("--priority", () => {
  it("is a policy flag of register and policy, sent as priority", () => {
    expect(POLICY_FLAGS.priority).toMatchObject({ type: "string", value: "PRIORITY" });
    expect(POLICY_FIELD_FLAGS.priority).toBe("--priority");
    for (const priority of ["critical", "high", "normal", "low"]) {
      expect(policyFromFlags({ priority }, "keys policy")).toEqual({ priority });
    }
    expect(policyFromFlags({}, "keys register")).not.toHaveProperty("priority");
  });

  it("refuses anything else before calling the API", () => {
    expect(() => policyFromFlags({ priority: "urgent" }, "keys policy")).toThrow(UsageError);
  });

  it("shows in keys show, normal when the API's policy names none", () => {
    const critical = keyView({ policy: { ...keyView().policy, priority: "critical" } });
    expect(keyFields(critical, { now: NOW, color: false })).toMatch(/^Priority: +critical$/m);
    const { priority: _none, ...older } = keyView().policy;
    expect(keyFields(keyView({ policy: older }), { now: NOW, color: false })).toMatch(/^Priority: +normal$/m);
  });
});
