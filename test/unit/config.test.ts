import { describe, expect, it } from "vitest";
import {
  assertNoEndpointOverrides,
  assertVaultBuild,
  assertVaultSecretSource,
  ConfigError,
  loadConfig,
  loadVaultSettings,
  parseVaultSecretReference,
} from "../../lib/config.js";

const base = { AWS_REGION: "eu-west-1", TETHER_TABLE_NAME: "tether", TETHER_AUDIT_BUS_NAME: "tether-audit" };

describe("loadConfig", () => {
  it("applies defaults and scales KMS quotas by the share", () => {
    const config = loadConfig(base);
    expect(config.leaseTtlMs).toBe(120_000);
    expect(config.kmsQuotas.GetParametersForImport).toBeCloseTo(0.8);
    expect(config.kmsQuotas.ImportKeyMaterial).toBeCloseTo(12);
    expect(config.endpoints).toEqual({});
  });

  it("shares the KMS budget across functions by default, with a fallback share; TETHER_KMS_RATES overrides rates", () => {
    const config = loadConfig(base);
    expect(config.kmsBudget).toBe("shared");
    expect(config.kmsFallbackShare).toBeCloseTo(0.1);
    const raised = loadConfig({
      ...base,
      TETHER_KMS_BUDGET: "local",
      TETHER_KMS_FALLBACK_SHARE: "0.25",
      TETHER_KMS_RATES: " GetParametersForImport = 4 ,ImportKeyMaterial=40",
    });
    expect(raised.kmsBudget).toBe("local");
    expect(raised.kmsFallbackShare).toBe(0.25);
    expect(raised.kmsQuotas.GetParametersForImport).toBe(4);
    expect(raised.kmsQuotas.ImportKeyMaterial).toBe(40);
    // Not overridden: still the share of AWS's default.
    expect(raised.kmsQuotas.RotateKeyOnDemand).toBeCloseTo(4);
    for (const bad of [
      "Decrypt=5",
      "GetParametersForImport=0",
      "GetParametersForImport",
      "ImportKeyMaterial=x",
    ]) {
      expect(() => loadConfig({ ...base, TETHER_KMS_RATES: bad })).toThrow(/TETHER_KMS_RATES/);
    }
    expect(() => loadConfig({ ...base, TETHER_KMS_BUDGET: "global" })).toThrow(/TETHER_KMS_BUDGET/);
    expect(() => loadConfig({ ...base, TETHER_KMS_FALLBACK_SHARE: "0" })).toThrow(
      /TETHER_KMS_FALLBACK_SHARE/,
    );
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

  it("keeps import parameters warm by default, 200 sets a sweep run at most; off on request; names a bad value", () => {
    expect(loadConfig(base).warmParametersPerRun).toBe(200);
    expect(loadConfig({ ...base, TETHER_WARM_PARAMETERS_PER_RUN: "50" }).warmParametersPerRun).toBe(50);
    expect(
      loadConfig({ ...base, TETHER_WARM_IMPORT_PARAMETERS: "off" }).warmParametersPerRun,
    ).toBeUndefined();
    expect(() => loadConfig({ ...base, TETHER_WARM_IMPORT_PARAMETERS: "yes" })).toThrow(
      /TETHER_WARM_IMPORT_PARAMETERS must be "on" or "off"/,
    );
    expect(() => loadConfig({ ...base, TETHER_WARM_PARAMETERS_PER_RUN: "0" })).toThrow(
      /TETHER_WARM_PARAMETERS_PER_RUN/,
    );
  });

  it("recognises Tether's own roles' sessions, exactly", () => {
    const config = loadConfig({
      ...base,
      TETHER_SELF_PRINCIPALS:
        "arn:aws:iam::210987654321:role/tether-prod-eu-west-1-sweep,arn:aws:iam::210987654321:role/tether-prod-eu-west-1-api",
    });
    expect(config.isTether("arn:aws:sts::210987654321:assumed-role/tether-prod-eu-west-1-sweep/abc")).toBe(
      true,
    );
    expect(config.isTether("arn:aws:sts::210987654321:assumed-role/tether-prod-eu-west-1-api/x1")).toBe(true);
    expect(config.isTether("arn:aws:sts::210987654321:assumed-role/tether-prod-eu-west-1-sweeper/abc")).toBe(
      false,
    );
    expect(config.isTether("arn:aws:sts::210987654321:assumed-role/BreakGlass/someone")).toBe(false);
    expect(config.isTether("xarn:aws:sts::210987654321:assumed-role/tether-prod-eu-west-1-sweep/a")).toBe(
      false,
    );
    // The glob Tether used to accept here now fails at cold start.
    expect(() =>
      loadConfig({ ...base, TETHER_SELF_PRINCIPALS: "arn:aws:sts::*:assumed-role/tether-*" }),
    ).toThrow(
      /TETHER_SELF_PRINCIPALS: "arn:aws:sts::\*:assumed-role\/tether-\*": wildcards are not allowed in the partition, service or account/,
    );
  });

  it("reads the admin API's roles and body limit", () => {
    const config = loadConfig({
      ...base,
      TETHER_ADMIN_PRINCIPALS:
        "arn:aws:iam::111122223333:user/admin-alice, arn:aws:sts::111122223333:assumed-role/Ops/*",
      TETHER_READER_PRINCIPALS: "arn:aws:iam::111122223333:user/reader",
      TETHER_MAX_BODY_BYTES: "1024",
    });
    expect(config.isAdmin("arn:aws:iam::111122223333:user/admin-alice")).toBe(true);
    expect(config.isAdmin("arn:aws:iam::111122223333:user/admin-alicia")).toBe(false);
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

describe("TETHER_SWEEP_FANOUT (the sweep's fan-out, one sweep-partition run per account-Region)", () => {
  it("is off unless set to events, and refuses anything else, naming the variable", () => {
    expect(loadConfig(base).sweepFanout).toBeUndefined();
    expect(loadConfig({ ...base, TETHER_SWEEP_FANOUT: "" }).sweepFanout).toBeUndefined();
    expect(loadConfig({ ...base, TETHER_SWEEP_FANOUT: "events" }).sweepFanout).toBe("events");
    expect(() => loadConfig({ ...base, TETHER_SWEEP_FANOUT: "sqs" })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, TETHER_SWEEP_FANOUT: "sqs" })).toThrow(/TETHER_SWEEP_FANOUT.*"sqs"/);
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

describe("loadConfig principal lists: ARNs, parsed, never globbed", () => {
  const admins = (list: string) => loadConfig({ ...base, TETHER_ADMIN_PRINCIPALS: list }).isAdmin;
  const session = (role: string, name = "alice", account = "123456789012", partition = "aws") =>
    `arn:${partition}:sts::${account}:assumed-role/${role}/${name}`;

  it("admits every session of a listed role, and no other role however alike its name", () => {
    const isAdmin = admins("arn:aws:iam::123456789012:role/KeyAdmins");
    expect(isAdmin(session("KeyAdmins"))).toBe(true);
    expect(isAdmin(session("KeyAdmins", "i-0123456789abcdef0"))).toBe(true);
    expect(isAdmin(session("KeyAdminsReadOnly"))).toBe(false);
    expect(isAdmin(session("keyadmins"))).toBe(false);
    expect(isAdmin(session("XKeyAdmins"))).toBe(false);
    // The role ARN itself is not a caller; an IAM user of the same name is someone else.
    expect(isAdmin("arn:aws:iam::123456789012:role/KeyAdmins")).toBe(false);
    expect(isAdmin("arn:aws:iam::123456789012:user/KeyAdmins")).toBe(false);
  });

  it("matches a role with a path by its name (assumed-role ARNs carry no path)", () => {
    const isAdmin = admins("arn:aws:iam::123456789012:role/security/keys/KeyAdmins");
    expect(isAdmin(session("KeyAdmins"))).toBe(true);
    expect(isAdmin(session("keys/KeyAdmins"))).toBe(false);
    expect(isAdmin(session("KeyAdminsReadOnly"))).toBe(false);
  });

  it("keeps accounts and partitions apart", () => {
    const isAdmin = admins("arn:aws:iam::123456789012:role/KeyAdmins");
    expect(isAdmin(session("KeyAdmins", "alice", "210987654321"))).toBe(false);
    expect(isAdmin(session("KeyAdmins", "alice", "123456789012", "aws-cn"))).toBe(false);
    expect(isAdmin(session("KeyAdmins", "alice", "123456789012", "aws-us-gov"))).toBe(false);
    const china = admins("arn:aws-cn:iam::123456789012:role/KeyAdmins");
    expect(china(session("KeyAdmins", "alice", "123456789012", "aws-cn"))).toBe(true);
    expect(china(session("KeyAdmins"))).toBe(false);
  });

  it("takes * only as the whole session of an assumed-role ARN, and named sessions exactly", () => {
    const any = admins("arn:aws:sts::123456789012:assumed-role/KeyAdmins/*");
    expect(any(session("KeyAdmins", "bob"))).toBe(true);
    expect(any(session("KeyAdminsReadOnly", "bob"))).toBe(false);
    const one = admins("arn:aws:sts::123456789012:assumed-role/KeyAdmins/alice");
    expect(one(session("KeyAdmins", "alice"))).toBe(true);
    expect(one(session("KeyAdmins", "alice2"))).toBe(false);
    expect(one(session("KeyAdmins", "bob"))).toBe(false);
  });

  it("matches IAM users exactly, path included", () => {
    const isAdmin = admins("arn:aws:iam::123456789012:user/ops/alice");
    expect(isAdmin("arn:aws:iam::123456789012:user/ops/alice")).toBe(true);
    expect(isAdmin("arn:aws:iam::123456789012:user/alice")).toBe(false);
    expect(isAdmin("arn:aws:iam::123456789012:user/ops/alice2")).toBe(false);
  });

  it.each([
    ["*", /a lone \* would admit every principal/],
    [
      "arn:aws:sts::123456789012:assumed-role/KeyAdmins*",
      /a wildcard is allowed only as the whole session part/,
    ],
    [
      "arn:aws:sts::123456789012:assumed-role/KeyAdmins*/*",
      /a wildcard is allowed only as the whole session part/,
    ],
    [
      "arn:aws:sts::123456789012:assumed-role/KeyAdmins/ali*",
      /a wildcard is allowed only as the whole session part/,
    ],
    [
      "arn:aws:sts::*:assumed-role/KeyAdmins/*",
      /wildcards are not allowed in the partition, service or account/,
    ],
    ["arn:aws:sts::12345678901?:assumed-role/KeyAdmins/*", /wildcards are not allowed/],
    ["arn:*:iam::123456789012:role/KeyAdmins", /wildcards are not allowed/],
    ["arn:aws:iam::123456789012:role/Key*", /wildcards are not allowed in a role ARN's name or path/],
    ["arn:aws:iam::123456789012:role/*/KeyAdmins", /wildcards are not allowed in a role ARN's name or path/],
    ["arn:aws:iam::123456789012:user/admin-*", /wildcards are not allowed in a user ARN's name or path/],
    ["arn:aws:iam::123456789012:root", /root user may not be listed/],
    ["arn:aws:iam::1234:role/KeyAdmins", /the account must be 12 digits/],
    ["arn:aws:iam:eu-west-1:123456789012:role/KeyAdmins", /have no Region/],
    ["arn:aws:iam::123456789012:group/KeyAdmins", /not a role, assumed-role or user ARN/],
    ["arn:aws:sts::123456789012:federated-user/alice", /not a role, assumed-role or user ARN/],
    ["arn:aws:sts::123456789012:assumed-role/KeyAdmins", /not a role session name/],
    ["arn:aws:iam::123456789012:role/", /is not an IAM role name/],
    ["role/KeyAdmins", /not an ARN/],
    ["arn:aws:iam::123456789012:role/KeyAdmins extra", /is not an IAM role name/],
  ])("refuses %s at cold start, naming the entry", (entry, reason) => {
    for (const variable of [
      "TETHER_ADMIN_PRINCIPALS",
      "TETHER_READER_PRINCIPALS",
      "TETHER_SELF_PRINCIPALS",
    ]) {
      const load = () => loadConfig({ ...base, [variable]: `arn:aws:iam::123456789012:role/Fine, ${entry}` });
      expect(load).toThrow(ConfigError);
      expect(load).toThrow(`${variable}: "${entry}"`);
      expect(load).toThrow(reason);
    }
  });

  it("names every refused entry at once", () => {
    expect(() =>
      loadConfig({ ...base, TETHER_ADMIN_PRINCIPALS: "*, arn:aws:iam::123456789012:role/Key*" }),
    ).toThrow(
      /TETHER_ADMIN_PRINCIPALS: "\*".*TETHER_ADMIN_PRINCIPALS: "arn:aws:iam::123456789012:role\/Key\*"/,
    );
  });
});

describe("assertNoEndpointOverrides", () => {
  it("lets unbundled code and local builds use endpoint overrides", () => {
    expect(() =>
      assertNoEndpointOverrides({ TETHER_KMS_ENDPOINT: "http://127.0.0.1:4599" }, undefined),
    ).not.toThrow();
    expect(() =>
      assertNoEndpointOverrides({ AWS_ENDPOINT_URL_KMS: "http://127.0.0.1:4599" }, "local"),
    ).not.toThrow();
  });

  it("refuses every override in a bundle built for AWS, naming each", () => {
    const env = {
      TETHER_KMS_ENDPOINT: "http://198.51.100.7",
      AWS_ENDPOINT_URL_SECRETS_MANAGER: "http://198.51.100.7",
      TETHER_TABLE_NAME: "t",
    };
    expect(() => assertNoEndpointOverrides(env, "aws")).toThrow(ConfigError);
    expect(() => assertNoEndpointOverrides(env, "aws")).toThrow(
      /TETHER_KMS_ENDPOINT, AWS_ENDPOINT_URL_SECRETS_MANAGER are set, but this bundle was built for AWS/,
    );
    expect(() => assertNoEndpointOverrides({ TETHER_TABLE_NAME: "t" }, "aws")).not.toThrow();
    // Anything but an explicit local build refuses (a misspelt parameter is not a way in).
    expect(() => assertNoEndpointOverrides({ AWS_ENDPOINT_URL: "http://x" }, "Local")).toThrow(
      /AWS_ENDPOINT_URL is set/,
    );
  });

  it("is checked by loadConfig and loadVaultSettings in a bundle built for AWS", () => {
    process.env.TETHER_BUILD_TARGET = "aws";
    try {
      expect(() => loadConfig({ ...base, TETHER_KMS_ENDPOINT: "http://198.51.100.7" })).toThrow(
        /TETHER_KMS_ENDPOINT is set/,
      );
      expect(() =>
        loadVaultSettings({ TETHER_VAULT: "hashicorp", TETHER_HCV_AWS_STS_ENDPOINT: "http://198.51.100.7" }),
      ).toThrow(/TETHER_HCV_AWS_STS_ENDPOINT is set/);
    } finally {
      delete process.env.TETHER_BUILD_TARGET;
    }
  });
});

describe("vault secrets by reference", () => {
  const SSM = "arn:aws:ssm:eu-west-1:123456789012:parameter/tether/prod/passphrase";
  const SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tether/prod/hcv-token-AbC123";

  it("parses the ARN of an SSM parameter or of a Secrets Manager secret, and nothing else", () => {
    expect(parseVaultSecretReference(SSM)).toEqual({
      service: "ssm",
      arn: SSM,
      region: "eu-west-1",
      name: "/tether/prod/passphrase",
    });
    expect(parseVaultSecretReference("arn:aws:ssm:eu-west-1:123456789012:parameter/flat")).toMatchObject({
      name: "flat",
    });
    expect(parseVaultSecretReference(SECRET)).toEqual({
      service: "secretsmanager",
      arn: SECRET,
      region: "eu-west-1",
    });
    for (const bad of [
      "ssm:/tether/prod/passphrase",
      "/tether/prod/passphrase",
      "arn:aws:ssm:eu-west-1:123456789012:parameter/tether/*",
      "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tether/prod/hcv-token",
      "arn:aws:s3:::bucket/key",
    ]) {
      expect(parseVaultSecretReference(bad), bad).toBeUndefined();
    }
  });

  it("refuses plain-text vault secrets in a bundle built for AWS, without repeating them", () => {
    for (const name of [
      "TETHER_FILE_VAULT_PASSPHRASE",
      "TETHER_HCV_TOKEN",
      "TETHER_PKCS11_PIN_SECRET_ENV",
      "TETHER_PKCS11_PIN",
    ]) {
      const check = () => assertVaultSecretSource({ [name]: "s3cr3t-value" }, "aws");
      expect(check).toThrow(ConfigError);
      expect(check).toThrow(`${name} is set, but this bundle was built for AWS`);
      expect(check).not.toThrow(/s3cr3t-value/);
    }
    expect(() => assertVaultSecretSource({ TETHER_VAULT_SECRET_REF: SSM }, "aws")).not.toThrow();
    expect(() => assertVaultSecretSource({ TETHER_FILE_VAULT_PASSPHRASE: "local" }, undefined)).not.toThrow();
    expect(() => assertVaultSecretSource({ TETHER_FILE_VAULT_PASSPHRASE: "local" }, "local")).not.toThrow();
  });

  it("names a malformed reference, a reference beside the plain value, and a vault with no secret", () => {
    expect(() => assertVaultSecretSource({ TETHER_VAULT_SECRET_REF: "ssm:/x" }, "aws")).toThrow(
      /TETHER_VAULT_SECRET_REF: not the ARN of an SSM parameter/,
    );
    expect(() =>
      assertVaultSecretSource(
        { TETHER_VAULT: "hashicorp", TETHER_VAULT_SECRET_REF: SECRET, TETHER_HCV_TOKEN: "t" },
        "local",
      ),
    ).toThrow(/set TETHER_VAULT_SECRET_REF or TETHER_HCV_TOKEN, not both/);
    expect(() =>
      assertVaultSecretSource(
        { TETHER_VAULT: "pkcs11", TETHER_VAULT_SECRET_REF: SSM, TETHER_PKCS11_PIN_FILE: "/opt/pin" },
        "aws",
      ),
    ).toThrow(/set TETHER_VAULT_SECRET_REF or TETHER_PKCS11_PIN_FILE, not both/);
    expect(() =>
      assertVaultSecretSource({ TETHER_VAULT: "secrets-manager", TETHER_VAULT_SECRET_REF: SSM }),
    ).toThrow(/the secrets-manager vault has no secret to read by reference/);
  });

  it("lets HashiCorp token auth take its token by reference", () => {
    expect(
      loadVaultSettings({
        TETHER_VAULT: "hashicorp",
        TETHER_HCV_ADDR: "https://vault.example.com",
        TETHER_VAULT_SECRET_REF: SECRET,
      }),
    ).toMatchObject({ auth: { method: "token" } });
  });
});

describe("TETHER_APPROVALS (dual control)", () => {
  it("defaults to one person for every operation, and reads the deployment's rules", () => {
    expect(Object.values(loadConfig(base).approvals.operations).map((r) => r.quorum)).toEqual([
      1, 1, 1, 1, 1,
    ]);
    const config = loadConfig({
      ...base,
      TETHER_APPROVALS: '{"revoke":{"quorum":2,"breakGlass":true},"swap":3}',
    });
    expect(config.approvals.operations.revoke).toEqual({ quorum: 2, breakGlass: true });
    expect(config.approvals.operations.swap.quorum).toBe(3);
  });

  it("fails at cold start naming the variable and the field", () => {
    expect(() => loadConfig({ ...base, TETHER_APPROVALS: '{"revoke":9}' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, TETHER_APPROVALS: '{"revoke":9}' })).toThrow(
      /TETHER_APPROVALS: approvals\.revoke\.quorum: must be an integer from 1 to 5/,
    );
  });
});
