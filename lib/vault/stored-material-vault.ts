import type { KeySpec, WrappingAlgorithm } from "../domain/kms-constants.js";
import { checkValuesEqual, computeCheckValue } from "./check-value.js";
import { InvalidMaterialError, MaterialAlreadyExistsError, MaterialNotFoundError } from "./errors.js";
import { generateMaterial, isKeySpec, materialFamily, validateMaterial } from "./material.js";
import { parseMaterialRef } from "./material-ref.js";
import type { MaterialDescription, Vault } from "./port.js";
import { parseWrappingPublicKey, wrapKeyMaterial } from "./wrapping.js";

/** Material as a backend returns it: the bytes (owned by the caller, who zeroes them) and what was recorded. */
export interface StoredMaterial {
  readonly material: Buffer;
  readonly keySpec: KeySpec;
  /** The check value recorded when the material was stored. */
  readonly checkValue: string;
}

/** What a backend stores beside the bytes. */
export interface MaterialRecord {
  readonly keySpec: KeySpec;
  readonly checkValue: string;
}

/**
 * The shared half of every vault that can hand bytes to this process (file, Secrets Manager, HashiCorp
 * Vault): reference checks, material checks against the key spec, check values, wrapping, and zeroing.
 * An adapter supplies only "get the bytes", "store the bytes" and "is it there". Adapters that must wrap
 * inside an HSM implement {@link Vault} directly and reuse parseMaterialRef, validateMaterial and
 * assertWrappable.
 *
 * Ownership: bytes returned by loadMaterial belong to this class, which zeroes them in `finally`.
 */
export abstract class StoredMaterialVault implements Vault {
  abstract readonly kind: string;

  /**
   * The stored material, or undefined when nothing is stored under the reference. `segments` is the
   * checked reference split at `/`.
   */
  protected abstract loadMaterial(
    materialRef: string,
    segments: readonly string[],
  ): Promise<StoredMaterial | undefined>;

  /**
   * Stores material under a reference, atomically and only if nothing is there yet.
   * @returns false when the reference already exists (nothing written)
   */
  protected abstract storeMaterial(
    materialRef: string,
    segments: readonly string[],
    material: Uint8Array,
    record: MaterialRecord,
  ): Promise<boolean>;

  /** Whether something is stored under the reference. */
  protected abstract containsMaterial(materialRef: string, segments: readonly string[]): Promise<boolean>;

  /** Extra reference rules of a backend (e.g. reserved names); throw InvalidMaterialRefError. */
  protected checkRef(_materialRef: string, _segments: readonly string[]): void {}

  async wrap(
    materialRef: string,
    publicKeyDer: Uint8Array,
    algorithm: WrappingAlgorithm,
  ): Promise<Uint8Array> {
    const segments = this.#segments(materialRef);
    // Refuse a bad public key before any plaintext is loaded.
    parseWrappingPublicKey(publicKeyDer);
    return this.#withMaterial(materialRef, segments, (material, keySpec) =>
      wrapKeyMaterial(material, keySpec, publicKeyDer, algorithm),
    );
  }

  async checkValue(materialRef: string): Promise<string> {
    const segments = this.#segments(materialRef);
    return this.#withMaterial(materialRef, segments, (_material, _keySpec, checkValue) => checkValue);
  }

  async generate(materialRef: string, keySpec: KeySpec): Promise<{ checkValue: string }> {
    const segments = this.#segments(materialRef);
    materialFamily(keySpec);
    // Generating an RSA_4096 key takes seconds; fail fast. storeMaterial still refuses atomically.
    if (await this.containsMaterial(materialRef, segments)) throw new MaterialAlreadyExistsError(materialRef);
    const material = await generateMaterial(keySpec);
    try {
      return await this.#store(materialRef, segments, material, keySpec);
    } finally {
      material.fill(0);
    }
  }

  async has(materialRef: string): Promise<boolean> {
    return this.containsMaterial(materialRef, this.#segments(materialRef));
  }

  /**
   * The key spec recorded when the material was stored or generated: the one spec it serves (one secret,
   * one key type). The bytes are checked as for a wrap (spec, check value) and zeroed before returning.
   */
  async describe(materialRef: string): Promise<MaterialDescription> {
    const segments = this.#segments(materialRef);
    return this.#withMaterial(materialRef, segments, (_material, keySpec) => ({ keySpecs: [keySpec] }));
  }

  /**
   * Stores existing material after checking it against the key spec. The caller's buffer is read, not
   * kept, and not zeroed (it is the caller's).
   * @throws InvalidMaterialRefError, InvalidMaterialError, MaterialAlreadyExistsError, VaultError
   */
  protected async putMaterial(
    materialRef: string,
    material: Uint8Array,
    keySpec: KeySpec,
  ): Promise<{ checkValue: string }> {
    const segments = this.#segments(materialRef);
    materialFamily(keySpec);
    validateMaterial(keySpec, material);
    return this.#store(materialRef, segments, material, keySpec);
  }

  async #store(
    materialRef: string,
    segments: readonly string[],
    material: Uint8Array,
    keySpec: KeySpec,
  ): Promise<{ checkValue: string }> {
    const checkValue = computeCheckValue(keySpec, material);
    const created = await this.storeMaterial(materialRef, segments, material, { keySpec, checkValue });
    if (!created) throw new MaterialAlreadyExistsError(materialRef);
    return { checkValue };
  }

  /**
   * Loads, re-checks and lends the plaintext to `use`, then zeroes it. The re-check matters: KMS accepts
   * only byte-identical material on re-import, so bytes that no longer match their recorded check value
   * must never be wrapped.
   */
  async #withMaterial<T>(
    materialRef: string,
    segments: readonly string[],
    use: (material: Buffer, keySpec: KeySpec, checkValue: string) => T,
  ): Promise<T> {
    const stored = await this.loadMaterial(materialRef, segments);
    if (stored === undefined) throw new MaterialNotFoundError(materialRef);
    const { material, keySpec, checkValue } = stored;
    try {
      if (!isKeySpec(keySpec)) {
        throw new InvalidMaterialError(`Material "${materialRef}" is recorded with an unknown key spec.`, {
          materialRef,
        });
      }
      validateMaterial(keySpec, material);
      if (!checkValuesEqual(computeCheckValue(keySpec, material), checkValue)) {
        throw new InvalidMaterialError(
          `Material "${materialRef}" no longer matches the check value recorded when it was stored.`,
          { materialRef, keySpec },
        );
      }
      return use(material, keySpec, checkValue);
    } finally {
      material.fill(0);
    }
  }

  #segments(materialRef: string): string[] {
    const segments = parseMaterialRef(materialRef);
    this.checkRef(materialRef, segments);
    return segments;
  }
}
