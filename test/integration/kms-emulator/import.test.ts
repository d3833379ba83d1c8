/**
 * Conformance of the local KMS emulator's import path (GetParametersForImport, ImportKeyMaterial,
 * DeleteImportedKeyMaterial) through @aws-sdk/client-kms over HTTP.
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import {
  CreateKeyCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  GetParametersForImportCommand,
  GetPublicKeyCommand,
  ImportKeyMaterialCommand,
  ScheduleKeyDeletionCommand,
} from "@aws-sdk/client-kms";
import { describe, expect, it } from "vitest";
import { importKeyMaterial, rejection, useKmsEmulator } from "../../support/kms-testbed.js";
import { type KmsWrappingAlgorithm, wrapKeyMaterial } from "../../support/kms-wrap.js";

const DAY = 24 * 60 * 60 * 1000;
const local = useKmsEmulator("eu-west-1");

async function externalKey(spec = "SYMMETRIC_DEFAULT", usage?: string): Promise<string> {
  const out = await local.kms.send(
    new CreateKeyCommand({
      Origin: "EXTERNAL",
      KeySpec: spec as never,
      KeyUsage: (usage ?? (spec === "SYMMETRIC_DEFAULT" ? undefined : "SIGN_VERIFY")) as never,
    }),
  );
  return out.KeyMetadata?.KeyId ?? "";
}

async function params(
  keyId: string,
  algorithm: KmsWrappingAlgorithm = "RSAES_OAEP_SHA_256",
  spec = "RSA_2048",
) {
  return local.kms.send(
    new GetParametersForImportCommand({
      KeyId: keyId,
      WrappingAlgorithm: algorithm,
      WrappingKeySpec: spec as never,
    }),
  );
}

async function describe_(keyId: string) {
  return (await local.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
}

describe("CreateKey with Origin EXTERNAL", () => {
  it("starts PendingImport, disabled, without ExpirationModel", async () => {
    const keyId = await externalKey();
    const meta = await describe_(keyId);
    expect(meta).toMatchObject({ Origin: "EXTERNAL", KeyState: "PendingImport", Enabled: false });
    expect(meta?.ExpirationModel).toBeUndefined();
    expect(meta?.CurrentKeyMaterialId).toBeUndefined();
  });
});

describe("GetParametersForImport", () => {
  it("returns a DER public key of the requested size, a token and ParametersValidTo = now + 24 h", async () => {
    const keyId = await externalKey();
    const now = (await local.emulator.admin.now()).getTime();
    const out = await params(keyId, "RSAES_OAEP_SHA_256", "RSA_3072");
    const { createPublicKey } = await import("node:crypto");
    const pub = createPublicKey({ key: Buffer.from(out.PublicKey ?? []), format: "der", type: "spki" });
    expect(pub.asymmetricKeyDetails?.modulusLength).toBe(3072);
    expect(out.KeyId).toBe(`arn:aws:kms:eu-west-1:111122223333:key/${keyId}`);
    expect(out.ImportToken?.length).toBeGreaterThan(0);
    const validTo = out.ParametersValidTo?.getTime() ?? 0;
    expect(validTo - now).toBeGreaterThanOrEqual(DAY - 60_000);
    expect(validTo - now).toBeLessThanOrEqual(DAY + 60_000);
  });

  it("gives every call its own key pair and token", async () => {
    const keyId = await externalKey();
    const [a, b] = await Promise.all([params(keyId), params(keyId)]);
    expect(Buffer.from(a.PublicKey ?? []).equals(Buffer.from(b.PublicKey ?? []))).toBe(false);
    expect(Buffer.from(a.ImportToken ?? []).equals(Buffer.from(b.ImportToken ?? []))).toBe(false);
  });

  it("refuses RSAES_PKCS1_V1_5 (no longer supported since 2023-10-10)", async () => {
    const keyId = await externalKey();
    const err = await rejection(params(keyId, "RSAES_PKCS1_V1_5" as KmsWrappingAlgorithm));
    expect(err.name).toBe("ValidationException");
    expect(err.message).toContain("RSAES_PKCS1_V1_5");
  });

  it("refuses an unknown wrapping algorithm and a missing key spec with AWS-style validation", async () => {
    const keyId = await externalKey();
    const err = await rejection(
      local.kms.send(
        new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: "RSA_NOPE" as never } as never),
      ),
    );
    expect(err.name).toBe("ValidationException");
    expect(err.message).toMatch(/^2 validation errors detected: /);
    expect(err.message).toContain("at 'wrappingAlgorithm' failed to satisfy constraint");
    expect(err.message).toContain("Value null at 'wrappingKeySpec'");
  });

  it("refuses keys whose origin is not EXTERNAL", async () => {
    const key = await local.kms.send(new CreateKeyCommand({}));
    const err = await rejection(params(key.KeyMetadata?.KeyId ?? ""));
    expect(err.name).toBe("UnsupportedOperationException");
    expect(err.message).toBe(
      `${key.KeyMetadata?.Arn} origin is AWS_KMS which is not valid for this operation.`,
    );
  });

  it("refuses a key pending deletion", async () => {
    const keyId = await externalKey();
    await local.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    const err = await rejection(params(keyId));
    expect(err.name).toBe("KMSInvalidStateException");
    expect(err.message).toMatch(/is pending deletion\.$/);
  });
});

describe("ImportKeyMaterial: wrapping", () => {
  const cases: [KmsWrappingAlgorithm, string][] = [
    ["RSAES_OAEP_SHA_1", "RSA_2048"],
    ["RSAES_OAEP_SHA_1", "RSA_3072"],
    ["RSAES_OAEP_SHA_256", "RSA_2048"],
    ["RSAES_OAEP_SHA_256", "RSA_4096"],
  ];
  // RSA_AES_KEY_WRAP_* is documented for RSA and ECC material only (GetParametersForImport refuses it
  // for symmetric and HMAC keys: wrapping-rules.test.ts), so it is exercised with an RSA key here.
  const rsaAesCases: [KmsWrappingAlgorithm, string][] = [
    ["RSA_AES_KEY_WRAP_SHA_1", "RSA_2048"],
    ["RSA_AES_KEY_WRAP_SHA_1", "RSA_3072"],
    ["RSA_AES_KEY_WRAP_SHA_256", "RSA_2048"],
    ["RSA_AES_KEY_WRAP_SHA_256", "RSA_4096"],
  ];
  it.each(rsaAesCases)(
    "unwraps %s under a %s wrapping key into an RSA key, which then holds exactly that private key",
    async (algorithm, spec) => {
      const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const keyId = await externalKey("RSA_2048", "ENCRYPT_DECRYPT");
      await importKeyMaterial(local.kms, keyId, pair.privateKey.export({ type: "pkcs8", format: "der" }), {
        algorithm,
        wrappingKeySpec: spec as "RSA_2048",
      });
      expect(await describe_(keyId)).toMatchObject({
        KeyState: "Enabled",
        Enabled: true,
        ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
      });
      const pub = await local.kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
      expect(
        Buffer.from(pub.PublicKey ?? []).equals(pair.publicKey.export({ type: "spki", format: "der" })),
      ).toBe(true);
    },
  );
  it.each(cases)("unwraps %s under a %s wrapping key and enables the key", async (algorithm, spec) => {
    const keyId = await externalKey();
    const out = await importKeyMaterial(local.kms, keyId, randomBytes(32), {
      algorithm,
      wrappingKeySpec: spec as "RSA_2048",
    });
    expect(out.KeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
    const meta = await describe_(keyId);
    expect(meta).toMatchObject({
      KeyState: "Enabled",
      Enabled: true,
      ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
      CurrentKeyMaterialId: out.KeyMaterialId,
    });
  });

  it("answers InvalidCiphertextException when the material was wrapped with another algorithm", async () => {
    const keyId = await externalKey();
    const p = await params(keyId, "RSAES_OAEP_SHA_256");
    const err = await rejection(
      local.kms.send(
        new ImportKeyMaterialCommand({
          KeyId: keyId,
          ImportToken: p.ImportToken,
          EncryptedKeyMaterial: wrapKeyMaterial(
            randomBytes(32),
            p.PublicKey ?? new Uint8Array(),
            "RSAES_OAEP_SHA_1",
          ),
          ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
        }),
      ),
    );
    expect(err.name).toBe("InvalidCiphertextException");
  });

  it("answers InvalidCiphertextException for a token used with another call's public key", async () => {
    const keyId = await externalKey();
    const first = await params(keyId);
    const second = await params(keyId);
    const err = await rejection(
      local.kms.send(
        new ImportKeyMaterialCommand({
          KeyId: keyId,
          ImportToken: first.ImportToken,
          EncryptedKeyMaterial: wrapKeyMaterial(
            randomBytes(32),
            second.PublicKey ?? new Uint8Array(),
            "RSAES_OAEP_SHA_256",
          ),
          ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
        }),
      ),
    );
    expect(err.name).toBe("InvalidCiphertextException");
  });

  it("keeps earlier parameters usable after newer ones were requested", async () => {
    const keyId = await externalKey();
    const first = await params(keyId);
    await params(keyId);
    await local.kms.send(
      new ImportKeyMaterialCommand({
        KeyId: keyId,
        ImportToken: first.ImportToken,
        EncryptedKeyMaterial: wrapKeyMaterial(
          randomBytes(32),
          first.PublicKey ?? new Uint8Array(),
          "RSAES_OAEP_SHA_256",
        ),
        ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
      }),
    );
    expect((await describe_(keyId))?.KeyState).toBe("Enabled");
  });

  it("answers InvalidImportTokenException for the token of another key", async () => {
    const keyA = await externalKey();
    const keyB = await externalKey();
    const p = await params(keyA);
    const err = await rejection(
      local.kms.send(
        new ImportKeyMaterialCommand({
          KeyId: keyB,
          ImportToken: p.ImportToken,
          EncryptedKeyMaterial: wrapKeyMaterial(
            randomBytes(32),
            p.PublicKey ?? new Uint8Array(),
            "RSAES_OAEP_SHA_256",
          ),
          ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
        }),
      ),
    );
    expect(err.name).toBe("InvalidImportTokenException");
  });

  it("answers InvalidImportTokenException for an altered token", async () => {
    const keyId = await externalKey();
    const p = await params(keyId);
    const token = Buffer.from(p.ImportToken ?? []);
    token[token.length - 1] = (token[token.length - 1] ?? 0) ^ 0xff;
    const err = await rejection(
      local.kms.send(
        new ImportKeyMaterialCommand({
          KeyId: keyId,
          ImportToken: token,
          EncryptedKeyMaterial: wrapKeyMaterial(
            randomBytes(32),
            p.PublicKey ?? new Uint8Array(),
            "RSAES_OAEP_SHA_256",
          ),
          ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
        }),
      ),
    );
    expect(err.name).toBe("InvalidImportTokenException");
  });

  it("does not carry the wrapping private key in clear in the token", async () => {
    const keyId = await externalKey();
    const p = await params(keyId);
    const token = Buffer.from(p.ImportToken ?? []);
    expect(token.includes(Buffer.from("PRIVATE KEY"))).toBe(false);
    // A PKCS#8 RSA key starts with this DER prefix; it must not appear in the token.
    expect(token.includes(Buffer.from("020100300d06092a864886f70d010101", "hex"))).toBe(false);
  });

  it("answers ExpiredImportTokenException once the token is older than 24 hours", async () => {
    const keyId = await externalKey();
    const p = await params(keyId);
    await local.emulator.admin.advanceClock(DAY + 1000);
    try {
      const err = await rejection(
        local.kms.send(
          new ImportKeyMaterialCommand({
            KeyId: keyId,
            ImportToken: p.ImportToken,
            EncryptedKeyMaterial: wrapKeyMaterial(
              randomBytes(32),
              p.PublicKey ?? new Uint8Array(),
              "RSAES_OAEP_SHA_256",
            ),
            ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
          }),
        ),
      );
      expect(err.name).toBe("ExpiredImportTokenException");
    } finally {
      await local.emulator.admin.advanceClock(-(DAY + 1000));
    }
  });
});

describe("ImportKeyMaterial: ValidTo and ExpirationModel", () => {
  it("defaults to KEY_MATERIAL_EXPIRES, which requires ValidTo", async () => {
    const keyId = await externalKey();
    const p = await params(keyId);
    const err = await rejection(
      local.kms.send(
        new ImportKeyMaterialCommand({
          KeyId: keyId,
          ImportToken: p.ImportToken,
          EncryptedKeyMaterial: wrapKeyMaterial(
            randomBytes(32),
            p.PublicKey ?? new Uint8Array(),
            "RSAES_OAEP_SHA_256",
          ),
        }),
      ),
    );
    expect(err.name).toBe("ValidationException");
    expect(err.message).toBe("A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES");
  });

  it("forbids ValidTo with KEY_MATERIAL_DOES_NOT_EXPIRE", async () => {
    const keyId = await externalKey();
    const err = await rejection(
      importKeyMaterial(local.kms, keyId, randomBytes(32), {
        expirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
        validTo: new Date(Date.now() + DAY),
      }),
    );
    expect(err.name).toBe("ValidationException");
  });

  it("refuses a ValidTo in the past and one more than 365 days ahead", async () => {
    const keyId = await externalKey();
    const now = (await local.emulator.admin.now()).getTime();
    const past = await rejection(
      importKeyMaterial(local.kms, keyId, randomBytes(32), { validTo: new Date(now - 60_000) }),
    );
    expect(past.name).toBe("ValidationException");
    const far = await rejection(
      importKeyMaterial(local.kms, keyId, randomBytes(32), { validTo: new Date(now + 366 * DAY) }),
    );
    expect(far.name).toBe("ValidationException");
    expect((await describe_(keyId))?.KeyState).toBe("PendingImport");
  });

  it("accepts ValidTo 365 days ahead and reports it in DescribeKey", async () => {
    const keyId = await externalKey();
    const now = (await local.emulator.admin.now()).getTime();
    const validTo = new Date(now + 365 * DAY - 60_000);
    await importKeyMaterial(local.kms, keyId, randomBytes(32), { validTo });
    const meta = await describe_(keyId);
    expect(meta?.ExpirationModel).toBe("KEY_MATERIAL_EXPIRES");
    expect(meta?.ValidTo?.getTime()).toBe(validTo.getTime());
  });
});

describe("ImportKeyMaterial: material checked against the key spec", () => {
  it("requires exactly 32 bytes for SYMMETRIC_DEFAULT", async () => {
    for (const size of [16, 31, 33, 64]) {
      const keyId = await externalKey();
      const err = await rejection(importKeyMaterial(local.kms, keyId, randomBytes(size)));
      expect(err.name).toBe("IncorrectKeyMaterialException");
    }
  });

  const hmac: [string, number, number][] = [
    ["HMAC_224", 28, 64],
    ["HMAC_256", 32, 64],
    ["HMAC_384", 48, 128],
    ["HMAC_512", 64, 128],
  ];
  it.each(hmac)("accepts %s material of %i to %i bytes only", async (spec, min, max) => {
    for (const [size, ok] of [
      [min - 1, false],
      [min, true],
      [max, true],
      [max + 1, false],
    ] as const) {
      const keyId = await externalKey(spec, "GENERATE_VERIFY_MAC");
      // RSA_AES_KEY_WRAP_* is refused for HMAC keys; 129 bytes fit in RSA_2048 OAEP SHA-256 (190 at most).
      const result = importKeyMaterial(local.kms, keyId, randomBytes(size), {
        algorithm: "RSAES_OAEP_SHA_256",
      });
      if (ok) {
        await result;
        expect((await describe_(keyId))?.KeyState).toBe("Enabled");
      } else {
        expect((await rejection(result)).name).toBe("IncorrectKeyMaterialException");
      }
    }
  });

  it("accepts a PKCS#8 EC private key of the key's curve and refuses another curve", async () => {
    const p256 = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({
      type: "pkcs8",
      format: "der",
    });
    const p384 = generateKeyPairSync("ec", { namedCurve: "secp384r1" }).privateKey.export({
      type: "pkcs8",
      format: "der",
    });
    const keyId = await externalKey("ECC_NIST_P256");
    expect((await rejection(importKeyMaterial(local.kms, keyId, p384))).name).toBe(
      "IncorrectKeyMaterialException",
    );
    await importKeyMaterial(local.kms, keyId, p256);
    expect((await describe_(keyId))?.KeyState).toBe("Enabled");
    const k1 = await externalKey("ECC_SECG_P256K1");
    const secp256k1 = generateKeyPairSync("ec", { namedCurve: "secp256k1" }).privateKey.export({
      type: "pkcs8",
      format: "der",
    });
    await importKeyMaterial(local.kms, k1, secp256k1, { algorithm: "RSA_AES_KEY_WRAP_SHA_1" });
    expect((await describe_(k1))?.KeyState).toBe("Enabled");
  });

  it("accepts an RSA private key of the key's size (RSA_AES_KEY_WRAP only) and refuses another size", async () => {
    const rsa2048 = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({
      type: "pkcs8",
      format: "der",
    });
    const keyId = await externalKey("RSA_3072", "ENCRYPT_DECRYPT");
    const wrongSize = await rejection(
      importKeyMaterial(local.kms, keyId, rsa2048, { algorithm: "RSA_AES_KEY_WRAP_SHA_256" }),
    );
    expect(wrongSize.name).toBe("IncorrectKeyMaterialException");
    const rsaKey = await externalKey("RSA_2048", "SIGN_VERIFY");
    // RSA private material is too large for plain RSA-OAEP: a customer cannot even wrap it.
    const p = await params(rsaKey, "RSAES_OAEP_SHA_256");
    expect(() => wrapKeyMaterial(rsa2048, p.PublicKey ?? new Uint8Array(), "RSAES_OAEP_SHA_256")).toThrow();
    await importKeyMaterial(local.kms, rsaKey, rsa2048, { algorithm: "RSA_AES_KEY_WRAP_SHA_256" });
    expect((await describe_(rsaKey))?.KeyState).toBe("Enabled");
  });

  it("refuses non-DER garbage for an asymmetric key", async () => {
    const keyId = await externalKey("ECC_NIST_P384");
    const err = await rejection(
      importKeyMaterial(local.kms, keyId, randomBytes(100), { algorithm: "RSA_AES_KEY_WRAP_SHA_256" }),
    );
    expect(err.name).toBe("IncorrectKeyMaterialException");
  });

  it("refuses ImportType, KeyMaterialId and KeyMaterialDescription for asymmetric and HMAC keys", async () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({
      type: "pkcs8",
      format: "der",
    });
    const ecKey = await externalKey("ECC_NIST_P256");
    for (const extra of [
      { ImportType: "NEW_KEY_MATERIAL" as const },
      { KeyMaterialDescription: "first" },
      { KeyMaterialId: "a".repeat(64), ImportType: "EXISTING_KEY_MATERIAL" as const },
    ]) {
      const err = await rejection(importKeyMaterial(local.kms, ecKey, ec, { extra }));
      expect(err.name).toBe("UnsupportedOperationException");
    }
    const hmacKey = await externalKey("HMAC_256", "GENERATE_VERIFY_MAC");
    const err = await rejection(
      importKeyMaterial(local.kms, hmacKey, randomBytes(32), { extra: { ImportType: "NEW_KEY_MATERIAL" } }),
    );
    expect(err.name).toBe("UnsupportedOperationException");
  });
});

describe("ImportKeyMaterial: one material for ever", () => {
  it("accepts only the same bytes after DeleteImportedKeyMaterial", async () => {
    const keyId = await externalKey();
    const material = randomBytes(32);
    const first = await importKeyMaterial(local.kms, keyId, material);
    const deleted = await local.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
    expect(deleted.KeyMaterialId).toBe(first.KeyMaterialId);
    const meta = await describe_(keyId);
    expect(meta).toMatchObject({
      KeyState: "PendingImport",
      Enabled: false,
      CurrentKeyMaterialId: first.KeyMaterialId,
    });
    expect(meta?.ExpirationModel).toBeUndefined();
    const other = await rejection(importKeyMaterial(local.kms, keyId, randomBytes(32)));
    expect(other.name).toBe("IncorrectKeyMaterialException");
    const again = await importKeyMaterial(local.kms, keyId, material);
    expect(again.KeyMaterialId).toBe(first.KeyMaterialId);
    expect((await describe_(keyId))?.KeyState).toBe("Enabled");
  });

  it("accepts only the same bytes after the material expired", async () => {
    const keyId = await externalKey();
    const material = randomBytes(32);
    const now = (await local.emulator.admin.now()).getTime();
    await importKeyMaterial(local.kms, keyId, material, { validTo: new Date(now + 60 * 60 * 1000) });
    await local.emulator.admin.advanceClock(2 * 60 * 60 * 1000);
    expect((await describe_(keyId))?.KeyState).toBe("PendingImport");
    expect((await rejection(importKeyMaterial(local.kms, keyId, randomBytes(32)))).name).toBe(
      "IncorrectKeyMaterialException",
    );
    await importKeyMaterial(local.kms, keyId, material);
    expect((await describe_(keyId))?.KeyState).toBe("Enabled");
  });

  it("applies the same-bytes rule to asymmetric keys too", async () => {
    const keyId = await externalKey("ECC_NIST_P256");
    const mk = () =>
      generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey.export({
        type: "pkcs8",
        format: "der",
      });
    const material = mk();
    const out = await importKeyMaterial(local.kms, keyId, material);
    expect(out.KeyMaterialId).toBeUndefined();
    await local.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
    expect((await rejection(importKeyMaterial(local.kms, keyId, mk()))).name).toBe(
      "IncorrectKeyMaterialException",
    );
    await importKeyMaterial(local.kms, keyId, material);
    expect((await describe_(keyId))?.KeyState).toBe("Enabled");
  });

  it("reimports into an enabled key to move ValidTo, and keeps a disabled key disabled", async () => {
    const keyId = await externalKey();
    const material = randomBytes(32);
    const now = (await local.emulator.admin.now()).getTime();
    await importKeyMaterial(local.kms, keyId, material, { validTo: new Date(now + DAY) });
    await importKeyMaterial(local.kms, keyId, material, { validTo: new Date(now + 30 * DAY) });
    expect((await describe_(keyId))?.ValidTo?.getTime()).toBe(now + 30 * DAY);
    await local.kms.send(new DisableKeyCommand({ KeyId: keyId }));
    await importKeyMaterial(local.kms, keyId, material, { validTo: new Date(now + 40 * DAY) });
    expect((await describe_(keyId))?.KeyState).toBe("Disabled");
  });

  it("refuses to import into a key pending deletion, and deleting material there keeps PendingDeletion", async () => {
    const keyId = await externalKey();
    const material = randomBytes(32);
    const p = await params(keyId);
    await importKeyMaterial(local.kms, keyId, material);
    await local.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    await local.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
    expect((await describe_(keyId))?.KeyState).toBe("PendingDeletion");
    const err = await rejection(
      local.kms.send(
        new ImportKeyMaterialCommand({
          KeyId: keyId,
          ImportToken: p.ImportToken,
          EncryptedKeyMaterial: wrapKeyMaterial(
            material,
            p.PublicKey ?? new Uint8Array(),
            "RSAES_OAEP_SHA_256",
          ),
          ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
        }),
      ),
    );
    expect(err.name).toBe("KMSInvalidStateException");
  });

  it("refuses DeleteImportedKeyMaterial on a key that is not EXTERNAL", async () => {
    const key = await local.kms.send(new CreateKeyCommand({}));
    const err = await rejection(
      local.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: key.KeyMetadata?.KeyId })),
    );
    expect(err.name).toBe("UnsupportedOperationException");
  });
});
