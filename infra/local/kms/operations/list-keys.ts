/** ListKeys: https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeys.html */
import type { KmsOperation } from "../context.js";
import { paginate } from "./shared.js";

export const listKeys: KmsOperation = {
  mutates: false,
  handle(ctx, input) {
    const limit = input.int("Limit", { min: 1, max: 1000 });
    const marker = input.string("Marker", { min: 1, max: 1024, pattern: /^[\u0020-\u00FF]*$/ });
    input.done();
    const { page, truncated, nextMarker } = paginate(ctx.store.keysIn(ctx.region), limit, marker);
    return {
      Keys: page.map((k) => ({ KeyId: k.keyId, KeyArn: k.arn })),
      Truncated: truncated,
      ...(nextMarker ? { NextMarker: nextMarker } : {}),
    };
  },
};
