/**
 * TagResource, UntagResource, ListResourceTags:
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_TagResource.html
 */
import type { KmsOperation } from "../context.js";
import { KEY_ID_CONSTRAINT, paginate, requireNotPendingDeletion } from "./shared.js";
import { mergeTags, readTags } from "./tag-rules.js";

export const tagResource: KmsOperation = {
  mutates: true,
  handle(ctx, input) {
    const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
    const tags = readTags(input, "Tags");
    if (!tags) input.fail("Value null at 'tags' failed to satisfy constraint: Member must not be null");
    input.done();
    const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: false });
    requireNotPendingDeletion(key);
    key.tags = mergeTags(key.tags, tags ?? []);
    return {};
  },
};

export const untagResource: KmsOperation = {
  mutates: true,
  handle(ctx, input) {
    const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
    const tagKeys = input.list("TagKeys", { required: true }) ?? [];
    input.done();
    const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: false });
    requireNotPendingDeletion(key);
    const removed = new Set(tagKeys.map(String));
    key.tags = key.tags.filter((t) => !removed.has(t.TagKey));
    return {};
  },
};

export const listResourceTags: KmsOperation = {
  mutates: false,
  handle(ctx, input) {
    const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
    const limit = input.int("Limit", { min: 1, max: 50 });
    const marker = input.string("Marker", { min: 1, max: 1024 });
    input.done();
    const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: false });
    const { page, truncated, nextMarker } = paginate(key.tags, limit ?? 50, marker);
    return { Tags: page, Truncated: truncated, ...(nextMarker ? { NextMarker: nextMarker } : {}) };
  },
};
