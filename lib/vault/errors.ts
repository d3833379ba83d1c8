/**
 * Errors of the vault layer. Messages name the material reference, key spec or algorithm at fault and
 * never carry material, wrapped material or passphrases.
 */
import { VaultError as DomainVaultError } from "../domain/errors.js";

/**
 * Root of every vault error: the domain's VaultError, so use cases recognise any adapter's failure
 * without knowing the adapter. Takes `(message, options?)` so a `cause` chains.
 */
export class VaultError extends DomainVaultError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, {}, options);
    this.name = "VaultError";
  }
}

/** The vault holds nothing under this material reference. */
export class MaterialNotFoundError extends VaultError {
  override readonly materialRef: string;

  constructor(materialRef: string, options?: ErrorOptions) {
    super(`The vault holds no key material under reference "${materialRef}".`, options);
    this.name = "MaterialNotFoundError";
    this.materialRef = materialRef;
  }
}

/** The vault already holds material under this reference; a vault never overwrites material. */
export class MaterialAlreadyExistsError extends VaultError {
  override readonly materialRef: string;

  constructor(materialRef: string, options?: ErrorOptions) {
    super(
      `The vault already holds key material under reference "${materialRef}"; it never overwrites material.`,
      options,
    );
    this.name = "MaterialAlreadyExistsError";
    this.materialRef = materialRef;
  }
}

/** The material reference is malformed (empty, too long, `..`, absolute, odd characters, ...). */
export class InvalidMaterialRefError extends VaultError {
  override readonly materialRef: string;

  constructor(materialRef: string, reason: string, options?: ErrorOptions) {
    super(`Invalid material reference ${JSON.stringify(materialRef)}: ${reason}`, options);
    this.name = "InvalidMaterialRefError";
    this.materialRef = materialRef;
  }
}

/** The vault cannot be opened: its passphrase (or other secret needed to unlock it) is not configured. */
export class VaultLockedError extends VaultError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "VaultLockedError";
  }
}

/**
 * Material does not satisfy its key spec (wrong length, not PKCS#8, wrong curve or modulus), or stored
 * material failed an integrity check (altered file, check value mismatch).
 */
export class InvalidMaterialError extends VaultError {
  readonly keySpec: string | undefined;
  override readonly materialRef: string | undefined;

  constructor(
    message: string,
    context: { keySpec?: string; materialRef?: string } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "InvalidMaterialError";
    this.keySpec = context.keySpec;
    this.materialRef = context.materialRef;
  }
}

/** The wrapping algorithm or wrapping public key cannot carry this material the way AWS KMS expects. */
export class UnsupportedWrappingError extends VaultError {
  readonly algorithm: string | undefined;
  readonly keySpec: string | undefined;

  constructor(
    message: string,
    context: { algorithm?: string; keySpec?: string } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "UnsupportedWrappingError";
    this.algorithm = context.algorithm;
    this.keySpec = context.keySpec;
  }
}
