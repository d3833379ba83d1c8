/**
 * DeleteImportedKeyMaterial: https://docs.aws.amazon.com/kms/latest/APIReference/API_DeleteImportedKeyMaterial.html
 * Without KeyMaterialId it deletes the current material. Deleting permanently associated material
 * puts the key in PendingImport (PendingDeletion stays PendingDeletion); the material's identity is
 * kept, so only the same bytes can be imported again. Material pending rotation is not permanently
 * associated and is dropped entirely; on a multi-Region primary that drops it from the replicas too.
 */
import type { KmsOperation } from "../context.js";
import { currentMaterial } from "../domain/model.js";
import { KmsErrorType, kmsError } from "../errors.js";
import { KEY_ID_CONSTRAINT, requireExternal } from "./shared.js";

export const deleteImportedKeyMaterial: KmsOperation = {
  mutates: true,
  handle(ctx, input) {
    const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
    const requestedId = input.string("KeyMaterialId", { min: 64, max: 64, pattern: /^[a-f0-9]+$/ });
    input.done();
    const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: false });
    requireExternal(key);
    const symmetric = key.keySpec === "SYMMETRIC_DEFAULT";
    if (!symmetric && requestedId !== undefined) {
      throw kmsError(
        KmsErrorType.UnsupportedOperation,
        `KeyMaterialId is supported only for symmetric encryption KMS keys; ${key.arn} has key spec ${key.keySpec}.`,
      );
    }
    const target =
      requestedId !== undefined
        ? key.materials.find((m) => m.id === requestedId)
        : (currentMaterial(key) ?? key.materials[0]);
    if (requestedId !== undefined && !target) {
      throw kmsError(KmsErrorType.NotFound, `Key material ${requestedId} is not associated with ${key.arn}.`);
    }
    if (target) {
      if (target.state === "CURRENT" || target.state === "NON_CURRENT") {
        target.bytes = undefined;
        target.expirationModel = undefined;
        target.validTo = undefined;
      } else {
        const related = key.multiRegionKeyType === "PRIMARY" ? ctx.store.related(key) : [key];
        for (const k of related) k.materials = k.materials.filter((m) => m.id !== target.id);
      }
    }
    return { KeyId: key.arn, ...(symmetric && target ? { KeyMaterialId: target.id } : {}) };
  },
};
