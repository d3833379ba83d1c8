/**
 * The emulator's region-wide loss and outstanding import tokens. AWS does not document whether such a loss
 * invalidates import parameters issued before it (API_GetParametersForImport.html says only that a set is
 * valid for 24 hours), so `lose-material` models both:
 * by default tokens are refused afterwards (the unkind case); `invalidateImportTokens: false` keeps them.
 */
import { randomBytes } from "node:crypto";
import {
  CreateKeyCommand,
  DescribeKeyCommand,
  GetParametersForImportCommand,
  type GetParametersForImportCommandOutput,
  ImportKeyMaterialCommand,
} from "@aws-sdk/client-kms";
import { describe, expect, it } from "vitest";
import { importKeyMaterial, localKmsClient, rejection, useKmsEmulator } from "../../support/kms-testbed.js";
import { wrapKeyMaterial } from "../../support/kms-wrap.js";

const REGION = "eu-west-1";
const OTHER = "eu-central-1";
const bed = useKmsEmulator(REGION, { maxAttempts: 1 });

async function keyWithMaterial(): Promise<{ keyId: string; material: Buffer }> {
  const created = await bed.kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
  const keyId = created.KeyMetadata?.KeyId ?? "";
  const material = randomBytes(32);
  await importKeyMaterial(bed.kms, keyId, material);
  return { keyId, material };
}

async function parameters(keyId: string): Promise<GetParametersForImportCommandOutput> {
  return bed.kms.send(
    new GetParametersForImportCommand({
      KeyId: keyId,
      WrappingAlgorithm: "RSAES_OAEP_SHA_256",
      WrappingKeySpec: "RSA_2048",
    }),
  );
}

function importWith(keyId: string, material: Buffer, params: GetParametersForImportCommandOutput) {
  return bed.kms.send(
    new ImportKeyMaterialCommand({
      KeyId: keyId,
      ImportToken: params.ImportToken,
      EncryptedKeyMaterial: wrapKeyMaterial(
        material,
        params.PublicKey ?? new Uint8Array(),
        "RSAES_OAEP_SHA_256",
      ),
      ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
    }),
  );
}

async function keyState(keyId: string): Promise<string | undefined> {
  return (await bed.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState;
}

describe("lose-material and outstanding import tokens", () => {
  it("with invalidateImportTokens: true, refuses tokens issued before the loss, and honours those issued after", async () => {
    const { keyId, material } = await keyWithMaterial();
    const before = await parameters(keyId);

    await bed.emulator.admin.loseRegion(REGION, { invalidateImportTokens: true });
    expect(await keyState(keyId)).toBe("PendingImport");

    const refused = await rejection(importWith(keyId, material, before));
    expect(refused.name).toBe("InvalidImportTokenException");
    expect(await keyState(keyId)).toBe("PendingImport");

    await importWith(keyId, material, await parameters(keyId));
    expect(await keyState(keyId)).toBe("Enabled");
  });

  it("by default (and with invalidateImportTokens: false), a set issued before the loss restores the key", async () => {
    for (const options of [{}, { invalidateImportTokens: false }]) {
      const { keyId, material } = await keyWithMaterial();
      const before = await parameters(keyId);

      await bed.emulator.admin.loseRegion(REGION, options);
      expect(await keyState(keyId)).toBe("PendingImport");

      await importWith(keyId, material, before);
      expect(await keyState(keyId)).toBe("Enabled");
    }
  });

  it("invalidates only the lost Region's tokens", async () => {
    const other = useOther();
    const created = await other.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    const keyId = created.KeyMetadata?.KeyId ?? "";
    const params = await other.send(
      new GetParametersForImportCommand({
        KeyId: keyId,
        WrappingAlgorithm: "RSAES_OAEP_SHA_256",
        WrappingKeySpec: "RSA_2048",
      }),
    );
    await bed.emulator.admin.loseRegion(REGION, { invalidateImportTokens: true });
    await other.send(
      new ImportKeyMaterialCommand({
        KeyId: keyId,
        ImportToken: params.ImportToken,
        EncryptedKeyMaterial: wrapKeyMaterial(
          randomBytes(32),
          params.PublicKey ?? new Uint8Array(),
          "RSAES_OAEP_SHA_256",
        ),
        ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
      }),
    );
    expect((await other.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe(
      "Enabled",
    );
    other.destroy();
  });

  it("refuses an invalidateImportTokens that is not a boolean", async () => {
    const answer = await fetch(`${bed.emulator.url}/_admin/regions/${REGION}/lose-material`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ invalidateImportTokens: "yes" }),
    });
    expect(answer.status).toBe(400);
    expect(await answer.text()).toContain("invalidateImportTokens");
  });
});

function useOther() {
  return localKmsClient(bed.emulator.url, OTHER, { maxAttempts: 1 });
}
