/**
 * ReplicateKey: https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html
 * The replica shares the key id, spec, usage and origin. KMS never copies imported material
 * (https://docs.aws.amazon.com/kms/latest/developerguide/multi-region-keys-import.html): an EXTERNAL
 * replica starts PendingImport and knows which materials (ids) it must be given; an AWS_KMS replica
 * shares the primary's material.
 */
import type { KmsOperation } from "../context.js";
import { type KeyRecord, keyArn } from "../domain/model.js";
import { KmsErrorType, kmsError } from "../errors.js";
import { defaultKeyPolicy, policyOf, readPolicy } from "./key-policy.js";
import { KEY_ID_CONSTRAINT, keyMetadata, requireNotPendingDeletion } from "./shared.js";
import { mergeTags, readTags } from "./tag-rules.js";

export const replicateKey: KmsOperation = {
  mutates: true,
  handle(ctx, input) {
    const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
    const replicaRegion = input.string("ReplicaRegion", {
      required: true,
      min: 1,
      max: 32,
      pattern: /^([a-z]+-){2,3}\d+$/,
    });
    const description = input.string("Description", { max: 8192 });
    // Without a policy the replica gets the default key policy, not the primary's:
    // https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html#KMS-ReplicateKey-request-Policy
    const policy = readPolicy(input, { required: false });
    input.bool("BypassPolicyLockoutSafetyCheck");
    const tags = readTags(input, "Tags") ?? [];
    input.done();

    const primary = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: false });
    if (!primary.multiRegion) {
      throw kmsError(KmsErrorType.UnsupportedOperation, `${primary.arn} is not a multi-region key.`);
    }
    if (primary.multiRegionKeyType !== "PRIMARY") {
      throw kmsError(KmsErrorType.UnsupportedOperation, `${primary.arn} is not a multi-region primary key.`);
    }
    requireNotPendingDeletion(primary);
    const region = replicaRegion ?? "";
    if (ctx.store.findKey(region, primary.keyId)) {
      throw kmsError(
        KmsErrorType.AlreadyExists,
        `Key ${keyArn(region, ctx.accountId, primary.keyId)} already exists`,
      );
    }
    const external = primary.origin === "EXTERNAL";
    const replica: KeyRecord = {
      keyId: primary.keyId,
      region,
      accountId: ctx.accountId,
      arn: keyArn(region, ctx.accountId, primary.keyId),
      creationDate: ctx.clock.now(),
      description: description ?? primary.description,
      keySpec: primary.keySpec,
      keyUsage: primary.keyUsage,
      origin: primary.origin,
      multiRegion: true,
      multiRegionKeyType: "REPLICA",
      enabled: true,
      // The replica must receive every material permanently associated with the primary.
      materials: primary.materials
        .filter((m) => m.state === "CURRENT" || m.state === "NON_CURRENT")
        .map((m) => ({
          id: m.id,
          state: m.state,
          bytes: external ? undefined : m.bytes,
          rotationDate: m.rotationDate,
          rotationType: m.rotationType,
          description: m.description,
        })),
      onDemandRotations: primary.onDemandRotations,
      tags: mergeTags([], tags),
      policy: policy ?? defaultKeyPolicy(ctx.accountId),
    };
    ctx.store.putKey(replica);
    return {
      ReplicaKeyMetadata: keyMetadata(ctx.store, replica, { currentMaterialId: false }),
      ReplicaPolicy: policyOf(replica),
      ReplicaTags: replica.tags,
    };
  },
};
