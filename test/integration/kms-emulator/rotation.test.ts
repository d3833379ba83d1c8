/**
 * Conformance of on-demand rotation of imported material (ImportType NEW_KEY_MATERIAL,
 * RotateKeyOnDemand, ListKeyRotations) and of multi-Region keys with imported material.
 */
import { randomBytes } from "node:crypto";
import {
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  type KMSClient,
  ListKeyRotationsCommand,
  ReplicateKeyCommand,
  RotateKeyOnDemandCommand,
} from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { importKeyMaterial, localKmsClient, rejection, useKmsEmulator } from "../../support/kms-testbed.js";
import { wrapKeyMaterial } from "../../support/kms-wrap.js";

const local = useKmsEmulator("eu-west-1");
let replicaKms: KMSClient;

beforeAll(() => {
  replicaKms = localKmsClient(local.emulator.url, "us-east-2");
});
afterAll(() => {
  replicaKms?.destroy();
});

async function externalKey(client = local.kms, multiRegion = false): Promise<string> {
  const out = await client.send(new CreateKeyCommand({ Origin: "EXTERNAL", MultiRegion: multiRegion }));
  return out.KeyMetadata?.KeyId ?? "";
}

const NEW = { ImportType: "NEW_KEY_MATERIAL" as const };
const EXISTING = { ImportType: "EXISTING_KEY_MATERIAL" as const };

describe("on-demand rotation of imported material (single-Region)", () => {
  it("NEW_KEY_MATERIAL is PENDING_ROTATION until RotateKeyOnDemand makes it CURRENT", async () => {
    const keyId = await externalKey();
    const first = await importKeyMaterial(local.kms, keyId, randomBytes(32));
    const before = await local.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("old") }));
    const second = await importKeyMaterial(local.kms, keyId, randomBytes(32), {
      extra: { ...NEW, KeyMaterialDescription: "second" },
    });
    expect(second.KeyMaterialId).not.toBe(first.KeyMaterialId);

    let rotations = await local.kms.send(
      new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: "ALL_KEY_MATERIAL" }),
    );
    expect(rotations.Rotations?.map((r) => [r.KeyMaterialId, r.KeyMaterialState, r.ImportState])).toEqual([
      [first.KeyMaterialId, "CURRENT", "IMPORTED"],
      [second.KeyMaterialId, "PENDING_ROTATION", "IMPORTED"],
    ]);
    expect(
      (await local.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.CurrentKeyMaterialId,
    ).toBe(first.KeyMaterialId);

    const rotated = await local.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    expect(rotated.KeyId).toMatch(/^arn:aws:kms:eu-west-1:/);
    const meta = (await local.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    expect(meta?.CurrentKeyMaterialId).toBe(second.KeyMaterialId);

    rotations = await local.kms.send(
      new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: "ALL_KEY_MATERIAL" }),
    );
    expect(rotations.Rotations?.map((r) => r.KeyMaterialState)).toEqual(["NON_CURRENT", "CURRENT"]);
    const onlyRotations = await local.kms.send(new ListKeyRotationsCommand({ KeyId: keyId }));
    expect(onlyRotations.Rotations).toHaveLength(1);
    expect(onlyRotations.Rotations?.[0]).toMatchObject({
      KeyMaterialId: second.KeyMaterialId,
      RotationType: "ON_DEMAND",
      KeyMaterialDescription: "second",
    });
    expect(onlyRotations.Rotations?.[0]?.RotationDate).toBeInstanceOf(Date);

    // The old material still decrypts what it encrypted.
    const old = await local.kms.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob }));
    expect(Buffer.from(old.Plaintext ?? []).toString()).toBe("old");
  });

  it("refuses a second NEW_KEY_MATERIAL while one is pending, and new material that is already associated", async () => {
    const keyId = await externalKey();
    const first = randomBytes(32);
    await importKeyMaterial(local.kms, keyId, first);
    const again = await rejection(importKeyMaterial(local.kms, keyId, first, { extra: NEW }));
    expect(again.name).toBe("IncorrectKeyMaterialException");
    const pending = await importKeyMaterial(local.kms, keyId, randomBytes(32), { extra: NEW });
    const err = await rejection(importKeyMaterial(local.kms, keyId, randomBytes(32), { extra: NEW }));
    expect(err.name).toBe("KMSInvalidStateException");
    expect(err.message).toContain(
      `because another key material (id: ${pending.KeyMaterialId}) is pending rotation.`,
    );
  });

  it("refuses KeyMaterialId with NEW_KEY_MATERIAL and a KeyMaterialId that does not match the bytes", async () => {
    const keyId = await externalKey();
    const material = randomBytes(32);
    const first = await importKeyMaterial(local.kms, keyId, material);
    const withId = await rejection(
      importKeyMaterial(local.kms, keyId, randomBytes(32), {
        extra: { ...NEW, KeyMaterialId: first.KeyMaterialId },
      }),
    );
    expect(withId.name).toBe("ValidationException");
    const wrongId = await rejection(
      importKeyMaterial(local.kms, keyId, material, {
        extra: { ...EXISTING, KeyMaterialId: "0".repeat(64) },
      }),
    );
    expect(wrongId.name).toBe("IncorrectKeyMaterialException");
    const ok = await importKeyMaterial(local.kms, keyId, material, {
      extra: { ...EXISTING, KeyMaterialId: first.KeyMaterialId },
    });
    expect(ok.KeyMaterialId).toBe(first.KeyMaterialId);
  });

  it("refuses RotateKeyOnDemand with no material pending rotation, and on PendingImport / non-symmetric keys", async () => {
    const keyId = await externalKey();
    const noMaterial = await rejection(local.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId })));
    expect(noMaterial.name).toBe("KMSInvalidStateException");
    expect(noMaterial.message).toMatch(/is pending import\.$/);
    await importKeyMaterial(local.kms, keyId, randomBytes(32));
    const nothingPending = await rejection(local.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId })));
    expect(nothingPending.name).toBe("KMSInvalidStateException");
    expect(nothingPending.message).toMatch(
      /^No available key material pending rotation for the key: arn:aws:kms:/,
    );
    const hmac = await local.kms.send(
      new CreateKeyCommand({ Origin: "EXTERNAL", KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC" }),
    );
    await importKeyMaterial(local.kms, hmac.KeyMetadata?.KeyId ?? "", randomBytes(32));
    const err = await rejection(
      local.kms.send(new RotateKeyOnDemandCommand({ KeyId: hmac.KeyMetadata?.KeyId })),
    );
    expect(err.name).toBe("UnsupportedOperationException");
  });

  it("allows at most 25 on-demand rotations per key (LimitExceededException)", async () => {
    const keyId = await externalKey();
    // One parameter set serves every import while it is valid.
    const params = await local.kms.send(
      new GetParametersForImportCommand({
        KeyId: keyId,
        WrappingAlgorithm: "RSAES_OAEP_SHA_256",
        WrappingKeySpec: "RSA_2048",
      }),
    );
    const importOne = (importType?: "NEW_KEY_MATERIAL") =>
      local.kms.send(
        new ImportKeyMaterialCommand({
          KeyId: keyId,
          ImportToken: params.ImportToken,
          EncryptedKeyMaterial: wrapKeyMaterial(
            randomBytes(32),
            params.PublicKey ?? new Uint8Array(),
            "RSAES_OAEP_SHA_256",
          ),
          ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
          ImportType: importType,
        }),
      );
    await importOne();
    for (let i = 0; i < 25; i += 1) {
      await importOne("NEW_KEY_MATERIAL");
      await local.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    }
    await importOne("NEW_KEY_MATERIAL");
    const err = await rejection(local.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId })));
    expect(err.name).toBe("LimitExceededException");
    expect(err.message).toContain("The on-demand rotations limit has been reached for the given keyId.");
    const all = await local.kms.send(
      new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: "ALL_KEY_MATERIAL", Limit: 1000 }),
    );
    expect(all.Rotations).toHaveLength(27);
  });

  it("puts the whole key in PendingImport when any permanently associated material is deleted", async () => {
    const keyId = await externalKey();
    const first = await importKeyMaterial(local.kms, keyId, randomBytes(32));
    await importKeyMaterial(local.kms, keyId, randomBytes(32), { extra: NEW });
    await local.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    await local.kms.send(
      new DeleteImportedKeyMaterialCommand({ KeyId: keyId, KeyMaterialId: first.KeyMaterialId }),
    );
    const meta = (await local.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    expect(meta?.KeyState).toBe("PendingImport");
    const rotations = await local.kms.send(
      new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: "ALL_KEY_MATERIAL" }),
    );
    expect(rotations.Rotations?.find((r) => r.KeyMaterialId === first.KeyMaterialId)?.ImportState).toBe(
      "PENDING_IMPORT",
    );
  });

  it("reports the earliest ValidTo among the key's materials", async () => {
    const keyId = await externalKey();
    const now = (await local.emulator.admin.now()).getTime();
    await importKeyMaterial(local.kms, keyId, randomBytes(32), { validTo: new Date(now + 10 * 86_400_000) });
    await importKeyMaterial(local.kms, keyId, randomBytes(32), {
      validTo: new Date(now + 3 * 86_400_000),
      extra: NEW,
    });
    const meta = (await local.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    expect(meta?.ValidTo?.getTime()).toBe(now + 3 * 86_400_000);
  });
});

describe("multi-Region keys with imported material", () => {
  it("creates the replica in the other Region with the same key id, PendingImport", async () => {
    const keyId = await externalKey(local.kms, true);
    expect(keyId).toMatch(/^mrk-[0-9a-f]{32}$/);
    const out = await local.kms.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: "us-east-2" }));
    expect(out.ReplicaKeyMetadata).toMatchObject({
      KeyId: keyId,
      Arn: `arn:aws:kms:us-east-2:111122223333:key/${keyId}`,
      KeyState: "PendingImport",
      Origin: "EXTERNAL",
      MultiRegion: true,
    });
    const replica = (await replicaKms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    expect(replica?.MultiRegionConfiguration).toEqual({
      MultiRegionKeyType: "REPLICA",
      PrimaryKey: { Arn: `arn:aws:kms:eu-west-1:111122223333:key/${keyId}`, Region: "eu-west-1" },
      ReplicaKeys: [{ Arn: `arn:aws:kms:us-east-2:111122223333:key/${keyId}`, Region: "us-east-2" }],
    });
    const primary = (await local.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
    expect(primary?.MultiRegionConfiguration?.MultiRegionKeyType).toBe("PRIMARY");
    const dup = await rejection(
      local.kms.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: "us-east-2" })),
    );
    expect(dup.name).toBe("AlreadyExistsException");
    const fromReplica = await rejection(
      replicaKms.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: "ap-south-1" })),
    );
    expect(fromReplica.name).toBe("UnsupportedOperationException");
  });

  it("keeps each Region's keys apart: the replica Region does not see single-Region keys of another", async () => {
    const keyId = await externalKey();
    const err = await rejection(replicaKms.send(new DescribeKeyCommand({ KeyId: keyId })));
    expect(err.name).toBe("NotFoundException");
  });

  it("agrees on KeyMaterialId across Regions and decrypts each other's ciphertexts", async () => {
    const keyId = await externalKey(local.kms, true);
    await local.kms.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: "us-east-2" }));
    const material = randomBytes(32);
    const a = await importKeyMaterial(local.kms, keyId, material);
    const b = await importKeyMaterial(replicaKms, keyId, material);
    expect(b.KeyMaterialId).toBe(a.KeyMaterialId);
    const blob = await local.kms.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x-region") }),
    );
    const out = await replicaKms.send(
      new DecryptCommand({ CiphertextBlob: blob.CiphertextBlob, KeyId: keyId }),
    );
    expect(Buffer.from(out.Plaintext ?? []).toString()).toBe("x-region");
    // Different bytes are refused by the replica.
    const c = await rejection(importKeyMaterial(replicaKms, keyId, randomBytes(32)));
    expect(c.name).toBe("IncorrectKeyMaterialException");
  });

  it("rotates only in order: new material into the primary, the same bytes into every replica, rotate on the primary", async () => {
    const keyId = await externalKey(local.kms, true);
    await local.kms.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: "us-east-2" }));
    const initial = randomBytes(32);
    await importKeyMaterial(local.kms, keyId, initial);
    await importKeyMaterial(replicaKms, keyId, initial);
    const next = randomBytes(32);

    // Replica first: refused.
    const replicaNew = await rejection(importKeyMaterial(replicaKms, keyId, next, { extra: NEW }));
    expect(replicaNew.name).toBe("UnsupportedOperationException");
    const replicaExisting = await rejection(importKeyMaterial(replicaKms, keyId, next, { extra: EXISTING }));
    expect(replicaExisting.name).toBe("IncorrectKeyMaterialException");

    const onPrimary = await importKeyMaterial(local.kms, keyId, next, { extra: NEW });
    let primaryList = await local.kms.send(
      new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: "ALL_KEY_MATERIAL" }),
    );
    expect(primaryList.Rotations?.[1]?.KeyMaterialState).toBe("PENDING_MULTI_REGION_IMPORT_AND_ROTATION");

    // Rotating before every replica has the material: refused.
    const early = await rejection(local.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId })));
    expect(early.name).toBe("KMSInvalidStateException");

    const onReplica = await importKeyMaterial(replicaKms, keyId, next, {
      extra: { ...EXISTING, KeyMaterialId: onPrimary.KeyMaterialId },
    });
    expect(onReplica.KeyMaterialId).toBe(onPrimary.KeyMaterialId);
    primaryList = await local.kms.send(
      new ListKeyRotationsCommand({ KeyId: keyId, IncludeKeyMaterial: "ALL_KEY_MATERIAL" }),
    );
    expect(primaryList.Rotations?.[1]?.KeyMaterialState).toBe("PENDING_ROTATION");

    const onReplicaRotate = await rejection(replicaKms.send(new RotateKeyOnDemandCommand({ KeyId: keyId })));
    expect(onReplicaRotate.name).toBe("UnsupportedOperationException");

    await local.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    for (const client of [local.kms, replicaKms]) {
      const meta = (await client.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata;
      expect(meta?.CurrentKeyMaterialId).toBe(onPrimary.KeyMaterialId);
      expect(meta?.KeyState).toBe("Enabled");
    }
  });

  it("lets a replica created after a rotation require every permanently associated material", async () => {
    const keyId = await externalKey(local.kms, true);
    const first = randomBytes(32);
    const second = randomBytes(32);
    await importKeyMaterial(local.kms, keyId, first);
    await importKeyMaterial(local.kms, keyId, second, { extra: NEW });
    await local.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }));
    await local.kms.send(new ReplicateKeyCommand({ KeyId: keyId, ReplicaRegion: "us-east-2" }));
    await importKeyMaterial(replicaKms, keyId, second);
    expect((await replicaKms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe(
      "PendingImport",
    );
    await importKeyMaterial(replicaKms, keyId, first);
    expect((await replicaKms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe(
      "Enabled",
    );
  });
});
