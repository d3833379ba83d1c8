import { ValidationError } from "./errors.js";

/**
 * Identifiers and opaque references Tether handles, as branded strings: a value of one of these types has
 * passed its parser, so a material reference cannot be passed where a check value is expected, and no
 * unchecked string reaches a vault adapter or a DynamoDB key.
 */

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** A managed key's Tether id: `tk_` + a ULID (26 Crockford base32 characters, time-ordered). */
export type TetherKeyId = Brand<string, "TetherKeyId">;
/** Where the vault keeps the material (never the material itself). */
export type MaterialRef = Brand<string, "MaterialRef">;
/** A fingerprint of the material (format chosen by the vault, e.g. `kcv-aes:1A2B3C`). Not secret. */
export type CheckValue = Brand<string, "CheckValue">;
/** An AWS Region code such as `eu-west-1`. */
export type AwsRegion = Brand<string, "AwsRegion">;

const TETHER_KEY_ID_PREFIX = "tk_";
const CROCKFORD_BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/** ULID: 10 characters of milliseconds (48 bits, so the first is at most 7), then 16 of randomness. */
const TETHER_KEY_ID = /^tk_[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
const ULID_RANDOM_BYTES = 10;
const ULID_MAX_TIME = 2 ** 48 - 1;

/**
 * One to 256 characters in `/`-separated segments that each start with a letter or digit, so no segment
 * is `.`, `..` or hidden, the reference is never absolute, and it is safe as a file path, a secret name and
 * a PKCS#11 label alike. `..` is refused anywhere, even inside a segment, so no adapter has to reason about it.
 */
const MATERIAL_REF = /^[A-Za-z0-9][A-Za-z0-9._-]*(?:\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;
export const MAX_MATERIAL_REF_LENGTH = 256;
/** Opaque but bounded: vault check values are `scheme:hex` today; this leaves room without admitting junk. */
const CHECK_VALUE = /^[A-Za-z0-9][A-Za-z0-9+/=:._-]{0,255}$/;
/** Commercial, GovCloud, China and ISO partitions: `us-east-1`, `us-gov-west-1`, `cn-north-1`, `us-isob-east-1`. */
const AWS_REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;

/** Whether a string is a well-formed Tether key id. */
export function isTetherKeyId(value: unknown): value is TetherKeyId {
  return typeof value === "string" && TETHER_KEY_ID.test(value);
}

/**
 * Checks a Tether key id.
 * @throws ValidationError (field as given) when it is not `tk_` + 26 upper-case Crockford base32 characters
 */
export function parseTetherKeyId(value: unknown, field = "keyId"): TetherKeyId {
  if (!isTetherKeyId(value)) {
    throw new ValidationError(
      field,
      "must be a Tether key id: tk_ followed by 26 Crockford base32 characters",
    );
  }
  return value;
}

/**
 * A new Tether key id. Randomness is a parameter so this stays pure: pass 10 bytes from a CSPRNG
 * (`crypto.randomBytes(10)`). Ids made later sort after ids made earlier (to the millisecond).
 * @throws ValidationError when `now` is not a valid time after 1970 or fewer than 10 random bytes are given
 */
export function newTetherKeyId(now: Date, randomBytes: Uint8Array): TetherKeyId {
  const time = now.getTime();
  if (!Number.isInteger(time) || time < 0 || time > ULID_MAX_TIME) {
    throw new ValidationError("now", "must be a valid time between 1970 and 10889");
  }
  if (randomBytes.length < ULID_RANDOM_BYTES) {
    throw new ValidationError("randomBytes", `needs at least ${ULID_RANDOM_BYTES} bytes`);
  }
  let timePart = "";
  let rest = time;
  for (let i = 0; i < 10; i++) {
    timePart = CROCKFORD_BASE32.charAt(rest % 32) + timePart;
    rest = Math.floor(rest / 32);
  }
  // 80 bits as 16 five-bit groups, most significant first.
  let randomPart = "";
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < ULID_RANDOM_BYTES; i++) {
    buffer = (buffer << 8) | (randomBytes[i] as number);
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      randomPart += CROCKFORD_BASE32.charAt((buffer >> bits) & 31);
    }
    buffer &= (1 << bits) - 1;
  }
  return `${TETHER_KEY_ID_PREFIX}${timePart}${randomPart}` as TetherKeyId;
}

/**
 * Checks a material reference (see the rule above).
 * @throws ValidationError (field as given) naming what is wrong
 */
export function parseMaterialRef(value: unknown, field = "materialRef"): MaterialRef {
  if (typeof value !== "string" || value.length === 0) {
    throw new ValidationError(field, "must be a non-empty string");
  }
  if (value.length > MAX_MATERIAL_REF_LENGTH) {
    throw new ValidationError(field, `must be at most ${MAX_MATERIAL_REF_LENGTH} characters`);
  }
  if (value.includes("..")) {
    throw new ValidationError(field, "must not contain '..'");
  }
  if (!MATERIAL_REF.test(value)) {
    throw new ValidationError(
      field,
      "must be '/'-separated segments that each start with a letter or digit and contain only letters, digits, '.', '_' or '-'",
    );
  }
  return value as MaterialRef;
}

/**
 * Checks a check value's form (not its content: only the vault can say whether it matches).
 * @throws ValidationError (field as given)
 */
export function parseCheckValue(value: unknown, field = "checkValue"): CheckValue {
  if (typeof value !== "string" || !CHECK_VALUE.test(value)) {
    throw new ValidationError(
      field,
      "must be 1 to 256 characters: letters, digits and + / = : . _ - (starting with a letter or digit)",
    );
  }
  return value as CheckValue;
}

/**
 * Checks an AWS Region code.
 * @throws ValidationError (field as given)
 */
export function parseAwsRegion(value: unknown, field = "region"): AwsRegion {
  if (typeof value !== "string" || !AWS_REGION.test(value)) {
    throw new ValidationError(field, "must be an AWS Region code such as eu-west-1");
  }
  return value as AwsRegion;
}
