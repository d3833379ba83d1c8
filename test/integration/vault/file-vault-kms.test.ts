import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  KMSClient,
} from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KmsEmulator, startKmsEmulator } from "../../../infra/local/kms/index.js";
import { KeySpec, WrappingAlgorithm } from "../../../lib/domain/kms-constants.js";
import { FileVault } from "../../../lib/vault/file/file-vault.js";

/**
 * The file vault against the local KMS over HTTP, through the real SDK: what the vault wraps, KMS
 * imports, and the imported key encrypts and decrypts.
 */

describe("FileVault with the local KMS", () => {
  let emulator: KmsEmulator;
  let kms: KMSClient;
  let directory: string;
  let vault: FileVault;

  beforeAll(async () => {
    emulator = await startKmsEmulator({ port: 0 });
    kms = new KMSClient({
      endpoint: emulator.url,
      region: "us-east-1",
      credentials: { accessKeyId: "AKIDLOCAL", secretAccessKey: "local" },
    });
    directory = mkdtempSync(path.join(tmpdir(), "tether-vault-kms-"));
    vault = new FileVault({
      directory,
      passphrase: "integration passphrase",
      scrypt: { N: 2 ** 14, r: 8, p: 1 },
    });
  });

  afterAll(async () => {
    kms?.destroy();
    await emulator?.close();
    if (directory) rmSync(directory, { recursive: true, force: true });
  });

  async function importFromVault(
    keyId: string,
    materialRef: string,
    algorithm: WrappingAlgorithm,
  ): Promise<void> {
    const parameters = await kms.send(
      new GetParametersForImportCommand({
        KeyId: keyId,
        WrappingAlgorithm: algorithm,
        WrappingKeySpec: "RSA_2048",
      }),
    );
    const encryptedKeyMaterial = await vault.wrap(materialRef, parameters.PublicKey as Uint8Array, algorithm);
    await kms.send(
      new ImportKeyMaterialCommand({
        KeyId: keyId,
        ImportToken: parameters.ImportToken,
        EncryptedKeyMaterial: encryptedKeyMaterial,
        ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
      }),
    );
  }

  // RSA_AES_KEY_WRAP_* is for RSA and ECC material only (GetParametersForImport refuses it for symmetric
  // keys); the vault's RSA_AES wrapping is exercised with RSA and ECC keys below.
  it.each([WrappingAlgorithm.RSAES_OAEP_SHA_256, WrappingAlgorithm.RSAES_OAEP_SHA_1])(
    "imports symmetric material wrapped with %s",
    async (algorithm) => {
      const created = await kms.send(
        new CreateKeyCommand({
          Origin: "EXTERNAL",
          KeySpec: "SYMMETRIC_DEFAULT",
          KeyUsage: "ENCRYPT_DECRYPT",
        }),
      );
      const keyId = created.KeyMetadata?.KeyId as string;
      const materialRef = `integration/${algorithm}`;
      await vault.generate(materialRef, KeySpec.SYMMETRIC_DEFAULT);

      await importFromVault(keyId, materialRef, algorithm);

      const described = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
      expect(described.KeyMetadata?.KeyState).toBe("Enabled");
      const plaintext = randomBytes(64);
      const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
      const decrypted = await kms.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob }));
      expect(Buffer.from(decrypted.Plaintext as Uint8Array).equals(plaintext)).toBe(true);
    },
  );

  it.each([
    [KeySpec.HMAC_256, "GENERATE_VERIFY_MAC", WrappingAlgorithm.RSAES_OAEP_SHA_256],
    [KeySpec.ECC_NIST_P256, "SIGN_VERIFY", WrappingAlgorithm.RSAES_OAEP_SHA_1],
    [KeySpec.RSA_2048, "SIGN_VERIFY", WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_256],
    [KeySpec.ECC_NIST_P384, "SIGN_VERIFY", WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_1],
  ] as const)("imports %s material (%s) wrapped with %s", async (keySpec, keyUsage, algorithm) => {
    const created = await kms.send(
      new CreateKeyCommand({ Origin: "EXTERNAL", KeySpec: keySpec, KeyUsage: keyUsage }),
    );
    const keyId = created.KeyMetadata?.KeyId as string;
    const materialRef = `integration/${keySpec}`;
    await vault.generate(materialRef, keySpec);

    await importFromVault(keyId, materialRef, algorithm);

    const described = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    expect(described.KeyMetadata?.KeyState).toBe("Enabled");
  });

  it("re-imports the same bytes after a delete, and KMS refuses other bytes", async () => {
    const created = await kms.send(
      new CreateKeyCommand({ Origin: "EXTERNAL", KeySpec: "SYMMETRIC_DEFAULT", KeyUsage: "ENCRYPT_DECRYPT" }),
    );
    const keyId = created.KeyMetadata?.KeyId as string;
    await vault.put("integration/original", randomBytes(32), KeySpec.SYMMETRIC_DEFAULT);
    await vault.put("integration/impostor", randomBytes(32), KeySpec.SYMMETRIC_DEFAULT);
    await importFromVault(keyId, "integration/original", WrappingAlgorithm.RSAES_OAEP_SHA_256);
    const plaintext = randomBytes(32);
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));

    await kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
    await expect(
      importFromVault(keyId, "integration/impostor", WrappingAlgorithm.RSAES_OAEP_SHA_1),
    ).rejects.toMatchObject({ name: "IncorrectKeyMaterialException" });
    await importFromVault(keyId, "integration/original", WrappingAlgorithm.RSAES_OAEP_SHA_1);

    const decrypted = await kms.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob }));
    expect(Buffer.from(decrypted.Plaintext as Uint8Array).equals(plaintext)).toBe(true);
  });
});
