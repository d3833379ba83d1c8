import { ValidationError } from "../domain/errors.js";
import { MAX_MATERIAL_REF_LENGTH, parseMaterialRef as parseDomainMaterialRef } from "../domain/ids.js";
import { InvalidMaterialRefError } from "./errors.js";

/** Longest material reference accepted, in characters: the domain's limit. */
export { MAX_MATERIAL_REF_LENGTH };

/** How much of an over-long reference an error repeats. */
const SHOWN_PREFIX = 64;

/**
 * Checks a material reference by the domain's single rule ({@link parseDomainMaterialRef}): `/`-separated
 * segments that each start with a letter or digit and hold only letters, digits, `.`, `_`, `-`; no `..`
 * anywhere; at most {@link MAX_MATERIAL_REF_LENGTH} characters. Deliberately narrow: a reference must be
 * safe as a path, a secret name and a PKCS#11 label alike, so adapters need not each invent their own
 * escaping.
 * @returns the reference's segments
 * @throws InvalidMaterialRefError with the domain's reason, its ValidationError as the cause
 */
export function parseMaterialRef(materialRef: unknown): string[] {
  try {
    return parseDomainMaterialRef(materialRef).split("/");
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    const shown = typeof materialRef === "string" ? materialRef.slice(0, SHOWN_PREFIX) : String(materialRef);
    const reason = error.message.slice(`${error.field}: `.length);
    throw new InvalidMaterialRefError(shown, reason, { cause: error });
  }
}
