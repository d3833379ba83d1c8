import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
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

  it("requires https:// except to a loopback address, naming TETHER_HCV_ADDR", () => {
    const env = { TETHER_VAULT: "hashicorp", TETHER_HCV_TOKEN: TOKEN };
    for (const address of [
      "https://vault.example.com:8200",
      "http://127.0.0.1:8200",
      "http://localhost:8200",
      "http://[::1]:8200",
    ]) {
      expect(loadVaultSettings({ ...env, TETHER_HCV_ADDR: address })).toMatchObject({ address });
    }
    for (const address of [
      "http://vault.example.com:8200",
      "http://10.0.0.5:8200",
      "http://127.0.0.1.example.com",
    ]) {
      expect(() => loadVaultSettings({ ...env, TETHER_HCV_ADDR: address })).toThrow(
        /TETHER_HCV_ADDR: must be an https:\/\/ URL \(http:\/\/ only to a loopback address\)/,
      );
    }
  });

  it("requires the server-id header with AWS IAM auth", () => {
    const env = {
      TETHER_VAULT: "hashicorp",
      TETHER_HCV_ADDR: "https://vault.example.com",
      TETHER_HCV_AUTH_METHOD: "aws",
      TETHER_HCV_AWS_ROLE: "tether",
    };
    expect(() => loadVaultSettings(env)).toThrow(/TETHER_HCV_AWS_SERVER_ID is not set/);
    expect(loadVaultSettings({ ...env, TETHER_HCV_AWS_SERVER_ID: "vault.example.com" })).toMatchObject({
      auth: { method: "aws", serverId: "vault.example.com" },
    });
  });

  describe("a Vault that answers 307 to another origin", () => {
    let other: { url: string; received: IncomingMessage[]; close: () => Promise<void> };

    beforeAll(async () => {
      const received: IncomingMessage[] = [];
      const listener = createServer((req, res) => {
        received.push(req);
        req.resume();
        res.writeHead(200, { "content-type": "application/json" });
        res.end("{}");
      });
      await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
      other = {
        url: `http://127.0.0.1:${(listener.address() as AddressInfo).port}`,
        received,
        close: () => new Promise<void>((resolve) => listener.close(() => resolve())),
      };
    });
    afterAll(async () => {
      server.redirectTo = undefined;
      await other?.close();
    });

    it("is not followed: every call fails and the other origin receives nothing", async () => {
      const vault = hashiCorpVault(settings(), { token: TOKEN });
      await vault.generate("team/redirected", KeySpec.SYMMETRIC_DEFAULT);
      const material = randomBytes(32);
      server.redirectTo = other.url;
      try {
        await expect(vault.has("team/redirected")).rejects.toThrow(VaultError);
        await expect(vault.checkValue("team/redirected")).rejects.toThrow(VaultError);
        await expect(vault.put("team/redirected-put", material, KeySpec.SYMMETRIC_DEFAULT)).rejects.toThrow(
          VaultError,
        );
        const aws = hashiCorpVault(
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
        await expect(aws.has("team/redirected")).rejects.toThrow(VaultError);
      } finally {
        server.redirectTo = undefined;
      }
      expect(other.received).toHaveLength(0);
    });
  });

  it("an answer that is not JSON is an error that holds no part of it", async () => {
    const vault = hashiCorpVault(settings(), { token: TOKEN });
    const body = `<html>proxy error ${randomBytes(16).toString("base64")}</html>`;
    server.notJson = body;
    let error: unknown;
    try {
      await vault.checkValue("team/key-1");
    } catch (e) {
      error = e;
    } finally {
      server.notJson = undefined;
    }
    expect(error).toBeInstanceOf(VaultError);
    expect((error as Error).message).toMatch(/is not JSON/);
    // Nothing of the body anywhere in the error, its cause chain included.
    const seen = new Set<unknown>();
    const parts: string[] = [];
    for (let e: unknown = error; e !== undefined && !seen.has(e); e = (e as { cause?: unknown }).cause) {
      seen.add(e);
      parts.push(String((e as Error).message), String((e as Error).stack));
    }
    for (const fragment of ["proxy error", body.slice(19, 40), "<html>"]) {
      expect(parts.join("\n")).not.toContain(fragment);
    }
  });
});
