/**
 * What each KMS key spec allows: key usages, algorithms, and the shape of imported material.
 * Sources: https://docs.aws.amazon.com/kms/latest/developerguide/symm-asymm-choose-key-spec.html and
 * https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-conceptual.html
 * ("Requirements for imported key material": HMAC lengths, PKCS#8 DER for asymmetric keys).
 */

export const KEY_SPECS = [
  "SYMMETRIC_DEFAULT",
  "HMAC_224",
  "HMAC_256",
  "HMAC_384",
  "HMAC_512",
  "RSA_2048",
  "RSA_3072",
  "RSA_4096",
  "ECC_NIST_P256",
  "ECC_NIST_P384",
  "ECC_NIST_P521",
  "ECC_SECG_P256K1",
] as const;
export type KeySpec = (typeof KEY_SPECS)[number];

export const KEY_USAGES = ["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];

export const ORIGINS = ["AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"] as const;
export type Origin = (typeof ORIGINS)[number];

export const WRAPPING_ALGORITHMS = [
  "RSAES_PKCS1_V1_5",
  "RSAES_OAEP_SHA_1",
  "RSAES_OAEP_SHA_256",
  "RSA_AES_KEY_WRAP_SHA_1",
  "RSA_AES_KEY_WRAP_SHA_256",
  "SM2PKE",
] as const;
export type WrappingAlgorithm = (typeof WRAPPING_ALGORITHMS)[number];

export const WRAPPING_KEY_SPECS = ["RSA_2048", "RSA_3072", "RSA_4096", "SM2"] as const;
export type WrappingKeySpec = (typeof WRAPPING_KEY_SPECS)[number];
export type RsaWrappingKeySpec = Exclude<WrappingKeySpec, "SM2">;

export const SIGNING_ALGORITHMS = [
  "RSASSA_PSS_SHA_256",
  "RSASSA_PSS_SHA_384",
  "RSASSA_PSS_SHA_512",
  "RSASSA_PKCS1_V1_5_SHA_256",
  "RSASSA_PKCS1_V1_5_SHA_384",
  "RSASSA_PKCS1_V1_5_SHA_512",
  "ECDSA_SHA_256",
  "ECDSA_SHA_384",
  "ECDSA_SHA_512",
] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export const MAC_ALGORITHMS = ["HMAC_SHA_224", "HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512"] as const;
export type MacAlgorithm = (typeof MAC_ALGORITHMS)[number];

export const ENCRYPTION_ALGORITHMS = ["SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"] as const;
export type EncryptionAlgorithm = (typeof ENCRYPTION_ALGORITHMS)[number];

const RSA_SIGNING: readonly SigningAlgorithm[] = [
  "RSASSA_PKCS1_V1_5_SHA_256",
  "RSASSA_PKCS1_V1_5_SHA_384",
  "RSASSA_PKCS1_V1_5_SHA_512",
  "RSASSA_PSS_SHA_256",
  "RSASSA_PSS_SHA_384",
  "RSASSA_PSS_SHA_512",
];

interface SpecInfo {
  usages: readonly KeyUsage[];
  /** RSA modulus bits. */
  rsaBits?: number;
  /** Node's named curve and the ECDSA algorithm AWS pairs with it. */
  curve?: { name: string; signing: SigningAlgorithm };
  /** HMAC: digest, MAC algorithm, allowed imported material length in bytes. */
  hmac?: { digest: string; mac: MacAlgorithm; minBytes: number; maxBytes: number };
}

export const SPEC_INFO: Readonly<Record<KeySpec, SpecInfo>> = {
  SYMMETRIC_DEFAULT: { usages: ["ENCRYPT_DECRYPT"] },
  HMAC_224: {
    usages: ["GENERATE_VERIFY_MAC"],
    hmac: { digest: "sha224", mac: "HMAC_SHA_224", minBytes: 28, maxBytes: 64 },
  },
  HMAC_256: {
    usages: ["GENERATE_VERIFY_MAC"],
    hmac: { digest: "sha256", mac: "HMAC_SHA_256", minBytes: 32, maxBytes: 64 },
  },
  HMAC_384: {
    usages: ["GENERATE_VERIFY_MAC"],
    hmac: { digest: "sha384", mac: "HMAC_SHA_384", minBytes: 48, maxBytes: 128 },
  },
  HMAC_512: {
    usages: ["GENERATE_VERIFY_MAC"],
    hmac: { digest: "sha512", mac: "HMAC_SHA_512", minBytes: 64, maxBytes: 128 },
  },
  RSA_2048: { usages: ["ENCRYPT_DECRYPT", "SIGN_VERIFY"], rsaBits: 2048 },
  RSA_3072: { usages: ["ENCRYPT_DECRYPT", "SIGN_VERIFY"], rsaBits: 3072 },
  RSA_4096: { usages: ["ENCRYPT_DECRYPT", "SIGN_VERIFY"], rsaBits: 4096 },
  ECC_NIST_P256: {
    usages: ["SIGN_VERIFY", "KEY_AGREEMENT"],
    curve: { name: "prime256v1", signing: "ECDSA_SHA_256" },
  },
  ECC_NIST_P384: {
    usages: ["SIGN_VERIFY", "KEY_AGREEMENT"],
    curve: { name: "secp384r1", signing: "ECDSA_SHA_384" },
  },
  ECC_NIST_P521: {
    usages: ["SIGN_VERIFY", "KEY_AGREEMENT"],
    curve: { name: "secp521r1", signing: "ECDSA_SHA_512" },
  },
  ECC_SECG_P256K1: {
    usages: ["SIGN_VERIFY", "KEY_AGREEMENT"],
    curve: { name: "secp256k1", signing: "ECDSA_SHA_256" },
  },
};

/** The algorithm lists DescribeKey shows for a key of this spec and usage. */
export function algorithmsFor(
  spec: KeySpec,
  usage: KeyUsage,
): {
  EncryptionAlgorithms?: string[];
  SigningAlgorithms?: string[];
  MacAlgorithms?: string[];
  KeyAgreementAlgorithms?: string[];
} {
  const info = SPEC_INFO[spec];
  if (spec === "SYMMETRIC_DEFAULT") return { EncryptionAlgorithms: ["SYMMETRIC_DEFAULT"] };
  if (info.hmac) return { MacAlgorithms: [info.hmac.mac] };
  if (usage === "KEY_AGREEMENT") return { KeyAgreementAlgorithms: ["ECDH"] };
  if (info.rsaBits) {
    return usage === "ENCRYPT_DECRYPT"
      ? { EncryptionAlgorithms: ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"] }
      : { SigningAlgorithms: [...RSA_SIGNING] };
  }
  if (info.curve) return { SigningAlgorithms: [info.curve.signing] };
  return {};
}

/** Digest of a signing algorithm (Node name and length in bytes). */
export function signingDigest(algorithm: SigningAlgorithm): { name: string; bytes: number } {
  if (algorithm.endsWith("_256")) return { name: "sha256", bytes: 32 };
  if (algorithm.endsWith("_384")) return { name: "sha384", bytes: 48 };
  return { name: "sha512", bytes: 64 };
}

export function isSymmetric(spec: KeySpec): boolean {
  return spec === "SYMMETRIC_DEFAULT";
}
