/** CreateKey: https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html */
import { generateKeyPair, randomBytes, randomUUID } from "node:crypto";
import type { KmsContext, KmsOperation } from "../context.js";
import { KEY_SPECS, KEY_USAGES, type KeySpec, ORIGINS, SPEC_INFO } from "../domain/key-specs.js";
import { keyMaterialId } from "../domain/material.js";
import { type KeyRecord, keyArn } from "../domain/model.js";
import { KmsErrorType, kmsError } from "../errors.js";
import type { RequestReader } from "../validation.js";
import { defaultKeyPolicy, readPolicy } from "./key-policy.js";
import { keyMetadata } from "./shared.js";
import { mergeTags, readTags } from "./tag-rules.js";

/** Key material KMS generates for an AWS_KMS key of this spec. */
export async function generateMaterial(spec: KeySpec): Promise<Buffer> {
  const info = SPEC_INFO[spec];
  if (spec === "SYMMETRIC_DEFAULT") return randomBytes(32);
  if (info.hmac) return randomBytes(info.hmac.minBytes);
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, _pub: Buffer, priv: Buffer) => (err ? reject(err) : resolve(priv));
    const encoding = {
      publicKeyEncoding: { type: "spki", format: "der" },
      privateKeyEncoding: { type: "pkcs8", format: "der" },
    } as const;
    if (info.rsaBits) generateKeyPair("rsa", { modulusLength: info.rsaBits, ...encoding }, done);
    else generateKeyPair("ec", { namedCurve: info.curve?.name ?? "prime256v1", ...encoding }, done);
  });
}

export const createKey: KmsOperation = {
  mutates: true,
  async handle(ctx: KmsContext, input: RequestReader) {
    const description = input.string("Description", { max: 8192 });
    const keyUsage = input.enumOf("KeyUsage", KEY_USAGES);
    const keySpec = input.enumOf("KeySpec", KEY_SPECS);
    const cmkSpec = input.enumOf("CustomerMasterKeySpec", KEY_SPECS);
    const origin = input.enumOf("Origin", ORIGINS) ?? "AWS_KMS";
    const multiRegion = input.bool("MultiRegion") ?? false;
    const policy = readPolicy(input, { required: false });
    input.bool("BypassPolicyLockoutSafetyCheck");
    input.string("CustomKeyStoreId", { min: 1, max: 64 });
    input.string("XksKeyId", { min: 1, max: 128 });
    const tags = readTags(input, "Tags") ?? [];
    input.done();

    if (keySpec && cmkSpec) {
      throw kmsError(
        KmsErrorType.Validation,
        "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.",
      );
    }
    const spec: KeySpec = keySpec ?? cmkSpec ?? "SYMMETRIC_DEFAULT";
    if (!keyUsage && spec !== "SYMMETRIC_DEFAULT") {
      throw kmsError(
        KmsErrorType.Validation,
        "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
      );
    }
    const usage = keyUsage ?? "ENCRYPT_DECRYPT";
    if (!SPEC_INFO[spec].usages.includes(usage)) {
      throw kmsError(KmsErrorType.Validation, `KeyUsage ${usage} is not compatible with KeySpec ${spec}`);
    }
    if (origin === "AWS_CLOUDHSM" || origin === "EXTERNAL_KEY_STORE") {
      throw kmsError(
        KmsErrorType.UnsupportedOperation,
        `Origin ${origin} needs a custom key store, which the local KMS emulator does not implement.`,
      );
    }

    const keyId = multiRegion ? `mrk-${randomBytes(16).toString("hex")}` : randomUUID();
    const now = ctx.clock.now();
    const key: KeyRecord = {
      keyId,
      region: ctx.region,
      accountId: ctx.accountId,
      arn: keyArn(ctx.region, ctx.accountId, keyId),
      creationDate: now,
      description: description ?? "",
      keySpec: spec,
      keyUsage: usage,
      origin,
      multiRegion,
      multiRegionKeyType: multiRegion ? "PRIMARY" : undefined,
      enabled: true,
      materials: [],
      onDemandRotations: 0,
      tags: mergeTags([], tags),
      policy: policy ?? defaultKeyPolicy(ctx.accountId),
    };
    if (origin === "AWS_KMS") {
      const material = await generateMaterial(spec);
      key.materials.push({
        id: keyMaterialId(keyId, material),
        state: "CURRENT",
        bytes: material.toString("base64"),
        importedAt: now,
      });
    }
    ctx.store.putKey(key);
    return { KeyMetadata: keyMetadata(ctx.store, key) };
  },
};
