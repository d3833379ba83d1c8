import { randomBytes } from "node:crypto";
import {
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
} from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, type HashiCorpVaultSettings, loadVaultSettings } from "../../../lib/config.js";
import { KeySpec, WrappingAlgorithm } from "../../../lib/domain/kms-constants.js";
import {
  MaterialAlreadyExistsError,
  MaterialNotFoundError,
  VaultError,
  VaultLockedError,
} from "../../../lib/vault/errors.js";
import { vaultFromEnv } from "../../../lib/vault/from-config.js";
import { type HashiCorpVault, hashiCorpVault } from "../../../lib/vault/hashicorp/index.js";
import {
  type HashiCorpVaultServer,
  startHashiCorpVaultServer,
} from "../../support/hashicorp-vault-server.js";
import { useKmsEmulator } from "../../support/kms-testbed.js";

/**
 * The HashiCorp Vault (KV v2) adapter against the contract stand-in of test/support/hashicorp-vault-server.ts
 * (Vault's documented API; no real Vault runs here), importing into the local KMS emulator.
 */
describe("HashiCorpVault with the contract server and the local KMS", () => {
  const testbed = useKmsEmulator("us-east-1");
  let server: HashiCorpVaultServer;
  const TOKEN = "hvs.test-token";
  const settings = (overrides: Partial<HashiCorpVaultSettings> = {}): HashiCorpVaultSettings => ({
    provider: "hashicorp",
    address: server.url,
    kvMount: "kv",
    pathPrefix: "tether",
    kvVersion: 1,
    auth: { method: "token" },
    ...overrides,
  });

  beforeAll(async () => {
    server = await startHashiCorpVaultServer({ mounts: ["kv"], serverId: "vault.example.com" });
    server.tokens.add(TOKEN);
  });
  afterAll(async () => {
    await server?.close();
  });

  async function importAndRoundTrip(vault: HashiCorpVault, ref: string): Promise<string> {
    const kms = testbed.kms;
    const key = await kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    const keyId = key.KeyMetadata?.KeyId as string;
    const p = await kms.send(
      new GetParametersForImportCommand({
        KeyId: keyId,
        WrappingAlgorithm: WrappingAlgorithm.RSAES_OAEP_SHA_256,
        WrappingKeySpec: "RSA_3072",
      }),
    );
    const wrapped = await vault.wrap(ref, p.PublicKey as Uint8Array, WrappingAlgorithm.RSAES_OAEP_SHA_256);
    await kms.send(
      new ImportKeyMaterialCommand({
        KeyId: keyId,
        ImportToken: p.ImportToken,
        EncryptedKeyMaterial: wrapped,
        ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
      }),
    );
    const c = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("kv2") }));
    const d = await kms.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: c.CiphertextBlob }));
    return Buffer.from(d.Plaintext as Uint8Array).toString();
  }

  it("token auth: stores base64 material as version 1, wraps it, and KMS imports it", async () => {
    const vault = hashiCorpVault(settings(), { token: TOKEN });
    const ref = "team/key-1";
    expect(await vault.has(ref)).toBe(false);
    const material = randomBytes(32);
    const { checkValue } = await vault.put(ref, material, KeySpec.SYMMETRIC_DEFAULT);
    expect(await vault.has(ref)).toBe(true);
    expect(await vault.checkValue(ref)).toBe(checkValue);
    expect(await importAndRoundTrip(vault, ref)).toBe("kv2");
    await expect(vault.put(ref, material, KeySpec.SYMMETRIC_DEFAULT)).rejects.toBeInstanceOf(
      MaterialAlreadyExistsError,
    );
  });

  it("reads the pinned version, not a later one written by someone else", async () => {
    const vault = hashiCorpVault(settings(), { token: TOKEN });
    const ref = "team/pinned";
    const { checkValue } = await vault.generate(ref, KeySpec.SYMMETRIC_DEFAULT);
    const other = hashiCorpVault(settings({ pathPrefix: "elsewhere" }), { token: TOKEN });
    const { checkValue: otherValue } = await other.generate("x", KeySpec.SYMMETRIC_DEFAULT);
    expect(otherValue).not.toBe(checkValue);
    // An operator writes version 2 at the same path with other material.
    server.write("kv", "tether/team/pinned", {
      material: randomBytes(32).toString("base64"),
      keySpec: "SYMMETRIC_DEFAULT",
      checkValue: otherValue,
    });
    expect(await vault.checkValue(ref)).toBe(checkValue);
    expect(await importAndRoundTrip(vault, ref)).toBe("kv2");
  });

  it("describes a reference by the key spec recorded with it", async () => {
    const vault = hashiCorpVault(settings(), { token: TOKEN });
    await vault.generate("team/described", KeySpec.HMAC_384);
    expect(await vault.describe("team/described")).toEqual({ keySpecs: [KeySpec.HMAC_384] });
  });

  it("a missing path or a deleted pinned version is MaterialNotFoundError", async () => {
    const vault = hashiCorpVault(settings(), { token: TOKEN });
    await expect(vault.checkValue("team/absent")).rejects.toBeInstanceOf(MaterialNotFoundError);
    await vault.generate("team/deleted", KeySpec.SYMMETRIC_DEFAULT);
    server.deleteVersion("kv", "tether/team/deleted", 1);
    await expect(vault.checkValue("team/deleted")).rejects.toBeInstanceOf(MaterialNotFoundError);
    expect(await vault.has("team/deleted")).toBe(false);
  });

  it("a bad token is a VaultError naming the path, a sealed Vault a VaultLockedError", async () => {
    const bad = hashiCorpVault(settings(), { token: "hvs.wrong" });
    const error = await bad.checkValue("team/key-1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultError);
    expect((error as Error).message).toMatch(/denied.*tether\/team\/key-1.*403/);
    const good = hashiCorpVault(settings(), { token: TOKEN });
    server.sealed = true;
    try {
      const sealed = await good.checkValue("team/key-1").catch((e: unknown) => e);
      expect(sealed).toBeInstanceOf(VaultLockedError);
      expect((sealed as Error).message).toMatch(/sealed.*503/);
    } finally {
      server.sealed = false;
    }
    expect(await good.has("team/key-1")).toBe(true);
  });

  it("AWS IAM auth: logs in with a signed GetCallerIdentity request and caches the token", async () => {
    const vault = hashiCorpVault(
      settings({
        auth: {
          method: "aws",
          role: "tether",
          mount: "aws",
          stsRegion: "us-east-1",
          serverId: "vault.example.com",
        },
      }),
      {},
      { credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "example-secret" } },
    );
    const before = server.logins.length;
    await vault.generate("team/aws-auth", KeySpec.SYMMETRIC_DEFAULT);
    expect(await vault.has("team/aws-auth")).toBe(true);
    expect(server.logins.length).toBe(before + 1);
    const login = server.logins[server.logins.length - 1];
    expect(login?.url).toBe("https://sts.amazonaws.com/");
    expect(login?.body).toBe("Action=GetCallerIdentity&Version=2011-06-15");
    expect(
      login?.headers["X-Vault-AWS-IAM-Server-ID"] ?? login?.headers["x-vault-aws-iam-server-id"],
    ).toEqual(["vault.example.com"]);
    // The signing secret never travels; only the signature does.
    expect(JSON.stringify(login)).not.toContain("example-secret");
    // A revoked token: one new login, then success.
    server.tokens.clear();
    server.tokens.add(TOKEN);
    expect(await vault.has("team/aws-auth")).toBe(true);
    expect(server.logins.length).toBe(before + 2);
  });

  it("an unknown role is refused at login with a VaultError naming the role", async () => {
    const vault = hashiCorpVault(
      settings({
        auth: {
          method: "aws",
          role: "nobody",
          mount: "aws",
          stsRegion: "us-east-1",
          serverId: "vault.example.com",
        },
      }),
      {},
      { credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "example-secret" } },
    );
    await expect(vault.has("team/key-1")).rejects.toThrow(/role "nobody"/);
  });

  it("is chosen by TETHER_VAULT=hashicorp, and bad settings are named at cold start", async () => {
    const env = {
      TETHER_VAULT: "hashicorp",
      TETHER_HCV_ADDR: server.url,
      TETHER_HCV_KV_MOUNT: "kv",
      TETHER_HCV_TOKEN: TOKEN,
    };
    const vault = vaultFromEnv(env);
    expect(vault.kind).toBe("hashicorp");
    expect(await vault.has("team/key-1")).toBe(true);
    expect(() => vaultFromEnv({ TETHER_VAULT: "hashicorp", TETHER_HCV_ADDR: server.url })).toThrow(
      /TETHER_HCV_TOKEN is not set/,
    );
    expect(() => loadVaultSettings({ TETHER_VAULT: "hashicorp", TETHER_HCV_TOKEN: "t" })).toThrow(
      /TETHER_HCV_ADDR is not set/,
    );
    expect(() =>
      loadVaultSettings({
        TETHER_VAULT: "hashicorp",
        TETHER_HCV_ADDR: server.url,
        TETHER_HCV_AUTH_METHOD: "aws",
      }),
    ).toThrow(/TETHER_HCV_AWS_ROLE is not set/);
    expect(() => loadVaultSettings({ ...env, TETHER_HCV_KV_VERSION: "0" })).toThrow(ConfigError);
    expect(() => loadVaultSettings({ ...env, TETHER_HCV_KV_VERSION: "0" })).toThrow(/TETHER_HCV_KV_VERSION/);
  });
});
