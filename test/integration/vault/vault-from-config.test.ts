import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig, loadVaultSettings } from "../../../lib/config.js";
import { vaultFromEnv } from "../../../lib/vault/from-config.js";

const base = { AWS_REGION: "eu-west-1", TETHER_TABLE_NAME: "tether", TETHER_AUDIT_BUS_NAME: "tether-audit" };
const sm = {
  TETHER_VAULT: "secrets-manager",
  TETHER_SM_ROLE_ARN: "arn:aws:iam::123456789012:role/tether-vault",
  TETHER_SM_EXTERNAL_ID: "ext-123",
};

/** TETHER_VAULT picks the adapter; each provider's settings are checked at cold start, named when wrong. */
describe("vaultFromEnv and the vault settings", () => {
  it("defaults to the file vault, which still names its own variables", () => {
    expect(loadConfig(base).vault).toBe("file");
    expect(vaultFromEnv({ TETHER_FILE_VAULT_DIR: "/tmp/x", TETHER_FILE_VAULT_PASSPHRASE: "p" }).kind).toBe(
      "file",
    );
    expect(() => vaultFromEnv({ TETHER_FILE_VAULT_DIR: "/tmp/x" })).toThrow(/TETHER_FILE_VAULT_PASSPHRASE/);
  });

  it("builds the Secrets Manager vault, with the Region defaulting to AWS_REGION and a tether/ prefix", () => {
    const settings = loadVaultSettings({ ...base, ...sm });
    expect(settings).toMatchObject({
      provider: "secrets-manager",
      region: "eu-west-1",
      secretPrefix: "tether/",
    });
    expect(vaultFromEnv({ ...base, ...sm }).kind).toBe("secrets-manager");
    expect(loadConfig({ ...base, ...sm }).vaultSettings.provider).toBe("secrets-manager");
  });

  it("names each missing or malformed Secrets Manager setting", () => {
    expect(() => loadConfig({ ...base, TETHER_VAULT: "secrets-manager" })).toThrow(
      /TETHER_SM_ROLE_ARN is not set.*TETHER_SM_EXTERNAL_ID is not set/,
    );
    expect(() => loadVaultSettings({ ...base, ...sm, TETHER_SM_ROLE_ARN: "role/x" })).toThrow(
      /TETHER_SM_ROLE_ARN: not/,
    );
    expect(() => loadVaultSettings({ ...base, ...sm, TETHER_SM_ENDPOINT: "nope" })).toThrow(
      /TETHER_SM_ENDPOINT/,
    );
    expect(() => loadVaultSettings({ ...sm })).toThrow(/TETHER_SM_REGION is not set/);
  });

  it("builds the vault agent adapter, which wraps only for a key (wrapFor), and names its settings", () => {
    const agent = {
      TETHER_VAULT: "agent",
      TETHER_AGENT_SIGNING_KEY: "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    };
    expect(loadVaultSettings({ ...base, ...agent })).toMatchObject({
      provider: "agent",
      signingRegion: "eu-west-1",
      timeoutMs: 20_000,
      tableName: "tether",
    });
    const vault = vaultFromEnv({ ...base, ...agent });
    expect(vault.kind).toBe("agent");
    expect(typeof vault.wrapFor).toBe("function");
    expect(() => loadConfig({ ...base, TETHER_VAULT: "agent", TETHER_AGENT_TIMEOUT_SECONDS: "0" })).toThrow(
      /TETHER_AGENT_SIGNING_KEY is not set.*TETHER_AGENT_TIMEOUT_SECONDS: not an integer/,
    );
  });

  it("refuses an unknown provider by name, and accepts only TETHER_VAULT", () => {
    expect(() => loadConfig({ ...base, TETHER_VAULT: "keychain" })).toThrow(/TETHER_VAULT/);
    expect(() => vaultFromEnv({ TETHER_VAULT: "keychain" })).toThrow(ConfigError);
    // VAULT_PROVIDER (the name) is not read: the file vault stays the default.
    expect(loadVaultSettings({ VAULT_PROVIDER: "hashicorp" }).provider).toBe("file");
  });

  it("defers the PKCS#11 adapter (a native module) to first use", async () => {
    const vault = vaultFromEnv({ TETHER_VAULT: "pkcs11" });
    expect(vault.kind).toBe("pkcs11");
    await expect(vault.has("a/b")).rejects.toThrow(/TETHER_PKCS11|PKCS#11|pkcs11/i);
  });
});
