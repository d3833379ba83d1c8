import type { KeySpec, WrappingAlgorithm } from "../domain/kms-constants.js";
import type { WrappingChoice } from "../domain/wrapping.js";
import {
  InvalidMaterialError,
  InvalidMaterialRefError,
  MaterialAlreadyExistsError,
  MaterialNotFoundError,
  UnsupportedWrappingError,
  VaultError,
  VaultLockedError,
} from "./errors.js";

/**
 * What a vault can say about the material under a reference without handing it over: the key specs it may
 * serve. Tether's rule is one secret, one key type: the same bytes never serve as both an AES key and an
 * HMAC key (nor as two HMAC specs) in KMS. A vault that records the key spec the material was stored or
 * generated for (file, Secrets Manager, HashiCorp) answers exactly that spec; an HSM, which records no
 * spec, answers what the object's type and size allow (an AES-256 key: SYMMETRIC_DEFAULT only; a generic
 * secret: each HMAC spec whose length range holds it; an RSA or EC key: its modulus or curve).
 */
export interface MaterialDescription {
  /** The key specs this material may be registered as; never empty. */
  readonly keySpecs: readonly KeySpec[];
}

/**
 * Where the customer's key material lives. Lifecycle use cases see only this port: they ask the vault to
 * wrap material for KMS, never to hand it over, so plaintext exists only inside an adapter call.
 *
 * Every error a method may throw is listed in {@link DOCUMENTED_VAULT_ERRORS} (the `@throws` below name the
 * same classes, and a test keeps the two equal): the admin API answers each with a 4xx naming the field.
 */
export interface Vault {
  /**
   * Wraps the material under the KMS wrapping public key (DER SubjectPublicKeyInfo from
   * GetParametersForImport) with the given algorithm and returns the EncryptedKeyMaterial for
   * ImportKeyMaterial. Plaintext never leaves the adapter.
   * @throws MaterialNotFoundError, InvalidMaterialRefError, UnsupportedWrappingError, InvalidMaterialError,
   *   VaultLockedError, VaultError
   */
  wrap(materialRef: string, publicKeyDer: Uint8Array, algorithm: WrappingAlgorithm): Promise<Uint8Array>;

  /**
   * Fingerprint proving the vault holds the same bytes, without revealing them (see check-value.ts).
   * @throws MaterialNotFoundError, InvalidMaterialRefError, InvalidMaterialError, VaultLockedError, VaultError
   */
  checkValue(materialRef: string): Promise<string>;

  /**
   * Makes new material of this key spec at the vault's source of randomness and stores it under
   * materialRef. Refuses to overwrite.
   * @throws MaterialAlreadyExistsError, InvalidMaterialRefError, InvalidMaterialError, UnsupportedWrappingError,
   *   VaultLockedError, VaultError
   */
  generate(materialRef: string, keySpec: KeySpec): Promise<{ checkValue: string }>;

  /**
   * Whether the vault holds this reference.
   * @throws InvalidMaterialRefError, VaultLockedError, VaultError
   */
  has(materialRef: string): Promise<boolean>;

  /**
   * What the material under this reference may serve as (see {@link MaterialDescription}). Every adapter
   * Tether ships can tell. An adapter that cannot tell returns `undefined`: registration then goes on, and
   * material that does not fit the key is found by the first import, which waits for an operator
   * (lib/domain/decision.ts, FAILURES_AWAITING_OPERATOR) instead of retrying.
   * @throws MaterialNotFoundError, InvalidMaterialRefError, InvalidMaterialError, VaultLockedError, VaultError
   */
  describe(materialRef: string): Promise<MaterialDescription | undefined>;

  /**
   * The wrappings this vault can produce for material of this key spec, strongest first; absent when it
   * can produce every wrapping KMS accepts (software vaults). An HSM answers from its mechanisms.
   */
  supportedWrappings?(keySpec: KeySpec): Promise<readonly WrappingChoice[]>;

  /** Which adapter this is ("file", "pkcs11", ...), for audit records and diagnostics. */
  readonly kind: string;

  /**
   * The reference of material Tether itself names (a sentinel's), inside what this deployment owns in the
   * vault: an HSM puts its label prefix in front. Absent: the name as it is.
   */
  ownedRef?(name: string): string;
}

/** An error class a vault method documents. */
export type VaultErrorClass = abstract new (...args: never[]) => VaultError;

/**
 * The errors each method of {@link Vault} documents, as classes: the admin API's error boundary maps every
 * one of them to a 4xx, and a test walks this list so an error added here without a mapping fails it.
 */
export const DOCUMENTED_VAULT_ERRORS = {
  wrap: [
    MaterialNotFoundError,
    InvalidMaterialRefError,
    UnsupportedWrappingError,
    InvalidMaterialError,
    VaultLockedError,
    VaultError,
  ],
  checkValue: [
    MaterialNotFoundError,
    InvalidMaterialRefError,
    InvalidMaterialError,
    VaultLockedError,
    VaultError,
  ],
  generate: [
    MaterialAlreadyExistsError,
    InvalidMaterialRefError,
    InvalidMaterialError,
    UnsupportedWrappingError,
    VaultLockedError,
    VaultError,
  ],
  has: [InvalidMaterialRefError, VaultLockedError, VaultError],
  describe: [
    MaterialNotFoundError,
    InvalidMaterialRefError,
    InvalidMaterialError,
    VaultLockedError,
    VaultError,
  ],
} as const satisfies Record<
  "wrap" | "checkValue" | "generate" | "has" | "describe",
  readonly VaultErrorClass[]
>;
