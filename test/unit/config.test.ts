import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../lib/config.js";

const base = { AWS_REGION: "eu-west-1", TETHER_TABLE_NAME: "tether", TETHER_AUDIT_BUS_NAME: "tether-audit" };

describe("loadConfig", () => {
  it("applies defaults and scales KMS quotas by the share", () => {
    const config = loadConfig(base);
    expect(config.leaseTtlMs).toBe(120_000);
    expect(config.kmsQuotas.GetParametersForImport).toBeCloseTo(0.8);
    expect(config.kmsQuotas.ImportKeyMaterial).toBeCloseTo(12);
    expect(config.endpoints).toEqual({});
  });

  it("names every missing variable", () => {
    expect(() => loadConfig({ AWS_REGION: "eu-west-1" })).toThrow(
      /TETHER_TABLE_NAME is not set.*TETHER_AUDIT_BUS_NAME is not set/,
    );
    expect(() => loadConfig({})).toThrow(ConfigError);
  });

  it("names a malformed variable", () => {
    expect(() => loadConfig({ ...base, TETHER_KMS_ENDPOINT: "not a url" })).toThrow(/TETHER_KMS_ENDPOINT/);
    expect(() => loadConfig({ ...base, TETHER_KMS_QUOTA_SHARE: "2" })).toThrow(/TETHER_KMS_QUOTA_SHARE/);
  });

  it("recognises Tether's own principals by pattern", () => {
    const config = loadConfig({ ...base, TETHER_SELF_PRINCIPALS: "arn:aws:sts::*:assumed-role/tether-*" });
    expect(config.isTether("arn:aws:sts::210987654321:assumed-role/tether-sweep/abc")).toBe(true);
    expect(config.isTether("arn:aws:sts::210987654321:assumed-role/BreakGlass/someone")).toBe(false);
    expect(config.isTether("xarn:aws:sts::1:assumed-role/tether-a")).toBe(false);
  });
});
