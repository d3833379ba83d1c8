import {
  constants,
  createCipheriv,
  createPublicKey,
  type KeyObject,
  publicEncrypt,
  randomBytes,
} from "node:crypto";
import { quoteUnknown } from "../domain/errors.js";
import { type KeySpec, WrappingAlgorithm, type WrappingKeySpec } from "../domain/kms-constants.js";
import { allowedWrappings, wrappingRefusal } from "../domain/wrapping.js";
import { UnsupportedWrappingError } from "./errors.js";

/**
 * Wrapping key material for ImportKeyMaterial, as AWS KMS specifies it:
 * https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-encrypt-key-material.html
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GetParametersForImport.html (WrappingAlgorithm)
 *
 * - RSAES_OAEP_SHA_1 / RSAES_OAEP_SHA_256: RSAES-OAEP of the material under the wrapping public key, with
 *   MGF1 of the same hash and an empty label. Not for RSA private keys; the material must fit the modulus.
 * - RSA_AES_KEY_WRAP_SHA_1 / _SHA_256: RSAES-OAEP of a fresh AES-256 key, followed by AES key wrap with
 *   padding (RFC 5649) of the material under that AES key, the two concatenated in that order.
 * - RSAES_PKCS1_V1_5 is no longer accepted by AWS KMS (since 10 October 2023) and is refused here.
 */

/** The RFC 5649 alternative initial value (the "A65959A6" prefix of the integrity check). */
const KWP_ALTERNATIVE_IV = Buffer.from("A65959A6", "hex");
const EPHEMERAL_AES_KEY_BYTES = 32;

const OAEP_HASH = {
  RSAES_OAEP_SHA_1: { hash: "sha1", hashBytes: 20 },
  RSAES_OAEP_SHA_256: { hash: "sha256", hashBytes: 32 },
  RSA_AES_KEY_WRAP_SHA_1: { hash: "sha1", hashBytes: 20 },
  RSA_AES_KEY_WRAP_SHA_256: { hash: "sha256", hashBytes: 32 },
} as const satisfies Record<WrappingAlgorithm, { hash: string; hashBytes: number }>;

const WRAPPING_KEY_BITS = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 } as const satisfies Record<
  WrappingKeySpec,
  number
>;

/** A KMS wrapping public key, parsed and checked. */
export interface WrappingPublicKey {
  readonly key: KeyObject;
  readonly wrappingKeySpec: WrappingKeySpec;
  readonly modulusBytes: number;
}

/** Whether a runtime string is one of the wrapping algorithms AWS KMS still accepts. */
export function isWrappingAlgorithm(value: unknown): value is WrappingAlgorithm {
  return typeof value === "string" && Object.hasOwn(WrappingAlgorithm, value);
}

/** Whether the algorithm is one of the two-step RSA_AES_KEY_WRAP_* algorithms. */
export function isRsaAesKeyWrap(algorithm: WrappingAlgorithm): boolean {
  return (
    algorithm === WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_1 ||
    algorithm === WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_256
  );
}

/**
 * Parses the PublicKey of a GetParametersForImport response (DER SubjectPublicKeyInfo).
 * @throws UnsupportedWrappingError when it is not an RSA public key of 2048, 3072 or 4096 bits
 */
export function parseWrappingPublicKey(publicKeyDer: Uint8Array): WrappingPublicKey {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: Buffer.from(publicKeyDer), format: "der", type: "spki" });
  } catch (error) {
    throw new UnsupportedWrappingError(
      "The wrapping public key is not a DER SubjectPublicKeyInfo.",
      {},
      { cause: error },
    );
  }
  const bits = key.asymmetricKeyDetails?.modulusLength;
  const spec = Object.entries(WRAPPING_KEY_BITS).find(([, b]) => b === bits)?.[0] as
    | WrappingKeySpec
    | undefined;
  if (key.asymmetricKeyType !== "rsa" || spec === undefined || bits === undefined) {
    throw new UnsupportedWrappingError(
      `The wrapping public key must be RSA of 2048, 3072 or 4096 bits (${Object.keys(WRAPPING_KEY_BITS).join(", ")}); got ${key.asymmetricKeyType ?? "unknown"}${bits ? ` ${bits} bits` : ""}.`,
    );
  }
  return { key, wrappingKeySpec: spec, modulusBytes: bits / 8 };
}

/** The largest message RSAES-OAEP can carry: modulus bytes − 2·hash bytes − 2 (RFC 8017, 7.1.1). */
export function oaepCapacity(modulusBytes: number, algorithm: WrappingAlgorithm): number {
  return modulusBytes - 2 * OAEP_HASH[algorithm].hashBytes - 2;
}

/**
 * What would work instead of a refused pair: other algorithms with this wrapping key, or this algorithm
 * with other wrapping keys, as the domain's rule allows them for this key spec (smallest key first).
 */
function ruleAlternatives(
  keySpec: KeySpec,
  algorithm: WrappingAlgorithm,
  wrappingKeySpec: WrappingKeySpec,
): string {
  const allowed = allowedWrappings(keySpec);
  const algorithms = [
    ...new Set(allowed.filter((c) => c.wrappingKeySpec === wrappingKeySpec).map((c) => c.wrappingAlgorithm)),
  ];
  const keySpecs = (Object.keys(WRAPPING_KEY_BITS) as WrappingKeySpec[]).filter((spec) =>
    allowed.some((c) => c.wrappingAlgorithm === algorithm && c.wrappingKeySpec === spec),
  );
  const options = [
    ...(algorithms.length > 0 ? [algorithms.join(" or ")] : []),
    ...(keySpecs.length > 0 ? [`a ${keySpecs.join(" or ")} wrapping key`] : []),
  ];
  return options.length > 0 ? ` Use ${options.join(", or ")}.` : "";
}

/**
 * Checks that this algorithm and wrapping key can carry material of this key spec and length the way AWS
 * KMS accepts it: the domain's rule ({@link wrappingRefusal}), then whether the material physically fits
 * one RSAES-OAEP block. Shared by every adapter, including those that wrap inside an HSM.
 * @throws UnsupportedWrappingError giving the rule's reason and naming what would work
 */
export function assertWrappable(
  keySpec: KeySpec,
  materialLength: number,
  algorithm: WrappingAlgorithm,
  wrappingKey: Pick<WrappingPublicKey, "wrappingKeySpec" | "modulusBytes">,
): void {
  if (!isWrappingAlgorithm(algorithm)) {
    throw new UnsupportedWrappingError(
      `Unsupported wrapping algorithm ${quoteUnknown(algorithm)}; use one of ${Object.keys(WrappingAlgorithm).join(", ")} (AWS KMS no longer accepts RSAES_PKCS1_V1_5).`,
      { algorithm, keySpec },
    );
  }
  const refusal = wrappingRefusal(keySpec, algorithm, wrappingKey.wrappingKeySpec);
  if (refusal !== undefined) {
    throw new UnsupportedWrappingError(
      `AWS KMS does not accept ${algorithm} with an ${wrappingKey.wrappingKeySpec} wrapping key for ${keySpec} material: ${refusal}.${ruleAlternatives(keySpec, algorithm, wrappingKey.wrappingKeySpec)}`,
      { algorithm, keySpec },
    );
  }
  if (isRsaAesKeyWrap(algorithm)) return;
  const capacity = oaepCapacity(wrappingKey.modulusBytes, algorithm);
  if (materialLength > capacity) {
    const aesAlternatives = `${WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_256} or ${WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_1}`;
    const larger = (Object.entries(WRAPPING_KEY_BITS) as [WrappingKeySpec, number][])
      .filter(([, bits]) => oaepCapacity(bits / 8, algorithm) >= materialLength)
      .map(([spec]) => spec);
    throw new UnsupportedWrappingError(
      `${algorithm} with an ${wrappingKey.wrappingKeySpec} wrapping key carries at most ${capacity} bytes; this ${keySpec} material is ${materialLength} bytes. Use ${aesAlternatives}${larger.length > 0 ? `, or a ${larger.join(" or ")} wrapping key` : ""}.`,
      { algorithm, keySpec },
    );
  }
}

/**
 * Wraps key material for ImportKeyMaterial. The ephemeral AES key of RSA_AES_KEY_WRAP_* is zeroed before
 * returning (node's cipher context keeps its own copy until it is collected; that cannot be reached).
 * The caller keeps ownership of `material` and zeroes it.
 * @returns EncryptedKeyMaterial, not secret but still never logged
 * @throws UnsupportedWrappingError when the algorithm or wrapping key cannot carry the material
 */
export function wrapKeyMaterial(
  material: Uint8Array,
  keySpec: KeySpec,
  publicKeyDer: Uint8Array,
  algorithm: WrappingAlgorithm,
): Buffer {
  const wrappingKey = parseWrappingPublicKey(publicKeyDer);
  assertWrappable(keySpec, material.length, algorithm, wrappingKey);
  const rsaOaep = (message: Uint8Array) =>
    publicEncrypt(
      {
        key: wrappingKey.key,
        padding: constants.RSA_PKCS1_OAEP_PADDING,
        oaepHash: OAEP_HASH[algorithm].hash,
      },
      message,
    );
  if (!isRsaAesKeyWrap(algorithm)) return rsaOaep(material);

  const aesKey = randomBytes(EPHEMERAL_AES_KEY_BYTES);
  try {
    const wrappedAesKey = rsaOaep(aesKey);
    const kwp = createCipheriv("id-aes256-wrap-pad", aesKey, KWP_ALTERNATIVE_IV);
    return Buffer.concat([wrappedAesKey, kwp.update(material), kwp.final()]);
  } finally {
    aesKey.fill(0);
  }
}
