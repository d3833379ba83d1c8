/** UpdateKeyDescription: https://docs.aws.amazon.com/kms/latest/APIReference/API_UpdateKeyDescription.html */
import type { KmsOperation } from "../context.js";
import { KEY_ID_CONSTRAINT, requireNotPendingDeletion } from "./shared.js";

export const updateKeyDescription: KmsOperation = {
  mutates: true,
  handle(ctx, input) {
    const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
    const description = input.string("Description", { required: true, max: 8192 });
    input.done();
    const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: false });
    requireNotPendingDeletion(key);
    key.description = description ?? "";
    return {};
  },
};
