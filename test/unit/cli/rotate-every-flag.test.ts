import { describe, expect, it } from "vitest";
import { POLICY_FIELD_FLAGS, POLICY_FLAGS, policyFromFlags } from "../../../lib/cli/commands/policy-flags.js";
import { UsageError } from "../../../lib/cli/errors.js";
import { keyFields, policySummary, rotationResult } from "../../../lib/cli/views.js";

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

describe("--rotation-method and ending a schedule", () => {
  it("sends rotationMethod, refusing anything but in-key and key-swap", () => {
    expect(POLICY_FIELD_FLAGS.rotationMethod).toBe("--rotation-method");
    expect(policyFromFlags({ "rotation-method": "key-swap" }, "keys register")).toEqual({
      rotationMethod: "key-swap",
    });
    expect(() => policyFromFlags({ "rotation-method": "sideways" }, "keys register")).toThrow(UsageError);
  });

  it("takes --rotate-every none only where the caller allows it (keys policy sends null)", () => {
    expect(() => policyFromFlags({ "rotate-every": "none" }, "keys register")).toThrow(UsageError);
    expect(policyFromFlags({ "rotate-every": "none" }, "keys policy", { rotateEveryNone: true })).toEqual({});
  });

  it("shows the method in the policy summary", () => {
    expect(policySummary({ rotateEvery: "P365D", rotationMethod: "key-swap" })).toContain(
      "rotated every P365D; rotation by key-swap",
    );
  });
});

describe("a key swap's result", () => {
  const view = (id: string, extra: Record<string, unknown>) =>
    ({
      id,
      kmsKeyId: "k",
      keyArn: `arn:aws:kms:eu-west-1:111122223333:key/${id}`,
      primaryRegion: "eu-west-1",
      keySpec: "HMAC_256",
      multiRegion: false,
      materialRef: `ref/${id}`,
      checkValue: "kcv:1",
      policy: {},
      status: { state: "active" },
      version: 1,
      createdAt: "2026-11-29T00:00:00.000Z",
      updatedAt: "2026-11-29T00:00:00.000Z",
      regions: [],
      ...extra,
    }) as never;

  it("names both keys, where the alias went, and that the old key is kept", () => {
    const text = rotationResult(
      {
        method: "key-swap",
        key: view("tk_OLD", { supersededBy: "tk_NEW" }),
        successor: view("tk_NEW", { alias: "alias/payments", supersedes: "tk_OLD" }),
        resumed: false,
      },
      { color: false, now: new Date("2026-11-29T00:00:00Z") },
    );
    expect(text).toContain("Swapped tk_OLD: alias/payments now names tk_NEW");
    expect(text).toContain("the old key stays managed for decryption");
    expect(text).toMatch(/^old +tk_OLD +arn:aws:kms:eu-west-1:111122223333:key\/tk_OLD +- +ref\/tk_OLD/m);
    expect(text).toMatch(/^new +tk_NEW +\S+ +alias\/payments +ref\/tk_NEW/m);
  });

  it("shows in the key's fields which key replaced it", () => {
    const text = keyFields(view("tk_OLD", { supersededBy: "tk_NEW" }), { color: false, now: new Date() });
    expect(text).toMatch(/Replaced by: +tk_NEW \(key swap/);
  });
});
