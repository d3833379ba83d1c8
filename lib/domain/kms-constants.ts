/**
 * KMS vocabulary, spelled exactly as AWS spells it on the wire. `as const` objects with derived
 * union types (not TypeScript enums), so values compare directly with what the SDK returns.
 */

export const KeySpec = {
  SYMMETRIC_DEFAULT: "SYMMETRIC_DEFAULT",
  HMAC_224: "HMAC_224",
  HMAC_256: "HMAC_256",
  HMAC_384: "HMAC_384",
  HMAC_512: "HMAC_512",
  RSA_2048: "RSA_2048",
  RSA_3072: "RSA_3072",
  RSA_4096: "RSA_4096",
  ECC_NIST_P256: "ECC_NIST_P256",
  ECC_NIST_P384: "ECC_NIST_P384",
  ECC_NIST_P521: "ECC_NIST_P521",
  ECC_SECG_P256K1: "ECC_SECG_P256K1",
} as const;
export type KeySpec = (typeof KeySpec)[keyof typeof KeySpec];

export const KeyUsage = {
  ENCRYPT_DECRYPT: "ENCRYPT_DECRYPT",
  SIGN_VERIFY: "SIGN_VERIFY",
  GENERATE_VERIFY_MAC: "GENERATE_VERIFY_MAC",
} as const;
export type KeyUsage = (typeof KeyUsage)[keyof typeof KeyUsage];

export const WrappingAlgorithm = {
  RSAES_OAEP_SHA_1: "RSAES_OAEP_SHA_1",
  RSAES_OAEP_SHA_256: "RSAES_OAEP_SHA_256",
  RSA_AES_KEY_WRAP_SHA_1: "RSA_AES_KEY_WRAP_SHA_1",
  RSA_AES_KEY_WRAP_SHA_256: "RSA_AES_KEY_WRAP_SHA_256",
} as const;
export type WrappingAlgorithm = (typeof WrappingAlgorithm)[keyof typeof WrappingAlgorithm];

export const WrappingKeySpec = {
  RSA_2048: "RSA_2048",
  RSA_3072: "RSA_3072",
  RSA_4096: "RSA_4096",
} as const;
export type WrappingKeySpec = (typeof WrappingKeySpec)[keyof typeof WrappingKeySpec];

export const ExpirationModel = {
  KEY_MATERIAL_EXPIRES: "KEY_MATERIAL_EXPIRES",
  KEY_MATERIAL_DOES_NOT_EXPIRE: "KEY_MATERIAL_DOES_NOT_EXPIRE",
} as const;
export type ExpirationModel = (typeof ExpirationModel)[keyof typeof ExpirationModel];

export const KeyState = {
  Creating: "Creating",
  Enabled: "Enabled",
  Disabled: "Disabled",
  PendingDeletion: "PendingDeletion",
  PendingImport: "PendingImport",
  PendingReplicaDeletion: "PendingReplicaDeletion",
  Unavailable: "Unavailable",
  Updating: "Updating",
} as const;
export type KeyState = (typeof KeyState)[keyof typeof KeyState];

export const ImportType = {
  NEW_KEY_MATERIAL: "NEW_KEY_MATERIAL",
  EXISTING_KEY_MATERIAL: "EXISTING_KEY_MATERIAL",
} as const;
export type ImportType = (typeof ImportType)[keyof typeof ImportType];

export const KeyMaterialState = {
  CURRENT: "CURRENT",
  NON_CURRENT: "NON_CURRENT",
  PENDING_ROTATION: "PENDING_ROTATION",
  /** New material in a Multi-Region primary that some replica does not hold yet. */
  PENDING_MULTI_REGION_IMPORT_AND_ROTATION: "PENDING_MULTI_REGION_IMPORT_AND_ROTATION",
} as const;
export type KeyMaterialState = (typeof KeyMaterialState)[keyof typeof KeyMaterialState];

/** ListKeyRotations' IncludeKeyMaterial values. */
export const IncludeKeyMaterial = {
  ALL_KEY_MATERIAL: "ALL_KEY_MATERIAL",
  ROTATIONS_ONLY: "ROTATIONS_ONLY",
} as const;
export type IncludeKeyMaterial = (typeof IncludeKeyMaterial)[keyof typeof IncludeKeyMaterial];

/**
 * At most this many on-demand rotations per key (RotateKeyOnDemand then answers LimitExceededException).
 * https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html#on-demand-rotation-resource-quota
 */
export const MAX_ON_DEMAND_ROTATIONS = 25;

/** AWS's default request quotas (per account and Region, requests per second) for the calls Tether makes. */
export const DefaultKmsQuotas = {
  GetParametersForImport: 1,
  ImportKeyMaterial: 15,
  DeleteImportedKeyMaterial: 15,
  RotateKeyOnDemand: 5,
  DescribeKey: 2000,
} as const;

/** ValidTo may be at most this far ahead (AWS: 365 days). */
export const MAX_VALID_TO_MS = 365 * 24 * 60 * 60 * 1000;
/** Import parameters (public key + token) are valid for 24 hours. */
export const IMPORT_PARAMETERS_TTL_MS = 24 * 60 * 60 * 1000;
