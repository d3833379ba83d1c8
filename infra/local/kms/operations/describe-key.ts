/** DescribeKey: https://docs.aws.amazon.com/kms/latest/APIReference/API_DescribeKey.html */
import type { KmsOperation } from "../context.js";
import { KEY_ID_CONSTRAINT, keyMetadata } from "./shared.js";

export const describeKey: KmsOperation = {
  mutates: false,
  handle(ctx, input) {
    const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
    input.list("GrantTokens");
    input.done();
    const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: true });
    return { KeyMetadata: keyMetadata(ctx.store, key) };
  },
};
