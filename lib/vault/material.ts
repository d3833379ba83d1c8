import { createPrivateKey, generateKeyPair, randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { quoteUnknown } from "../domain/errors.js";
import { KeySpec } from "../domain/kms-constants.js";
import { InvalidMaterialError } from "./errors.js";

/**
 * What AWS KMS accepts as imported key material for each key spec, and how to make it.
 * https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-conceptual.html#importing-keys-material-requirements
 * - SYMMETRIC_DEFAULT: exactly 256 bits of raw bytes;
 * - HMAC_*: raw bytes, at least the digest length and at most the hash's block size;
 * - RSA_* / ECC_*: the private key as PKCS#8 DER (PrivateKeyInfo, RFC 5208), of the spec's modulus/curve.
 */

export type MaterialFamily = "SYMMETRIC" | "HMAC" | "RSA" | "ECC";

/** Imported HMAC key lengths in bytes (min..max) and the length Tether generates (the digest length). */
export const HMAC_KEY_LENGTHS = {
  HMAC_224: { min: 28, max: 64, generated: 28 },
  HMAC_256: { min: 32, max: 64, generated: 32 },
  HMAC_384: { min: 48, max: 128, generated: 48 },
  HMAC_512: { min: 64, max: 128, generated: 64 },
} as const satisfies Record<string, { min: number; max: number; generated: number }>;

/** Symmetric encryption material is exactly 32 bytes (AES-256). */
export const SYMMETRIC_KEY_BYTES = 32;

const RSA_MODULUS_BITS = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 } as const;

/** Curve names as node's generateKeyPair takes them, and as asymmetricKeyDetails.namedCurve reports them. */
const EC_CURVES = {
  ECC_NIST_P256: { generate: "P-256", reported: "prime256v1" },
  ECC_NIST_P384: { generate: "P-384", reported: "secp384r1" },
  ECC_NIST_P521: { generate: "P-521", reported: "secp521r1" },
  ECC_SECG_P256K1: { generate: "secp256k1", reported: "secp256k1" },
} as const;

const generateKeyPairAsync = promisify(generateKeyPair);

/** Whether a runtime string is a key spec Tether knows. */
export function isKeySpec(value: unknown): value is KeySpec {
  return typeof value === "string" && Object.hasOwn(KeySpec, value);
}

/**
 * The family of a key spec, which decides the material format, the check value scheme and the wrapping
 * algorithms that can carry it.
 * @throws InvalidMaterialError for an unknown key spec
 */
export function materialFamily(keySpec: KeySpec): MaterialFamily {
  if (keySpec === KeySpec.SYMMETRIC_DEFAULT) return "SYMMETRIC";
  if (Object.hasOwn(HMAC_KEY_LENGTHS, keySpec)) return "HMAC";
  if (Object.hasOwn(RSA_MODULUS_BITS, keySpec)) return "RSA";
  if (Object.hasOwn(EC_CURVES, keySpec)) return "ECC";
  throw new InvalidMaterialError(`Unknown key spec ${quoteUnknown(keySpec)}.`, { keySpec });
}

/**
 * Checks that material is what AWS KMS accepts for this key spec. Messages give lengths and key types,
 * never bytes.
 * @throws InvalidMaterialError naming what is wrong
 */
export function validateMaterial(keySpec: KeySpec, material: Uint8Array): void {
  const family = materialFamily(keySpec);
  if (!(material instanceof Uint8Array)) {
    throw new InvalidMaterialError(`Key material for ${keySpec} must be bytes.`, { keySpec });
  }
  switch (family) {
    case "SYMMETRIC":
      if (material.length !== SYMMETRIC_KEY_BYTES) {
        throw new InvalidMaterialError(
          `Key material for ${keySpec} must be exactly ${SYMMETRIC_KEY_BYTES} bytes; got ${material.length}.`,
          { keySpec },
        );
      }
      return;
    case "HMAC": {
      const { min, max } = HMAC_KEY_LENGTHS[keySpec as keyof typeof HMAC_KEY_LENGTHS];
      if (material.length < min || material.length > max) {
        throw new InvalidMaterialError(
          `Key material for ${keySpec} must be ${min} to ${max} bytes; got ${material.length}.`,
          { keySpec },
        );
      }
      return;
    }
    case "RSA":
    case "ECC":
      validatePrivateKeyMaterial(keySpec, material);
      return;
  }
}

function validatePrivateKeyMaterial(keySpec: KeySpec, material: Uint8Array): void {
  if (!isSingleDerSequence(material)) {
    throw new InvalidMaterialError(
      `Key material for ${keySpec} must be one DER-encoded PKCS#8 private key with nothing after it.`,
      { keySpec },
    );
  }
  let details: { type: string | undefined; modulusLength?: number; namedCurve?: string };
  try {
    const key = createPrivateKey({
      key: Buffer.from(material.buffer, material.byteOffset, material.length),
      format: "der",
      type: "pkcs8",
    });
    details = {
      type: key.asymmetricKeyType,
      modulusLength: key.asymmetricKeyDetails?.modulusLength,
      namedCurve: key.asymmetricKeyDetails?.namedCurve,
    };
  } catch {
    // The parser's message may quote the input; it is dropped on purpose and not chained as a cause.
    throw new InvalidMaterialError(
      `Key material for ${keySpec} is not an unencrypted PKCS#8 DER private key.`,
      { keySpec },
    );
  }
  if (keySpec in RSA_MODULUS_BITS) {
    const bits = RSA_MODULUS_BITS[keySpec as keyof typeof RSA_MODULUS_BITS];
    if (details.type !== "rsa" || details.modulusLength !== bits) {
      throw new InvalidMaterialError(
        `Key material for ${keySpec} must be an RSA private key with a ${bits}-bit modulus; got ${describe(details)}.`,
        { keySpec },
      );
    }
    return;
  }
  const curve = EC_CURVES[keySpec as keyof typeof EC_CURVES];
  if (details.type !== "ec" || details.namedCurve !== curve.reported) {
    throw new InvalidMaterialError(
      `Key material for ${keySpec} must be an EC private key on curve ${curve.generate}; got ${describe(details)}.`,
      { keySpec },
    );
  }
}

function describe(details: {
  type: string | undefined;
  modulusLength?: number;
  namedCurve?: string;
}): string {
  if (details.type === "rsa" || details.type === "rsa-pss")
    return `${details.type} ${details.modulusLength} bits`;
  if (details.type === "ec") return `ec ${details.namedCurve}`;
  return details.type ?? "an unknown key type";
}

/**
 * OpenSSL's parser ignores bytes after the first structure; KMS compares material byte for byte, so
 * material with trailing bytes would be "the same key" to us and different material to KMS.
 */
function isSingleDerSequence(der: Uint8Array): boolean {
  if (der.length < 2 || der[0] !== 0x30) return false;
  const first = der[1] as number;
  if (first < 0x80) return 2 + first === der.length;
  const lengthBytes = first & 0x7f;
  if (lengthBytes === 0 || lengthBytes > 4 || der.length < 2 + lengthBytes) return false;
  let length = 0;
  for (let i = 0; i < lengthBytes; i++) length = length * 256 + (der[2 + i] as number);
  return 2 + lengthBytes + length === der.length;
}

/**
 * New material for a key spec from node's CSPRNG: 32 random bytes for SYMMETRIC_DEFAULT, digest-length
 * random bytes for HMAC, a fresh key pair's private key as PKCS#8 DER for RSA and ECC. The caller owns the
 * returned buffer and must zero it.
 * @throws InvalidMaterialError for an unknown key spec
 */
export async function generateMaterial(keySpec: KeySpec): Promise<Buffer> {
  switch (materialFamily(keySpec)) {
    case "SYMMETRIC":
      return randomBytes(SYMMETRIC_KEY_BYTES);
    case "HMAC":
      return randomBytes(HMAC_KEY_LENGTHS[keySpec as keyof typeof HMAC_KEY_LENGTHS].generated);
    case "RSA": {
      const { privateKey } = await generateKeyPairAsync("rsa", {
        modulusLength: RSA_MODULUS_BITS[keySpec as keyof typeof RSA_MODULUS_BITS],
        publicExponent: 0x10001,
        publicKeyEncoding: { type: "spki", format: "der" },
        privateKeyEncoding: { type: "pkcs8", format: "der" },
      });
      return privateKey;
    }
    case "ECC": {
      const { privateKey } = await generateKeyPairAsync("ec", {
        namedCurve: EC_CURVES[keySpec as keyof typeof EC_CURVES].generate,
        publicKeyEncoding: { type: "spki", format: "der" },
        privateKeyEncoding: { type: "pkcs8", format: "der" },
      });
      return privateKey;
    }
  }
}
