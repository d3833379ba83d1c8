import { describe, expect, it } from "vitest";
import {
  computeValidTo,
  type ExpiringImportPolicy,
  ImportPolicyDefaults,
  parseImportPolicy,
  policyEnded,
  toImportPolicyInput,
  ValidationError,
} from "../../../lib/domain/index.js";
import { at, DAY, HOUR, NOW } from "./support.js";

const MINUTE = 60_000;

function expectInvalid(input: unknown, field: string): void {
  let caught: unknown;
  try {
    parseImportPolicy(input);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ValidationError);
  expect((caught as ValidationError).field).toBe(field);
  expect((caught as ValidationError).message).toContain(field);
}

describe("parseImportPolicy", () => {
  describe("defaults", () => {
    it("applies every default to an empty policy", () => {
      expect(parseImportPolicy({})).toEqual({
        expirationModel: "KEY_MATERIAL_EXPIRES",
        validity: { kind: "period", periodMs: 30 * DAY },
        renewBeforeMs: 7 * DAY,
        wrapping: { algorithm: undefined, keySpec: undefined },
        restoreAfterLoss: true,
        restoreAfterOutOfBandDelete: false,
        reconcileIntervalMs: 6 * HOUR,
        attributionGraceMs: 15 * MINUTE,
        priority: "normal",
      });
    });

    it("treats undefined and null as an empty policy", () => {
      expect(parseImportPolicy(undefined)).toEqual(parseImportPolicy({}));
      expect(parseImportPolicy(null)).toEqual(parseImportPolicy({}));
    });

    it.each([
      ["PT1H", 15 * MINUTE],
      ["P1D", 6 * HOUR],
      ["P7D", 42 * HOUR],
      ["P30D", 7 * DAY],
      ["P365D", 7 * DAY],
    ])(
      "renewBefore for validity %s defaults to a quarter, at most 7 days",
      (validityPeriod, renewBeforeMs) => {
        const policy = parseImportPolicy({ validityPeriod }) as ExpiringImportPolicy;
        expect(policy.renewBeforeMs).toBe(renewBeforeMs);
      },
    );

    it("renewBefore for a fixed ValidTo defaults to 7 days", () => {
      const policy = parseImportPolicy({ validTo: "2026-01-01T00:00:00Z" }) as ExpiringImportPolicy;
      expect(policy.validity).toEqual({ kind: "fixed", validTo: new Date("2026-01-01T00:00:00Z") });
      expect(policy.renewBeforeMs).toBe(ImportPolicyDefaults.renewBeforeMaxMs);
    });

    it("keeps given values over defaults", () => {
      const policy = parseImportPolicy({
        validityPeriod: "PT1H",
        renewBefore: "PT20M",
        wrappingAlgorithm: "RSAES_OAEP_SHA_1",
        wrappingKeySpec: "RSA_3072",
        restoreAfterLoss: false,
        restoreAfterOutOfBandDelete: true,
        reconcileInterval: "PT30M",
        attributionGrace: "PT1H",
        priority: "critical",
      });
      expect(policy).toEqual({
        expirationModel: "KEY_MATERIAL_EXPIRES",
        validity: { kind: "period", periodMs: HOUR },
        renewBeforeMs: 20 * MINUTE,
        wrapping: { algorithm: "RSAES_OAEP_SHA_1", keySpec: "RSA_3072" },
        restoreAfterLoss: false,
        restoreAfterOutOfBandDelete: true,
        reconcileIntervalMs: 30 * MINUTE,
        attributionGraceMs: HOUR,
        priority: "critical",
      });
    });

    it("a non-expiring policy has no validity or renew window", () => {
      expect(parseImportPolicy({ expirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" })).toEqual({
        expirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
        wrapping: { algorithm: undefined, keySpec: undefined },
        restoreAfterLoss: true,
        restoreAfterOutOfBandDelete: false,
        reconcileIntervalMs: 6 * HOUR,
        attributionGraceMs: 15 * MINUTE,
        priority: "normal",
      });
    });
  });

  describe("priority", () => {
    it.each(["critical", "high", "normal", "low"])(
      "takes %s and round-trips it through the input form",
      (priority) => {
        const policy = parseImportPolicy({ priority });
        expect(policy.priority).toBe(priority);
        expect(toImportPolicyInput(policy).priority).toBe(priority);
        expect(parseImportPolicy(toImportPolicyInput(policy))).toEqual(policy);
      },
    );

    it("is normal when a stored policy from before priorities names none", () => {
      expect(parseImportPolicy({ validityPeriod: "P30D", renewBefore: "P7D" }).priority).toBe("normal");
    });

    it.each(["urgent", "CRITICAL", "", 1, null])("refuses %s, naming the field", (value) => {
      expectInvalid({ priority: value }, "priority");
    });
  });

  describe("attributionGrace", () => {
    it.each([
      ["PT0S", 0],
      ["P0D", 0],
      ["PT1S", 1000],
      ["PT15M", 15 * MINUTE],
      ["PT24H", 24 * HOUR],
      ["P1D", 24 * HOUR],
    ])("%s is %i ms", (attributionGrace, ms) => {
      expect(parseImportPolicy({ attributionGrace }).attributionGraceMs).toBe(ms);
    });

    it.each(["PT24H1S", "P2D", "-PT1M", "15 minutes", 900, ""])("refuses %s, naming the field", (value) => {
      expect(() => parseImportPolicy({ attributionGrace: value })).toThrow(
        expect.objectContaining({ field: "attributionGrace" }),
      );
    });

    it("round-trips through the input form", () => {
      for (const attributionGrace of ["PT0S", "PT15M", "PT24H"]) {
        const policy = parseImportPolicy({ attributionGrace });
        expect(parseImportPolicy(toImportPolicyInput(policy))).toEqual(policy);
      }
    });
  });

  describe("invalid input names the field", () => {
    it.each([
      ["not an object", "P30D", "policy"],
      ["an array", [], "policy"],
      ["an unknown field (typo)", { renewBefor: "P7D" }, "policy.renewBefor"],
      ["an unknown expiration model", { expirationModel: "SOMETIMES" }, "expirationModel"],
      ["a validity that is not ISO 8601", { validityPeriod: "30 days" }, "validityPeriod"],
      ["a validity in months", { validityPeriod: "P1M" }, "validityPeriod"],
      ["a validity as a number", { validityPeriod: 3600 }, "validityPeriod"],
      ["a validity under an hour", { validityPeriod: "PT59M" }, "validityPeriod"],
      ["a validity over 365 days", { validityPeriod: "P366D" }, "validityPeriod"],
      ["a zero validity", { validityPeriod: "PT0S" }, "validityPeriod"],
      [
        "validityPeriod and validTo together",
        { validityPeriod: "P30D", validTo: "2026-01-01T00:00:00Z" },
        "validTo",
      ],
      ["a validTo without a zone", { validTo: "2026-01-01T00:00:00" }, "validTo"],
      ["a validTo that is no date", { validTo: "2026-13-45T00:00:00Z" }, "validTo"],
      ["renewBefore as long as the validity", { validityPeriod: "PT1H", renewBefore: "PT1H" }, "renewBefore"],
      [
        "renewBefore longer than the validity",
        { validityPeriod: "P30D", renewBefore: "P31D" },
        "renewBefore",
      ],
      ["renewBefore longer than the default validity", { renewBefore: "P30D" }, "renewBefore"],
      ["renewBefore under 5 minutes", { renewBefore: "PT4M" }, "renewBefore"],
      [
        "renewBefore of 365 days with a fixed ValidTo",
        { validTo: "2026-01-01T00:00:00Z", renewBefore: "P365D" },
        "renewBefore",
      ],
      [
        "validityPeriod without expiry",
        { expirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", validityPeriod: "P30D" },
        "validityPeriod",
      ],
      [
        "validTo without expiry",
        { expirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", validTo: "2026-01-01T00:00:00Z" },
        "validTo",
      ],
      [
        "renewBefore without expiry",
        { expirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE", renewBefore: "P7D" },
        "renewBefore",
      ],
      [
        "RSAES_PKCS1_V1_5 (no longer accepted by AWS)",
        { wrappingAlgorithm: "RSAES_PKCS1_V1_5" },
        "wrappingAlgorithm",
      ],
      ["an SM2 wrapping key (China only, not modelled)", { wrappingKeySpec: "SM2" }, "wrappingKeySpec"],
      ["restoreAfterLoss as a string", { restoreAfterLoss: "yes" }, "restoreAfterLoss"],
      [
        "restoreAfterOutOfBandDelete as a number",
        { restoreAfterOutOfBandDelete: 1 },
        "restoreAfterOutOfBandDelete",
      ],
      ["a reconcile interval under a minute", { reconcileInterval: "PT59S" }, "reconcileInterval"],
      ["a reconcile interval over a day", { reconcileInterval: "P1DT1S" }, "reconcileInterval"],
      ["a prototype key as an enum value", { expirationModel: "toString" }, "expirationModel"],
    ])("%s", (_name, input, field) => {
      expectInvalid(input, field);
    });
  });

  it("round-trips through its input form", () => {
    for (const input of [
      {},
      { validityPeriod: "PT1H", renewBefore: "PT15M", reconcileInterval: "PT5M" },
      { validTo: "2027-03-04T05:06:07.000Z", wrappingAlgorithm: "RSA_AES_KEY_WRAP_SHA_256" as const },
      { expirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" as const, restoreAfterLoss: false },
      { validityPeriod: "P1DT12H30M15S", wrappingKeySpec: "RSA_2048" as const },
    ]) {
      const policy = parseImportPolicy(input);
      expect(parseImportPolicy(toImportPolicyInput(policy))).toEqual(policy);
    }
    expect(toImportPolicyInput(parseImportPolicy({ validityPeriod: "P30D" })).validityPeriod).toBe("P30D");
  });
});

describe("computeValidTo", () => {
  it("1-hour validity: an hour from now", () => {
    expect(computeValidTo(parseImportPolicy({ validityPeriod: "PT1H" }), NOW)).toEqual(at(HOUR));
  });

  it("365-day validity: exactly the AWS maximum", () => {
    expect(computeValidTo(parseImportPolicy({ validityPeriod: "P365D", renewBefore: "P7D" }), NOW)).toEqual(
      at(365 * DAY),
    );
  });

  it("truncates to whole seconds, never rounding past the maximum", () => {
    const now = new Date(NOW.getTime() + 999);
    expect(computeValidTo(parseImportPolicy({ validityPeriod: "P365D" }), now)).toEqual(at(365 * DAY));
  });

  it("a fixed ValidTo within 365 days is used as is", () => {
    const validTo = at(100 * DAY);
    expect(computeValidTo(parseImportPolicy({ validTo: validTo.toISOString() }), NOW)).toEqual(validTo);
  });

  it("a fixed ValidTo beyond 365 days is capped at 365 days (renewals reach it)", () => {
    expect(computeValidTo(parseImportPolicy({ validTo: at(500 * DAY).toISOString() }), NOW)).toEqual(
      at(365 * DAY),
    );
  });

  it.each([
    ["in the past", at(-DAY)],
    ["now", NOW],
    ["less than a minute ahead", at(59_000)],
  ])("a fixed ValidTo %s throws a ValidationError on validTo", (_name, validTo) => {
    const policy = parseImportPolicy({ validTo: validTo.toISOString() });
    expect(() => computeValidTo(policy, NOW)).toThrow(ValidationError);
    expect(() => computeValidTo(policy, NOW)).toThrow(/validTo/);
    expect(policyEnded(policy, NOW)).toBe(true);
  });

  it("undefined for material that does not expire", () => {
    expect(computeValidTo(parseImportPolicy({ expirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE" }), NOW)).toBe(
      undefined,
    );
  });

  it("re-checks a hand-built period against the 365-day maximum", () => {
    const policy = {
      ...(parseImportPolicy({}) as ExpiringImportPolicy),
      validity: { kind: "period", periodMs: 400 * DAY },
    };
    expect(() => computeValidTo(policy as ExpiringImportPolicy, NOW)).toThrow(/validityPeriod/);
  });

  it("refuses an invalid now", () => {
    expect(() => computeValidTo(parseImportPolicy({}), new Date(Number.NaN))).toThrow(/now/);
  });
});
