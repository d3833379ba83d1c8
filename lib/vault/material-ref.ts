import { InvalidMaterialRefError } from "./errors.js";

/** Longest material reference accepted, in characters. */
export const MAX_MATERIAL_REF_LENGTH = 512;

/**
 * One segment: starts with a letter or digit (so never `.`, `..` or a hidden name), then letters, digits,
 * `.`, `_`, `-`. Deliberately narrow: a reference must be safe as a path, a secret name and a PKCS#11 label
 * alike, so adapters need not each invent their own escaping.
 */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Checks a material reference: `/`-separated segments of `[A-Za-z0-9][A-Za-z0-9._-]*`, no empty segment,
 * no leading or trailing `/`, at most {@link MAX_MATERIAL_REF_LENGTH} characters.
 * @returns the reference's segments
 * @throws InvalidMaterialRefError naming what is wrong
 */
export function parseMaterialRef(materialRef: unknown): string[] {
  if (typeof materialRef !== "string") {
    throw new InvalidMaterialRefError(String(materialRef), "it must be a string");
  }
  if (materialRef.length === 0) {
    throw new InvalidMaterialRefError(materialRef, "it is empty");
  }
  if (materialRef.length > MAX_MATERIAL_REF_LENGTH) {
    throw new InvalidMaterialRefError(
      materialRef.slice(0, 64),
      `it is longer than ${MAX_MATERIAL_REF_LENGTH} characters`,
    );
  }
  const segments = materialRef.split("/");
  for (const segment of segments) {
    if (segment.length === 0) {
      throw new InvalidMaterialRefError(
        materialRef,
        "it has an empty segment (leading, trailing or double '/')",
      );
    }
    if (!SEGMENT.test(segment)) {
      throw new InvalidMaterialRefError(
        materialRef,
        `segment ${JSON.stringify(segment)} must start with a letter or digit and contain only letters, digits, '.', '_' or '-' (at most 128 characters)`,
      );
    }
  }
  return segments;
}
