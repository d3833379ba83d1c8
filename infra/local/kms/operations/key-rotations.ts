/**
 * RotateKeyOnDemand: https://docs.aws.amazon.com/kms/latest/APIReference/API_RotateKeyOnDemand.html
 * ListKeyRotations: https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeyRotations.html
 *
 * Symmetric encryption keys only. For imported material the rotation makes the PENDING_ROTATION
 * material CURRENT and the old CURRENT NON_CURRENT (still used to decrypt); a multi-Region key rotates
 * on its primary, in every Region at once, after every replica holds the new material. At most 25
 * on-demand rotations per key (LimitExceededException, message as AWS answers it).
 */
import type { KmsOperation } from "../context.js";
import { keyMaterialId } from "../domain/material.js";
import { type KeyRecord, keyState, type MaterialRecord } from "../domain/model.js";
import { KmsErrorType, kmsError } from "../errors.js";
import { generateMaterial } from "./create-key.js";
import { epochSeconds, KEY_ID_CONSTRAINT, paginate, requireEnabled } from "./shared.js";

const MAX_ON_DEMAND_ROTATIONS = 25;

function rotateTo(key: KeyRecord, id: string, at: number): void {
  for (const m of key.materials) if (m.state === "CURRENT") m.state = "NON_CURRENT";
  const next = key.materials.find((m) => m.id === id);
  if (next) {
    next.state = "CURRENT";
    next.rotationDate = at;
    next.rotationType = "ON_DEMAND";
  }
  key.onDemandRotations += 1;
}

export const rotateKeyOnDemand: KmsOperation = {
  mutates: true,
  async handle(ctx, input) {
    const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
    input.done();
    const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: false });
    requireEnabled(key);
    if (key.keySpec !== "SYMMETRIC_DEFAULT") {
      // AWS answers this one with an empty message.
      throw kmsError(KmsErrorType.UnsupportedOperation, "");
    }
    if (key.multiRegionKeyType === "REPLICA") {
      throw kmsError(KmsErrorType.UnsupportedOperation, `${key.arn} is not a multi-region primary key.`);
    }
    if (key.onDemandRotations >= MAX_ON_DEMAND_ROTATIONS) {
      throw kmsError(
        KmsErrorType.LimitExceeded,
        `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${key.arn}`,
      );
    }
    const now = ctx.clock.now();
    const related = ctx.store.related(key);
    if (key.origin === "AWS_KMS") {
      const material = await generateMaterial(key.keySpec);
      const id = keyMaterialId(key.keyId, material);
      for (const k of related) {
        k.materials.push({
          id,
          state: "PENDING_ROTATION",
          bytes: material.toString("base64"),
          importedAt: now,
        });
        rotateTo(k, id, now);
      }
      return { KeyId: key.arn };
    }
    const pending = key.materials.find((m) => m.state === "PENDING_ROTATION");
    if (!pending) {
      throw kmsError(
        KmsErrorType.KmsInvalidState,
        `No available key material pending rotation for the key: ${key.arn}.`,
      );
    }
    for (const k of related) rotateTo(k, pending.id, now);
    return { KeyId: key.arn };
  },
};

function rotationEntry(key: KeyRecord, m: MaterialRecord) {
  const external = key.origin === "EXTERNAL";
  return {
    KeyId: key.keyId,
    KeyMaterialId: m.id,
    ...(m.description !== undefined ? { KeyMaterialDescription: m.description } : {}),
    ...(external ? { ImportState: m.bytes !== undefined ? "IMPORTED" : "PENDING_IMPORT" } : {}),
    KeyMaterialState: m.state,
    ...(external && m.expirationModel ? { ExpirationModel: m.expirationModel } : {}),
    ...(m.validTo !== undefined ? { ValidTo: epochSeconds(m.validTo) } : {}),
    ...(m.rotationDate !== undefined ? { RotationDate: epochSeconds(m.rotationDate) } : {}),
    ...(m.rotationType !== undefined ? { RotationType: m.rotationType } : {}),
  };
}

export const listKeyRotations: KmsOperation = {
  mutates: false,
  handle(ctx, input) {
    const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
    const include =
      input.enumOf("IncludeKeyMaterial", ["ALL_KEY_MATERIAL", "ROTATIONS_ONLY"] as const) ?? "ROTATIONS_ONLY";
    const limit = input.int("Limit", { min: 1, max: 1000 });
    const marker = input.string("Marker", { min: 1, max: 1024 });
    input.done();
    const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: false });
    if (keyState(key) === "PendingDeletion") {
      throw kmsError(KmsErrorType.KmsInvalidState, `${key.arn} is pending deletion.`);
    }
    if (key.keySpec !== "SYMMETRIC_DEFAULT") {
      throw kmsError(
        KmsErrorType.UnsupportedOperation,
        `${key.arn} key spec ${key.keySpec} does not support key rotation.`,
      );
    }
    // ROTATIONS_ONLY lists materials made current by a rotation; ALL_KEY_MATERIAL adds the first
    // material and any material pending rotation.
    const materials =
      include === "ALL_KEY_MATERIAL"
        ? key.materials
        : key.materials.filter((m) => m.rotationDate !== undefined);
    const { page, truncated, nextMarker } = paginate(materials, limit, marker);
    return {
      Rotations: page.map((m) => rotationEntry(key, m)),
      Truncated: truncated,
      ...(nextMarker ? { NextMarker: nextMarker } : {}),
    };
  },
};
