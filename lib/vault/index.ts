export { CheckValueScheme, checkValuesEqual, computeCheckValue } from "./check-value.js";
export {
  InvalidMaterialError,
  InvalidMaterialRefError,
  MaterialAlreadyExistsError,
  MaterialNotFoundError,
  UnsupportedWrappingError,
  VaultError,
  VaultLockedError,
} from "./errors.js";
export {
  DEFAULT_SCRYPT_PARAMS,
  FILE_VAULT_DIR_ENV,
  FILE_VAULT_PASSPHRASE_ENV,
  FileVault,
  type FileVaultOptions,
  fileVaultFromEnv,
  type ScryptParams,
} from "./file/file-vault.js";
export {
  generateMaterial,
  HMAC_KEY_LENGTHS,
  isKeySpec,
  type MaterialFamily,
  materialFamily,
  SYMMETRIC_KEY_BYTES,
  validateMaterial,
} from "./material.js";
export { MAX_MATERIAL_REF_LENGTH, parseMaterialRef } from "./material-ref.js";
export {
  DOCUMENTED_VAULT_ERRORS,
  type MaterialDescription,
  type Vault,
  type VaultErrorClass,
} from "./port.js";
export { type MaterialRecord, type StoredMaterial, StoredMaterialVault } from "./stored-material-vault.js";
export {
  assertWrappable,
  isRsaAesKeyWrap,
  isWrappingAlgorithm,
  oaepCapacity,
  parseWrappingPublicKey,
  type WrappingPublicKey,
  wrapKeyMaterial,
} from "./wrapping.js";
