/**
 * EnableKey / DisableKey: https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKey.html
 * Both are refused while the key is PendingImport or PendingDeletion (key state table:
 * https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html).
 */
import type { KmsContext, KmsOperation } from "../context.js";
import { keyState } from "../domain/model.js";
import { KmsErrorType, kmsError } from "../errors.js";
import type { RequestReader } from "../validation.js";
import { KEY_ID_CONSTRAINT, requireNotPendingDeletion } from "./shared.js";

function setEnabled(ctx: KmsContext, input: RequestReader, enabled: boolean): object {
  const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
  input.done();
  const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: false });
  requireNotPendingDeletion(key);
  if (keyState(key) === "PendingImport") {
    throw kmsError(KmsErrorType.KmsInvalidState, `${key.arn} is pending import.`);
  }
  key.enabled = enabled;
  return {};
}

export const enableKey: KmsOperation = {
  mutates: true,
  handle: (ctx, input) => setEnabled(ctx, input, true),
};
export const disableKey: KmsOperation = {
  mutates: true,
  handle: (ctx, input) => setEnabled(ctx, input, false),
};
