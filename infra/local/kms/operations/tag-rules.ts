/**
 * Tag validation as KMS applies it (TagException for reserved, duplicate and too many tags;
 * ValidationException for lengths).
 */
import { KmsErrorType, kmsError } from "../errors.js";
import type { RequestReader } from "../validation.js";

export interface Tag {
  TagKey: string;
  TagValue: string;
}

const MAX_TAGS = 50;

/** Reads and checks a Tags list. @throws KmsApiError SerializationException for malformed entries. */
export function readTags(input: RequestReader, field: string): Tag[] | undefined {
  const list = input.list(field);
  if (!list) return undefined;
  return list.map((entry, i) => {
    const e = entry as Record<string, unknown>;
    if (typeof e?.TagKey !== "string" || typeof e?.TagValue !== "string") {
      throw kmsError(KmsErrorType.SerializationException, `Malformed tag at ${field}.${i + 1}`);
    }
    if (e.TagKey.length < 1 || e.TagKey.length > 128) {
      input.fail(
        `Value '${e.TagKey}' at 'tags.${i + 1}.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128`,
      );
    }
    if (e.TagValue.length > 256) {
      input.fail(
        `Value '${e.TagValue}' at 'tags.${i + 1}.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256`,
      );
    }
    return { TagKey: e.TagKey, TagValue: e.TagValue };
  });
}

/**
 * Merges `added` into `existing` (same key: value replaced).
 * @throws KmsApiError TagException for reserved prefixes, duplicates in one request, or more than 50 tags.
 */
export function mergeTags(existing: Tag[], added: Tag[]): Tag[] {
  const seen = new Set<string>();
  for (const tag of added) {
    if (tag.TagKey.startsWith("aws:"))
      throw kmsError(KmsErrorType.Tag, "Tags beginning with aws: are reserved");
    if (seen.has(tag.TagKey)) throw kmsError(KmsErrorType.Tag, "Duplicate tag keys");
    seen.add(tag.TagKey);
  }
  const merged = existing.filter((t) => !seen.has(t.TagKey)).concat(added);
  if (merged.length > MAX_TAGS) throw kmsError(KmsErrorType.Tag, "Too many tags");
  return merged;
}
