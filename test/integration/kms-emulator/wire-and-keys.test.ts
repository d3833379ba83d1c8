/**
 * Conformance of the wire protocol (targets, errors, request ids, Regions from the SigV4 scope) and
 * of key management around the import path (CreateKey rules, DescribeKey forms, ListKeys paging,
 * aliases, tags, enable/disable, deletion).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import {
  CancelKeyDeletionCommand,
  CreateAliasCommand,
  CreateKeyCommand,
  DeleteAliasCommand,
  DescribeKeyCommand,
  DisableKeyCommand,
  EnableKeyCommand,
  ListAliasesCommand,
  ListKeysCommand,
  ListResourceTagsCommand,
  ScheduleKeyDeletionCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateAliasCommand,
} from "@aws-sdk/client-kms";
import { describe, expect, it } from "vitest";
import { importKeyMaterial, localKmsClient, rejection, useKmsEmulator } from "../../support/kms-testbed.js";

const local = useKmsEmulator("eu-south-1", { emulator: { accountId: "210987654321" } });

function rawCall(target: string, body: unknown, signed = true) {
  return fetch(local.emulator.url, {
    method: "POST",
    headers: {
      "content-type": "application/x-amz-json-1.1",
      "x-amz-target": target,
      ...(signed
        ? {
            authorization:
              "AWS4-HMAC-SHA256 Credential=AKID/20261128/eu-south-1/kms/aws4_request, SignedHeaders=host, Signature=00",
          }
        : {}),
    },
    body: JSON.stringify(body),
  });
}

describe("wire protocol", () => {
  it("answers an unknown target with UnknownOperationException and a request id", async () => {
    const res = await rawCall("TrentService.MakeCoffee", {});
    expect(res.status).toBe(400);
    expect(res.headers.get("x-amzn-requestid")).toMatch(/^[0-9a-f-]{36}$/);
    expect((await res.json()) as unknown).toMatchObject({ __type: "UnknownOperationException" });
  });

  it("refuses unsigned requests like AWS does", async () => {
    const res = await rawCall("TrentService.ListKeys", {}, false);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { __type: string }).__type).toBe("MissingAuthenticationTokenException");
  });

  it("puts x-amzn-RequestId on successful answers and returns epoch-second timestamps", async () => {
    const res = await rawCall("TrentService.CreateKey", {});
    expect(res.status).toBe(200);
    expect(res.headers.get("x-amzn-requestid")).toBeTruthy();
    expect(res.headers.get("content-type")).toBe("application/x-amz-json-1.1");
    const body = (await res.json()) as { KeyMetadata: { CreationDate: unknown; Arn: string } };
    expect(typeof body.KeyMetadata.CreationDate).toBe("number");
    expect(body.KeyMetadata.Arn).toMatch(/^arn:aws:kms:eu-south-1:210987654321:key\//);
  });

  it("reports missing required members with AWS's validation message", async () => {
    const err = await rejection(local.kms.send(new DescribeKeyCommand({} as never)));
    expect(err.name).toBe("ValidationException");
    expect(err.message).toBe(
      "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null",
    );
  });

  it("answers NotFoundException with AWS's messages", async () => {
    expect((await rejection(local.kms.send(new DescribeKeyCommand({ KeyId: "fake-key-id" })))).message).toBe(
      "Invalid keyId 'fake-key-id'",
    );
    const missing = "11111111-2222-3333-4444-555555555555";
    expect((await rejection(local.kms.send(new DescribeKeyCommand({ KeyId: missing })))).message).toBe(
      `Key 'arn:aws:kms:eu-south-1:210987654321:key/${missing}' does not exist`,
    );
    const other = await rejection(
      local.kms.send(new DescribeKeyCommand({ KeyId: `arn:aws:kms:us-east-1:210987654321:key/${missing}` })),
    );
    expect(other).toMatchObject({ name: "NotFoundException", message: "Invalid arn us-east-1" });
  });

  it("works with the AWS CLI unchanged (endpoint override)", async (ctx) => {
    const run = promisify(execFile);
    const hasCli = await run("aws", ["--version"]).then(
      () => true,
      () => false,
    );
    if (!hasCli) {
      console.warn("skipping AWS CLI check: no `aws` on PATH");
      ctx.skip();
    }
    const { stdout } = await run(
      "aws",
      ["--endpoint-url", local.emulator.url, "kms", "create-key", "--origin", "EXTERNAL"],
      {
        env: {
          ...process.env,
          AWS_ACCESS_KEY_ID: "a",
          AWS_SECRET_ACCESS_KEY: "b",
          AWS_DEFAULT_REGION: "eu-south-1",
        },
      },
    );
    expect(JSON.parse(stdout).KeyMetadata.KeyState).toBe("PendingImport");
  });
});

describe("CreateKey", () => {
  it("requires KeyUsage for non-symmetric specs and refuses incompatible combinations", async () => {
    const noUsage = await rejection(local.kms.send(new CreateKeyCommand({ KeySpec: "HMAC_256" })));
    expect(noUsage.message).toBe(
      "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
    );
    const combo = await rejection(
      local.kms.send(new CreateKeyCommand({ KeySpec: "HMAC_256", KeyUsage: "ENCRYPT_DECRYPT" })),
    );
    expect(combo).toMatchObject({
      name: "ValidationException",
      message: "KeyUsage ENCRYPT_DECRYPT is not compatible with KeySpec HMAC_256",
    });
    const badSpec = await rejection(
      local.kms.send(new CreateKeyCommand({ KeySpec: "HMAC_random" as never })),
    );
    expect(badSpec.message).toMatch(
      /^1 validation error detected: Value 'HMAC_random' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: \[/,
    );
  });

  it("returns the metadata AWS returns for each spec", async () => {
    const rsa = await local.kms.send(
      new CreateKeyCommand({ KeySpec: "RSA_2048", KeyUsage: "ENCRYPT_DECRYPT", Origin: "EXTERNAL" }),
    );
    expect(rsa.KeyMetadata?.EncryptionAlgorithms).toEqual(["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"]);
    const ec = await local.kms.send(
      new CreateKeyCommand({ KeySpec: "ECC_NIST_P521", KeyUsage: "SIGN_VERIFY", Origin: "EXTERNAL" }),
    );
    expect(ec.KeyMetadata?.SigningAlgorithms).toEqual(["ECDSA_SHA_512"]);
    const mac = await local.kms.send(
      new CreateKeyCommand({ KeySpec: "HMAC_224", KeyUsage: "GENERATE_VERIFY_MAC", Origin: "EXTERNAL" }),
    );
    expect(mac.KeyMetadata?.MacAlgorithms).toEqual(["HMAC_SHA_224"]);
    const sym = await local.kms.send(
      new CreateKeyCommand({ Description: "d", Tags: [{ TagKey: "team", TagValue: "sec" }] }),
    );
    expect(sym.KeyMetadata).toMatchObject({
      KeyState: "Enabled",
      Origin: "AWS_KMS",
      KeyManager: "CUSTOMER",
      Description: "d",
      MultiRegion: false,
    });
    expect(sym.KeyMetadata?.CurrentKeyMaterialId).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("key management", () => {
  it("describes a key by id, ARN, alias name and alias ARN", async () => {
    const key = await local.kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    const keyId = key.KeyMetadata?.KeyId ?? "";
    await local.kms.send(new CreateAliasCommand({ AliasName: "alias/tether-a", TargetKeyId: keyId }));
    for (const id of [
      keyId,
      key.KeyMetadata?.Arn,
      "alias/tether-a",
      "arn:aws:kms:eu-south-1:210987654321:alias/tether-a",
    ]) {
      expect((await local.kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata?.KeyId).toBe(keyId);
    }
  });

  it("manages aliases with AWS's errors", async () => {
    const a = await local.kms.send(new CreateKeyCommand({}));
    const b = await local.kms.send(new CreateKeyCommand({}));
    await local.kms.send(
      new CreateAliasCommand({ AliasName: "alias/move-me", TargetKeyId: a.KeyMetadata?.KeyId }),
    );
    const dup = await rejection(
      local.kms.send(
        new CreateAliasCommand({ AliasName: "alias/move-me", TargetKeyId: b.KeyMetadata?.KeyId }),
      ),
    );
    expect(dup).toMatchObject({
      name: "AlreadyExistsException",
      message: "An alias with the name arn:aws:kms:eu-south-1:210987654321:alias/move-me already exists",
    });
    const prefix = await rejection(
      local.kms.send(new CreateAliasCommand({ AliasName: "nope", TargetKeyId: a.KeyMetadata?.KeyId })),
    );
    expect(prefix.name).toBe("ValidationException");
    await local.kms.send(
      new UpdateAliasCommand({ AliasName: "alias/move-me", TargetKeyId: b.KeyMetadata?.KeyId }),
    );
    const listed = await local.kms.send(new ListAliasesCommand({ KeyId: b.KeyMetadata?.KeyId }));
    expect(listed.Aliases?.map((x) => x.AliasName)).toEqual(["alias/move-me"]);
    await local.kms.send(new DeleteAliasCommand({ AliasName: "alias/move-me" }));
    expect((await rejection(local.kms.send(new DescribeKeyCommand({ KeyId: "alias/move-me" })))).name).toBe(
      "NotFoundException",
    );
  });

  it("tags, untags and lists tags, refusing reserved and duplicate keys", async () => {
    const key = await local.kms.send(new CreateKeyCommand({}));
    const keyId = key.KeyMetadata?.KeyId;
    await local.kms.send(
      new TagResourceCommand({
        KeyId: keyId,
        Tags: [
          { TagKey: "a", TagValue: "1" },
          { TagKey: "b", TagValue: "2" },
        ],
      }),
    );
    await local.kms.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: "a", TagValue: "3" }] }));
    await local.kms.send(new UntagResourceCommand({ KeyId: keyId, TagKeys: ["b"] }));
    expect((await local.kms.send(new ListResourceTagsCommand({ KeyId: keyId }))).Tags).toEqual([
      { TagKey: "a", TagValue: "3" },
    ]);
    const reserved = await rejection(
      local.kms.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: "aws:x", TagValue: "1" }] })),
    );
    expect(reserved).toMatchObject({
      name: "TagException",
      message: "Tags beginning with aws: are reserved",
    });
    const dup = await rejection(
      local.kms.send(
        new TagResourceCommand({
          KeyId: keyId,
          Tags: [
            { TagKey: "d", TagValue: "1" },
            { TagKey: "d", TagValue: "2" },
          ],
        }),
      ),
    );
    expect(dup).toMatchObject({ name: "TagException", message: "Duplicate tag keys" });
  });

  it("pages ListKeys with Limit and Marker, per Region", async () => {
    const paged = localKmsClient(local.emulator.url, "sa-east-1");
    try {
      const created: string[] = [];
      for (let i = 0; i < 5; i += 1)
        created.push((await paged.send(new CreateKeyCommand({}))).KeyMetadata?.KeyId ?? "");
      const seen: string[] = [];
      let marker: string | undefined;
      let pages = 0;
      do {
        const page = await paged.send(new ListKeysCommand({ Limit: 2, Marker: marker }));
        seen.push(...(page.Keys ?? []).map((k) => k.KeyId ?? ""));
        expect(page.Truncated).toBe(page.NextMarker !== undefined);
        marker = page.NextMarker;
        pages += 1;
      } while (marker);
      expect(pages).toBe(3);
      expect(seen.sort()).toEqual([...created].sort());
      const bad = await rejection(paged.send(new ListKeysCommand({ Marker: "garbage" })));
      expect(bad.name).toBe("InvalidMarkerException");
    } finally {
      paged.destroy();
    }
  });

  it("refuses EnableKey and DisableKey while PendingImport", async () => {
    const key = await local.kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    for (const command of [
      new EnableKeyCommand({ KeyId: key.KeyMetadata?.KeyId }),
      new DisableKeyCommand({ KeyId: key.KeyMetadata?.KeyId }),
    ]) {
      const err = await rejection(local.kms.send(command as never));
      expect(err).toMatchObject({
        name: "KMSInvalidStateException",
        message: `${key.KeyMetadata?.Arn} is pending import.`,
      });
    }
  });

  it("schedules deletion within 7–30 days and a cancelled key returns Disabled, or PendingImport without material", async () => {
    const key = await local.kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    const keyId = key.KeyMetadata?.KeyId ?? "";
    const tooShort = await rejection(
      local.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 6 })),
    );
    expect(tooShort.message).toBe(
      "1 validation error detected: Value '6' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value greater than or equal to 7",
    );
    const scheduled = await local.kms.send(
      new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }),
    );
    expect(scheduled).toMatchObject({ KeyState: "PendingDeletion", PendingWindowInDays: 7 });
    await local.kms.send(new CancelKeyDeletionCommand({ KeyId: keyId }));
    expect((await local.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe(
      "PendingImport",
    );

    await importKeyMaterial(local.kms, keyId, Buffer.alloc(32, 7));
    await local.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 30 }));
    await local.kms.send(new CancelKeyDeletionCommand({ KeyId: keyId }));
    expect((await local.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState).toBe(
      "Disabled",
    );
    const notPending = await rejection(local.kms.send(new CancelKeyDeletionCommand({ KeyId: keyId })));
    expect(notPending.name).toBe("KMSInvalidStateException");
  });

  it("deletes the key once its deletion date passes on the emulator's clock", async () => {
    const key = await local.kms.send(new CreateKeyCommand({}));
    await local.kms.send(
      new ScheduleKeyDeletionCommand({ KeyId: key.KeyMetadata?.KeyId, PendingWindowInDays: 7 }),
    );
    await local.emulator.admin.advanceClock(8 * 24 * 60 * 60 * 1000);
    const err = await rejection(local.kms.send(new DescribeKeyCommand({ KeyId: key.KeyMetadata?.KeyId })));
    expect(err.name).toBe("NotFoundException");
  });
});
