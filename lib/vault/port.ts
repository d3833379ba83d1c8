import type { KeySpec, WrappingAlgorithm } from "../domain/kms-constants.js";
import type { WrappingChoice } from "../domain/wrapping.js";

/**
 * Where the customer's key material lives. Lifecycle use cases see only this port: they ask the vault to
 * wrap material for KMS, never to hand it over, so plaintext exists only inside an adapter call.
 */
export interface Vault {
  /**
   * Wraps the material under the KMS wrapping public key (DER SubjectPublicKeyInfo from
   * GetParametersForImport) with the given algorithm and returns the EncryptedKeyMaterial for
   * ImportKeyMaterial. Plaintext never leaves the adapter.
   * @throws MaterialNotFoundError, UnsupportedWrappingError, InvalidMaterialError, VaultError
   */
  wrap(materialRef: string, publicKeyDer: Uint8Array, algorithm: WrappingAlgorithm): Promise<Uint8Array>;

  /**
   * Fingerprint proving the vault holds the same bytes, without revealing them (see check-value.ts).
   * @throws MaterialNotFoundError, InvalidMaterialError, VaultError
   */
  checkValue(materialRef: string): Promise<string>;

  /**
   * Makes new material of this key spec at the vault's source of randomness and stores it under
   * materialRef. Refuses to overwrite.
   * @throws MaterialAlreadyExistsError, InvalidMaterialRefError, VaultError
   */
  generate(materialRef: string, keySpec: KeySpec): Promise<{ checkValue: string }>;

  /**
   * Whether the vault holds this reference.
   * @throws InvalidMaterialRefError, VaultError
   */
  has(materialRef: string): Promise<boolean>;

  /**
   * The wrappings this vault can produce for material of this key spec, strongest first; absent when it
   * can produce every wrapping KMS accepts (software vaults). An HSM answers from its mechanisms.
   */
  supportedWrappings?(keySpec: KeySpec): Promise<readonly WrappingChoice[]>;

  /** Which adapter this is ("file", "pkcs11", ...), for audit records and diagnostics. */
  readonly kind: string;
}
