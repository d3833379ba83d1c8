import { describe, expect, it } from "vitest";
import { assertVaultBuild, ConfigError, loadConfig } from "../../lib/config.js";

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

  it("reads the admin API's roles and body limit", () => {
    const config = loadConfig({
      ...base,
      TETHER_ADMIN_PRINCIPALS:
        "arn:aws:iam::111122223333:user/admin-*, arn:aws:sts::111122223333:assumed-role/Ops/*",
      TETHER_READER_PRINCIPALS: "arn:aws:iam::111122223333:user/reader",
      TETHER_MAX_BODY_BYTES: "1024",
    });
    expect(config.isAdmin("arn:aws:iam::111122223333:user/admin-alice")).toBe(true);
    expect(config.isAdmin("arn:aws:sts::111122223333:assumed-role/Ops/bob")).toBe(true);
    expect(config.isAdmin("arn:aws:iam::111122223333:user/reader")).toBe(false);
    expect(config.isReader("arn:aws:iam::111122223333:user/reader")).toBe(true);
    expect(config.isReader("arn:aws:iam::111122223333:user/reader2")).toBe(false);
    expect(config.maxBodyBytes).toBe(1024);
  });

  it("lets nobody in by default and limits bodies to 64 KiB", () => {
    const config = loadConfig(base);
    expect(config.isAdmin("arn:aws:iam::111122223333:user/anyone")).toBe(false);
    expect(config.isReader("")).toBe(false);
    expect(config.maxBodyBytes).toBe(65_536);
    expect(() => loadConfig({ ...base, TETHER_MAX_BODY_BYTES: "-1" })).toThrow(/TETHER_MAX_BODY_BYTES/);
  });
});

describe("loadConfig stage defaults", () => {
  it("reads the default validity, renew window and Regions", () => {
    const config = loadConfig({
      ...base,
      TETHER_DEFAULT_VALIDITY_PERIOD: "P90D",
      TETHER_DEFAULT_RENEW_BEFORE: "P14D",
      TETHER_REGIONS: "eu-west-1, eu-central-1",
    });
    expect(config.policyDefaults).toEqual({ validityPeriod: "P90D", renewBefore: "P14D" });
    expect(config.allowedRegions).toEqual(["eu-west-1", "eu-central-1"]);
  });

  it("fails at cold start on a default the policy rules refuse, naming the variable", () => {
    expect(() => loadConfig({ ...base, TETHER_DEFAULT_VALIDITY_PERIOD: "PT10M" })).toThrow(
      /TETHER_DEFAULT_VALIDITY_PERIOD/,
    );
    expect(() =>
      loadConfig({ ...base, TETHER_DEFAULT_VALIDITY_PERIOD: "P30D", TETHER_DEFAULT_RENEW_BEFORE: "P60D" }),
    ).toThrow(/TETHER_DEFAULT_RENEW_BEFORE/);
  });
});

describe("loadConfig reads the environment as the schema did", () => {
  it("names every malformed variable at once, each with what it must be", () => {
    let message = "";
    try {
      loadConfig({
        ...base,
        TETHER_TABLE_NAME: "t",
        TETHER_LEASE_TTL_SECONDS: "1.5",
        TETHER_SWEEP_LIMIT: "0",
        TETHER_SWEEP_CONCURRENCY: "eight",
        TETHER_KMS_QUOTA_SHARE: "0",
      });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).toMatch(/^Tether is misconfigured: /);
    for (const name of [
      "TETHER_TABLE_NAME",
      "TETHER_LEASE_TTL_SECONDS",
      "TETHER_SWEEP_LIMIT",
      "TETHER_SWEEP_CONCURRENCY",
      "TETHER_KMS_QUOTA_SHARE",
    ]) {
      expect(message).toContain(`${name}: `);
    }
  });

  it("coerces numbers, keeps a share of exactly 1 and applies defaults only to unset variables", () => {
    const config = loadConfig({
      ...base,
      TETHER_KMS_QUOTA_SHARE: "1",
      TETHER_LEASE_TTL_SECONDS: "30",
      TETHER_SWEEP_LIMIT: "1e3",
    });
    expect(config.kmsQuotas.ImportKeyMaterial).toBe(15);
    expect(config.leaseTtlMs).toBe(30_000);
    expect(config.sweepLimit).toBe(1000);
    expect(config.sweepConcurrency).toBe(8);
    // Set but empty is not unset: "" is not a number of seconds.
    expect(() => loadConfig({ ...base, TETHER_LEASE_TTL_SECONDS: "" })).toThrow(/TETHER_LEASE_TTL_SECONDS/);
  });

  it("takes the vault only from the known providers; an empty TETHER_VAULT is not the default", () => {
    expect(loadConfig({ ...base, TETHER_VAULT: "file" }).vault).toBe("file");
    expect(() => loadConfig({ ...base, TETHER_VAULT: "" })).toThrow(/TETHER_VAULT: must be one of file, /);
    expect(() => loadConfig({ ...base, TETHER_VAULT: "keychain" })).toThrow(ConfigError);
  });

  it("reads endpoint URLs as the URL parser does, trimmed", () => {
    const config = loadConfig({
      ...base,
      TETHER_KMS_ENDPOINT: " http://127.0.0.1:4566 ",
      TETHER_DYNAMODB_ENDPOINT: "http://localhost:8000",
    });
    expect(config.endpoints).toEqual({ kms: "http://127.0.0.1:4566", dynamodb: "http://localhost:8000" });
    expect(() => loadConfig({ ...base, TETHER_EVENTS_ENDPOINT: "//no-scheme" })).toThrow(
      /TETHER_EVENTS_ENDPOINT: not a URL/,
    );
  });
});

describe("the vault a bundle was built for (custom.esbuild.define of serverless.yml)", () => {
  const hashicorp = {
    ...base,
    TETHER_VAULT: "hashicorp",
    TETHER_HCV_ADDR: "https://vault.example.com:8200",
    TETHER_HCV_TOKEN: "token",
  };

  it("accepts the vault the bundle was built for, and any vault when not bundled", () => {
    expect(() => assertVaultBuild("file", "file")).not.toThrow();
    expect(() => assertVaultBuild("hashicorp", "hashicorp")).not.toThrow();
    expect(() => assertVaultBuild("secrets-manager", undefined)).not.toThrow();
    // Under the test runner the build constant is undefined: every vault is available.
    expect(process.env.TETHER_VAULT_BUILD).toBeUndefined();
    expect(loadConfig(hashicorp).vault).toBe("hashicorp");
  });

  it("refuses another vault with a configuration error naming both", () => {
    expect(() => assertVaultBuild("hashicorp", "file")).toThrow(ConfigError);
    expect(() => assertVaultBuild("hashicorp", "file")).toThrow(
      /TETHER_VAULT is "hashicorp" but this bundle was built for the "file" vault/,
    );
  });

  it("is checked by loadConfig, before the vault's own settings", () => {
    // Unbundled, the constant is read from the environment: set it as a bundle's define would.
    process.env.TETHER_VAULT_BUILD = "file";
    try {
      expect(() => loadConfig(hashicorp)).toThrow(/"hashicorp" but this bundle was built for the "file"/);
      // Even with the HashiCorp settings missing, the mismatch is what is reported.
      expect(() => loadConfig({ ...base, TETHER_VAULT: "hashicorp" })).toThrow(/built for the "file" vault/);
      expect(loadConfig({ ...base, TETHER_VAULT: "file" }).vault).toBe("file");
    } finally {
      delete process.env.TETHER_VAULT_BUILD;
    }
  });
});
