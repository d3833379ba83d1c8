/**
 * The emulator's fault interface seen through the SDK (injected errors, quotas, latency, stats) and
 * persistence across a restart with dataDir.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
  ListKeysCommand,
} from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKmsEmulator } from "../../../infra/local/kms/index.js";
import { importKeyMaterial, localKmsClient, rejection, useKmsEmulator } from "../../support/kms-testbed.js";
import { wrapKeyMaterial } from "../../support/kms-wrap.js";

describe("faults and quotas", () => {
  // maxAttempts 1: the SDK's own retries would hide the injected errors.
  const local = useKmsEmulator("eu-west-1", { maxAttempts: 1 });

  it("answers injected errors for the next N calls of one operation, with AWS's status codes", async () => {
    await local.emulator.admin.injectFault({
      operation: "ListKeys",
      error: "KMSInternalException",
      count: 1,
    });
    await local.emulator.admin.injectFault({
      operation: "DescribeKey",
      error: "DependencyTimeoutException",
      count: 2,
    });
    const internal = await rejection(local.kms.send(new ListKeysCommand({})));
    expect(internal.name).toBe("KMSInternalException");
    expect(internal.$metadata?.httpStatusCode).toBe(500);
    await local.kms.send(new ListKeysCommand({}));
    const key = await local.kms.send(new CreateKeyCommand({}));
    for (let i = 0; i < 2; i += 1) {
      const timeout = await rejection(
        local.kms.send(new DescribeKeyCommand({ KeyId: key.KeyMetadata?.KeyId })),
      );
      expect(timeout.name).toBe("DependencyTimeoutException");
      expect(timeout.$metadata?.httpStatusCode).toBe(503);
    }
    await local.kms.send(new DescribeKeyCommand({ KeyId: key.KeyMetadata?.KeyId }));
  });

  it("throttles with probability 1 until faults are cleared, and counts it in stats", async () => {
    await local.emulator.admin.resetStats();
    await local.emulator.admin.injectFault({
      operation: "ListKeys",
      region: "eu-west-1",
      error: "ThrottlingException",
      probability: 1,
    });
    expect((await rejection(local.kms.send(new ListKeysCommand({})))).name).toBe("ThrottlingException");
    const elsewhere = localKmsClient(local.emulator.url, "us-west-2", { maxAttempts: 1 });
    try {
      await elsewhere.send(new ListKeysCommand({}));
    } finally {
      elsewhere.destroy();
    }
    await local.emulator.admin.clearFaults();
    await local.kms.send(new ListKeysCommand({}));
    const stats = await local.emulator.admin.stats();
    expect(stats.calls["eu-west-1"]?.ListKeys).toBe(2);
    expect(stats.calls["us-west-2"]?.ListKeys).toBe(1);
    expect(stats.throttles["eu-west-1"]?.ListKeys).toBe(1);
  });

  it("applies AWS's default quota for GetParametersForImport (1 per second) when quotas are on", async () => {
    const key = await local.kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    // A one-minute window makes the test independent of machine speed; the limit is AWS's default of 1.
    await local.emulator.admin.setQuotas({ windowMs: 60_000 });
    try {
      const call = () =>
        local.kms.send(
          new GetParametersForImportCommand({
            KeyId: key.KeyMetadata?.KeyId,
            WrappingAlgorithm: "RSAES_OAEP_SHA_256",
            WrappingKeySpec: "RSA_2048",
          }),
        );
      await call();
      expect((await rejection(call())).name).toBe("ThrottlingException");
      // Quotas are per Region.
      const other = localKmsClient(local.emulator.url, "eu-north-1", { maxAttempts: 1 });
      try {
        await other.send(new ListKeysCommand({}));
      } finally {
        other.destroy();
      }
      await local.emulator.admin.setQuotas({ windowMs: 60_000, limits: { GetParametersForImport: 5 } });
      await call();
    } finally {
      await local.emulator.admin.setQuotas(false);
    }
    const stats = await local.emulator.admin.stats();
    expect(stats.throttles["eu-west-1"]?.GetParametersForImport).toBeGreaterThanOrEqual(1);
  });

  it("delays calls with injected latency", async () => {
    await local.emulator.admin.injectFault({ operation: "ListKeys", latencyMs: 200 });
    const started = Date.now();
    await local.kms.send(new ListKeysCommand({}));
    // A lower bound only: latency can make a call slower, never faster.
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    await local.emulator.admin.clearFaults();
  });

  it("resets keys, faults and the clock", async () => {
    await local.emulator.admin.advanceClock(3_600_000);
    await local.kms.send(new CreateKeyCommand({}));
    await local.emulator.admin.reset();
    expect((await local.kms.send(new ListKeysCommand({}))).Keys).toEqual([]);
    expect((await local.emulator.admin.clock()).offsetMs).toBe(0);
  });
});

describe("persistence with dataDir", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "tether-kms-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps keys, aliases, material, the clock and valid import parameters across a restart", async () => {
    const first = await startKmsEmulator({ port: 0, dataDir: dir });
    let kms = localKmsClient(first.url, "eu-west-1");
    const material = randomBytes(32);
    const key = await kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    const keyId = key.KeyMetadata?.KeyId ?? "";
    await importKeyMaterial(kms, keyId, material);
    await kms.send(new CreateAliasCommand({ AliasName: "alias/persisted", TargetKeyId: keyId }));
    const blob = await kms.send(
      new EncryptCommand({ KeyId: "alias/persisted", Plaintext: Buffer.from("kept") }),
    );
    const params = await kms.send(
      new GetParametersForImportCommand({
        KeyId: keyId,
        WrappingAlgorithm: "RSAES_OAEP_SHA_1",
        WrappingKeySpec: "RSA_2048",
      }),
    );
    await first.admin.advanceClock(60_000);
    const offset = (await first.admin.clock()).offsetMs;
    kms.destroy();
    await first.close();

    const second = await startKmsEmulator({ port: 0, dataDir: dir });
    kms = localKmsClient(second.url, "eu-west-1");
    try {
      expect((await second.admin.clock()).offsetMs).toBe(offset);
      const out = await kms.send(new DecryptCommand({ CiphertextBlob: blob.CiphertextBlob }));
      expect(Buffer.from(out.Plaintext ?? []).toString()).toBe("kept");
      // Parameters issued before the restart still import (the same bytes).
      await kms.send(
        new ImportKeyMaterialCommand({
          KeyId: keyId,
          ImportToken: params.ImportToken,
          EncryptedKeyMaterial: wrapKeyMaterial(
            material,
            params.PublicKey ?? new Uint8Array(),
            "RSAES_OAEP_SHA_1",
          ),
          ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
        }),
      );
      expect(
        (await kms.send(new DescribeKeyCommand({ KeyId: "alias/persisted" }))).KeyMetadata?.KeyState,
      ).toBe("Enabled");
    } finally {
      kms.destroy();
      await second.close();
    }
  });
});
