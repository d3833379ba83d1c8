/**
 * ScheduleKeyDeletion / CancelKeyDeletion:
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html
 * A cancelled key comes back Disabled (or PendingImport when its imported material is missing).
 */
import type { KmsOperation } from "../context.js";
import { keyState } from "../domain/model.js";
import { KmsErrorType, kmsError } from "../errors.js";
import { epochSeconds, KEY_ID_CONSTRAINT, requireNotPendingDeletion } from "./shared.js";

const DAY_MS = 24 * 60 * 60 * 1000;

export const scheduleKeyDeletion: KmsOperation = {
  mutates: true,
  handle(ctx, input) {
    const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
    const days = input.int("PendingWindowInDays", { min: 7, max: 30 }) ?? 30;
    input.done();
    const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: false });
    requireNotPendingDeletion(key);
    key.deletionDate = ctx.clock.now() + days * DAY_MS;
    key.pendingWindowInDays = days;
    return {
      KeyId: key.arn,
      DeletionDate: epochSeconds(key.deletionDate),
      KeyState: keyState(key),
      PendingWindowInDays: days,
    };
  },
};

export const cancelKeyDeletion: KmsOperation = {
  mutates: true,
  handle(ctx, input) {
    const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
    input.done();
    const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: false });
    if (key.deletionDate === undefined) {
      throw kmsError(KmsErrorType.KmsInvalidState, `${key.arn} is not pending deletion.`);
    }
    key.deletionDate = undefined;
    key.pendingWindowInDays = undefined;
    key.enabled = false;
    return { KeyId: key.arn };
  },
};
