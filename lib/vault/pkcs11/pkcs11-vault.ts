import { createHash } from "node:crypto";
import pkcs11js from "pkcs11js";
import { quoteUnknown } from "../../domain/errors.js";
import { type KeySpec, WrappingAlgorithm } from "../../domain/kms-constants.js";
import type { WrappingChoice } from "../../domain/wrapping.js";
import { CheckValueScheme } from "../check-value.js";
import {
  InvalidMaterialRefError,
  MaterialAlreadyExistsError,
  MaterialNotFoundError,
  UnsupportedWrappingError,
  VaultError,
} from "../errors.js";
import { HMAC_KEY_LENGTHS, isKeySpec, materialFamily } from "../material.js";
import { parseMaterialRef } from "../material-ref.js";
import type { MaterialDescription, Vault } from "../port.js";
import {
  assertWrappable,
  isRsaAesKeyWrap,
  isWrappingAlgorithm,
  parseWrappingPublicKey,
} from "../wrapping.js";
import {
  createEphemeralAesKey,
  createWrappingPublicKey,
  destroyQuietly,
  discoverCapabilities,
  intersectWrappings,
  oaepMechanism,
  type TokenCapabilities,
  tokenWrappingAlgorithms,
} from "./mechanisms.js";
import {
  EC_CURVE_PARAMS,
  findMaterial,
  findObjects,
  isCkaIdRef,
  labelOf,
  locator,
  type MaterialObject,
  publicKeySpki,
} from "./objects.js";
import { pkcs11Code, pkcs11Failure, SessionPool } from "./session-pool.js";
import { PKCS11_ENV, type Pkcs11Settings } from "./settings.js";

type Handle = Buffer;

/**
 * Check value of an RSA or ECC key held in an HSM: SHA-256 of its public key (DER SubjectPublicKeyInfo).
 * Safe because it is a hash of public data (KMS itself hands the same SPKI out through GetPublicKey, so
 * operators can compare the two directly). It is not the file vault's `hmac-sha256` scheme: that one is
 * keyed with the private key bytes, which never leave an HSM; the two schemes are not comparable.
 */
export const SPKI_SHA256_SCHEME = "spki-sha256";

/** The label the file vault's HMAC check value is computed over (lib/vault/check-value.ts). */
const HMAC_CHECK_LABEL = "tether check value v1";
const HMAC_CHECK_BYTES = 16;
const KCV_BYTES = 3;
/** Enough for the PKCS#8 of an RSA 4096 private key under RFC 5649 padding. */
const WRAP_BUFFER_BYTES = 16 * 1024;

/** CKR_CURVE_NOT_SUPPORTED (PKCS#11 2.40, 0x140): not in pkcs11js's constants. */
const CKR_CURVE_NOT_SUPPORTED = 0x140;

const RSA_BITS = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 } as const;

/**
 * The customer's HSM through PKCS#11. The material is a token object — an AES-256 or generic secret
 * key, or an RSA/EC private key — that is sensitive and extractable only by wrapping: the HSM itself
 * produces the EncryptedKeyMaterial under the KMS wrapping public key (C_WrapKey), so plaintext never
 * reaches this process. The material reference is the object's CKA_LABEL (or `cka-id/<hex>`).
 */
export class Pkcs11Vault implements Vault {
  readonly kind = "pkcs11";

  /** Material Tether names itself (a sentinel's) goes under the deployment's label prefix. */
  ownedRef(name: string): string {
    return `${this.#settings.labelPrefix}${name}`;
  }
  readonly #settings: Pkcs11Settings;
  #pool: SessionPool | undefined;
  #capabilities: TokenCapabilities | undefined;
  readonly #generating = new Set<string>();

  constructor(settings: Pkcs11Settings) {
    this.#settings = settings;
  }

  /**
   * Loads the library, finds the token and logs in, so a misconfiguration shows at cold start.
   * @throws VaultError (library, token or PIN at fault; the PIN is never in the message)
   */
  async open(): Promise<void> {
    await this.#use(() => undefined);
  }

  /** Closes the sessions and, when no other vault uses the library, C_Finalize. */
  async close(): Promise<void> {
    this.#pool?.close();
    this.#pool = undefined;
  }

  /**
   * What the token can do (mechanisms with CKF_WRAP, OAEP hashes), found once.
   * @throws VaultError when the token cannot be reached
   */
  async capabilities(): Promise<TokenCapabilities> {
    return this.#use((session) => this.#capabilitiesWith(session));
  }

  /**
   * The wrappings both AWS KMS and this token support for this key spec, strongest first; empty when
   * none. Tether asks GetParametersForImport for the first.
   * @throws VaultError when the token cannot be reached
   */
  async supportedWrappings(keySpec: KeySpec): Promise<WrappingChoice[]> {
    return intersectWrappings(keySpec, await this.capabilities());
  }

  async has(materialRef: string): Promise<boolean> {
    this.#parseOwnedRef(materialRef);
    return this.#use((session) => this.#find(session, materialRef) !== undefined);
  }

  /**
   * An HSM records no key spec, so the object's type and size say what the material may serve: an AES-256
   * key is SYMMETRIC_DEFAULT only, a generic secret each HMAC spec whose length range holds it, an RSA or
   * EC key its modulus or curve (see MaterialDescription).
   */
  async describe(materialRef: string): Promise<MaterialDescription> {
    parseMaterialRef(materialRef);
    return this.#use((session) => {
      const material = this.#material(session, materialRef);
      if (materialFamily(material.keySpec) !== "HMAC" || material.secretLength === undefined) {
        return { keySpecs: [material.keySpec] };
      }
      const length = material.secretLength;
      const keySpecs = (Object.keys(HMAC_KEY_LENGTHS) as (keyof typeof HMAC_KEY_LENGTHS)[]).filter(
        (spec) => length >= HMAC_KEY_LENGTHS[spec].min && length <= HMAC_KEY_LENGTHS[spec].max,
      );
      return { keySpecs };
    });
  }

  async wrap(
    materialRef: string,
    publicKeyDer: Uint8Array,
    algorithm: WrappingAlgorithm,
  ): Promise<Uint8Array> {
    this.#parseOwnedRef(materialRef);
    if (!isWrappingAlgorithm(algorithm)) {
      throw new UnsupportedWrappingError(
        `Unsupported wrapping algorithm ${quoteUnknown(algorithm)}; use one of ${Object.keys(WrappingAlgorithm).join(", ")}.`,
        { algorithm },
      );
    }
    const wrappingKey = parseWrappingPublicKey(publicKeyDer);
    return this.#use((session) => {
      const material = this.#material(session, materialRef);
      assertWrappable(material.keySpec, material.secretLength ?? 0, algorithm, wrappingKey);
      this.#assertTokenCanWrap(session, material.keySpec, algorithm);
      const module = this.#module;
      const hash = algorithm.endsWith("SHA_256") ? "SHA_256" : "SHA_1";
      let publicKey: Handle | undefined;
      let ephemeral: Handle | undefined;
      try {
        publicKey = createWrappingPublicKey(module, session, wrappingKey.key);
        if (!isRsaAesKeyWrap(algorithm)) {
          return this.#wrapStep(algorithm, "RSA-OAEP of the material", () =>
            module.C_WrapKey(
              session,
              oaepMechanism(hash),
              publicKey as Handle,
              material.handle,
              Buffer.alloc(wrappingKey.modulusBytes),
            ),
          );
        }
        ephemeral = createEphemeralAesKey(module, session);
        const wrappedKey = this.#wrapStep(algorithm, "RSA-OAEP of the ephemeral AES key", () =>
          module.C_WrapKey(
            session,
            oaepMechanism(hash),
            publicKey as Handle,
            ephemeral as Handle,
            Buffer.alloc(wrappingKey.modulusBytes),
          ),
        );
        const wrappedMaterial = this.#wrapStep(algorithm, "AES key wrap with padding of the material", () =>
          module.C_WrapKey(
            session,
            { mechanism: pkcs11js.CKM_AES_KEY_WRAP_PAD },
            ephemeral as Handle,
            material.handle,
            Buffer.alloc(WRAP_BUFFER_BYTES),
          ),
        );
        return Buffer.concat([wrappedKey, wrappedMaterial]);
      } finally {
        destroyQuietly(module, session, ephemeral);
        destroyQuietly(module, session, publicKey);
      }
    });
  }

  async checkValue(materialRef: string): Promise<string> {
    this.#parseOwnedRef(materialRef);
    return this.#use((session) =>
      this.#checkValueOf(session, this.#material(session, materialRef), materialRef),
    );
  }

  async generate(materialRef: string, keySpec: KeySpec): Promise<{ checkValue: string }> {
    this.#parseOwnedRef(materialRef);
    if (isCkaIdRef(materialRef)) {
      throw new InvalidMaterialRefError(
        materialRef,
        `new material needs a label under "${this.#settings.labelPrefix}"; cka-id/ references name existing objects only`,
      );
    }
    if (!isKeySpec(keySpec)) throw new VaultError(`PKCS#11: unknown key spec ${quoteUnknown(keySpec)}.`);
    if (this.#generating.has(materialRef)) throw new MaterialAlreadyExistsError(materialRef);
    this.#generating.add(materialRef);
    try {
      return await this.#use(async (session) => {
        const module = this.#module;
        if (findObjects(module, session, locator(materialRef), 1).length > 0) {
          throw new MaterialAlreadyExistsError(materialRef);
        }
        const caps = this.#capabilitiesWith(session);
        const common = this.#identity(materialRef);
        try {
          await this.#generateIn(session, caps, keySpec, common);
        } catch (error) {
          throw error instanceof VaultError ? error : pkcs11Failure(`generating ${keySpec} material`, error);
        }
        return { checkValue: this.#checkValueOf(session, this.#material(session, materialRef), materialRef) };
      });
    } finally {
      this.#generating.delete(materialRef);
    }
  }

  /** Generates the material for `keySpec` on the token, as a non-usable, extractable, sensitive object. */
  async #generateIn(
    session: Handle,
    caps: TokenCapabilities,
    keySpec: KeySpec,
    identity: pkcs11js.Template,
  ): Promise<void> {
    const family = materialFamily(keySpec);
    if (family === "SYMMETRIC") return this.#generateAes(session, caps, keySpec, identity);
    if (family === "HMAC") return this.#generateHmac(session, caps, keySpec, identity);
    if (family === "RSA") return this.#generateRsa(session, caps, keySpec, identity);
    return this.#generateEc(session, caps, keySpec, identity);
  }

  #generateAes(
    session: Handle,
    caps: TokenCapabilities,
    keySpec: KeySpec,
    identity: pkcs11js.Template,
  ): void {
    this.#require(caps.aesKeyGen && caps.aesEcb, keySpec, "CKM_AES_KEY_GEN and CKM_AES_ECB");
    // CKA_ENCRYPT only so the key check value (AES-ECB of a zero block) can be computed in the HSM.
    this.#module.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
      ...secretKeyTemplate(identity),
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
      { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
      { type: pkcs11js.CKA_ENCRYPT, value: true },
    ]);
  }

  #generateHmac(
    session: Handle,
    caps: TokenCapabilities,
    keySpec: KeySpec,
    identity: pkcs11js.Template,
  ): void {
    this.#require(
      caps.genericSecretKeyGen && caps.sha256Hmac,
      keySpec,
      "CKM_GENERIC_SECRET_KEY_GEN and CKM_SHA256_HMAC",
    );
    // CKA_SIGN so the HMAC check value is computed in the HSM, the same way the file vault computes it.
    this.#module.C_GenerateKey(session, { mechanism: pkcs11js.CKM_GENERIC_SECRET_KEY_GEN }, [
      ...secretKeyTemplate(identity),
      { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_GENERIC_SECRET },
      {
        type: pkcs11js.CKA_VALUE_LEN,
        value: HMAC_KEY_LENGTHS[keySpec as keyof typeof HMAC_KEY_LENGTHS].generated,
      },
      { type: pkcs11js.CKA_SIGN, value: true },
      { type: pkcs11js.CKA_ENCRYPT, value: false },
    ]);
  }

  async #generateRsa(
    session: Handle,
    caps: TokenCapabilities,
    keySpec: KeySpec,
    identity: pkcs11js.Template,
  ): Promise<void> {
    this.#require(caps.rsaKeyPairGen, keySpec, "CKM_RSA_PKCS_KEY_PAIR_GEN");
    await this.#module.C_GenerateKeyPairAsync(
      session,
      { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
      [
        ...publicKeyTemplate(identity),
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_RSA },
        { type: pkcs11js.CKA_MODULUS_BITS, value: RSA_BITS[keySpec as keyof typeof RSA_BITS] },
        { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) },
      ],
      [...privateKeyTemplate(identity), { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_RSA }],
    );
  }

  async #generateEc(
    session: Handle,
    caps: TokenCapabilities,
    keySpec: KeySpec,
    identity: pkcs11js.Template,
  ): Promise<void> {
    this.#require(caps.ecKeyPairGen, keySpec, "CKM_EC_KEY_PAIR_GEN");
    const params = Buffer.from(EC_CURVE_PARAMS[keySpec as keyof typeof EC_CURVE_PARAMS].oid, "hex");
    try {
      await this.#module.C_GenerateKeyPairAsync(
        session,
        { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
        [
          ...publicKeyTemplate(identity),
          { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC },
          { type: pkcs11js.CKA_EC_PARAMS, value: params },
        ],
        [...privateKeyTemplate(identity), { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_EC }],
      );
    } catch (error) {
      if (
        pkcs11Code(error) === CKR_CURVE_NOT_SUPPORTED ||
        pkcs11Code(error) === pkcs11js.CKR_DOMAIN_PARAMS_INVALID
      ) {
        throw new VaultError(
          `PKCS#11: this token cannot generate ${keySpec} keys (its curve is not supported).`,
        );
      }
      throw error;
    }
  }

  #require(available: boolean, keySpec: KeySpec, mechanisms: string): void {
    if (!available) {
      throw new VaultError(
        `PKCS#11: this token cannot generate ${keySpec} material: it lacks ${mechanisms}.`,
      );
    }
  }

  /** CKA_LABEL = the reference; CKA_ID = the given bytes for `cka-id/` references, else a hash of the label. */
  #identity(materialRef: string): pkcs11js.Template {
    const byId = locator(materialRef).find((a) => a.type === pkcs11js.CKA_ID);
    const id =
      (byId?.value as Buffer | undefined) ??
      createHash("sha256").update(materialRef).digest().subarray(0, 16);
    return [
      { type: pkcs11js.CKA_LABEL, value: materialRef },
      { type: pkcs11js.CKA_ID, value: id },
    ];
  }

  #checkValueOf(session: Handle, material: MaterialObject, materialRef: string): string {
    const module = this.#module;
    const family = materialFamily(material.keySpec);
    try {
      if (family === "SYMMETRIC") {
        module.C_EncryptInit(session, { mechanism: pkcs11js.CKM_AES_ECB }, material.handle);
        const block = module.C_Encrypt(session, Buffer.alloc(16), Buffer.alloc(16));
        return `${CheckValueScheme.KCV_AES}:${block.subarray(0, KCV_BYTES).toString("hex").toUpperCase()}`;
      }
      if (family === "HMAC") {
        module.C_SignInit(session, { mechanism: pkcs11js.CKM_SHA256_HMAC }, material.handle);
        const mac = module.C_Sign(session, Buffer.from(HMAC_CHECK_LABEL, "utf8"), Buffer.alloc(32));
        return `${CheckValueScheme.HMAC_SHA256}:${mac.subarray(0, HMAC_CHECK_BYTES).toString("hex")}`;
      }
      const spki = publicKeySpki(module, session, material, materialRef);
      return `${SPKI_SHA256_SCHEME}:${createHash("sha256").update(spki).digest("hex")}`;
    } catch (error) {
      if (error instanceof VaultError) throw error;
      const needs =
        family === "SYMMETRIC" ? "CKA_ENCRYPT (AES-ECB of a zero block)" : "CKA_SIGN (HMAC-SHA256)";
      throw new VaultError(
        `PKCS#11: the check value of "${materialRef}" cannot be computed in the HSM; the key needs ${needs}. ${pkcs11Failure("the check value", error).message}`,
      );
    }
  }

  /**
   * Checks a reference's form and that it lies under the deployment's label prefix (a `cka-id/` reference is
   * checked on its object's label, by {@link #find}).
   * @throws InvalidMaterialRefError, as for a malformed reference
   */
  #parseOwnedRef(materialRef: string): void {
    parseMaterialRef(materialRef);
    if (isCkaIdRef(materialRef) || materialRef.startsWith(this.#settings.labelPrefix)) return;
    throw new InvalidMaterialRefError(materialRef, this.#outsidePrefix());
  }

  #outsidePrefix(): string {
    return `it is outside this deployment's label prefix "${this.#settings.labelPrefix}" (${PKCS11_ENV.LABEL_PREFIX}); Tether uses only token objects labelled under it`;
  }

  /** The reference's material object, or undefined; a `cka-id/` object must carry a label under the prefix. */
  #find(session: Handle, materialRef: string): MaterialObject | undefined {
    const found = findMaterial(this.#module, session, materialRef);
    if (
      found !== undefined &&
      isCkaIdRef(materialRef) &&
      !labelOf(this.#module, session, found.handle).startsWith(this.#settings.labelPrefix)
    ) {
      throw new InvalidMaterialRefError(
        materialRef,
        `the object it names is labelled outside; ${this.#outsidePrefix()}`,
      );
    }
    return found;
  }

  #material(session: Handle, materialRef: string): MaterialObject {
    const found = this.#find(session, materialRef);
    if (found === undefined) throw new MaterialNotFoundError(materialRef);
    return found;
  }

  #assertTokenCanWrap(session: Handle, keySpec: KeySpec, algorithm: WrappingAlgorithm): void {
    const caps = this.#capabilitiesWith(session);
    if (tokenWrappingAlgorithms(keySpec, caps).has(algorithm)) return;
    this.#refuse(keySpec, algorithm, caps);
  }

  #refuse(keySpec: KeySpec, algorithm: WrappingAlgorithm, caps: TokenCapabilities, cause?: unknown): never {
    const secret = materialFamily(keySpec) === "SYMMETRIC" || materialFamily(keySpec) === "HMAC";
    const why =
      !secret && !isRsaAesKeyWrap(algorithm)
        ? "PKCS#11 RSA-OAEP wraps secret keys only"
        : algorithm.endsWith("SHA_256") && !caps.oaepSha256
          ? "the token does not do RSA-OAEP with SHA-256"
          : isRsaAesKeyWrap(algorithm) && !caps.aesKeyWrapPad
            ? "the token lacks CKM_AES_KEY_WRAP_PAD"
            : "the token lacks CKM_RSA_PKCS_OAEP for wrapping";
    const can = intersectWrappings(keySpec, caps);
    const canSay =
      can.length === 0
        ? "it can produce no wrapping AWS KMS accepts for this material"
        : `it can do ${[...new Set(can.map((c) => c.wrappingAlgorithm))].join(", ")} (with ${[...new Set(can.map((c) => c.wrappingKeySpec))].join(", ")})`;
    throw new UnsupportedWrappingError(
      `This HSM cannot wrap ${keySpec} material with ${algorithm}: ${why}; ${canSay}.`,
      { algorithm, keySpec },
      cause === undefined ? undefined : { cause: pkcs11Failure("C_WrapKey", cause) },
    );
  }

  /** Runs one C_WrapKey step; a parameter refusal the flags did not predict becomes the same clear refusal. */
  #wrapStep(algorithm: WrappingAlgorithm, step: string, run: () => Buffer): Buffer {
    try {
      return run();
    } catch (error) {
      const code = pkcs11Code(error);
      if (
        code === pkcs11js.CKR_ARGUMENTS_BAD ||
        code === pkcs11js.CKR_MECHANISM_PARAM_INVALID ||
        code === pkcs11js.CKR_MECHANISM_INVALID
      ) {
        throw new UnsupportedWrappingError(
          `This HSM refused ${step} for ${algorithm}. ${pkcs11Failure("C_WrapKey", error).message}`,
          { algorithm },
        );
      }
      throw pkcs11Failure(`C_WrapKey (${step})`, error);
    }
  }

  #capabilitiesWith(session: Handle): TokenCapabilities {
    this.#capabilities ??= discoverCapabilities(this.#module, this.#openPool().slot, session);
    return this.#capabilities;
  }

  get #module(): pkcs11js.PKCS11 {
    return this.#openPool().module;
  }

  #openPool(): SessionPool {
    this.#pool ??= new SessionPool({
      library: this.#settings.library,
      token: this.#settings.token,
      pin: this.#settings.pin,
      size: this.#settings.sessionPoolSize,
    });
    return this.#pool;
  }

  async #use<T>(work: (session: Handle) => T | Promise<T>): Promise<T> {
    try {
      return await this.#openPool().use(work);
    } catch (error) {
      if (error instanceof VaultError) throw error;
      throw pkcs11Failure("a token call", error);
    }
  }
}

/** A generated AES or HMAC key: on the token, private, sensitive, extractable (to be wrapped), not usable. */
function secretKeyTemplate(identity: pkcs11js.Template): pkcs11js.Template {
  return [
    ...identity,
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: true },
    { type: pkcs11js.CKA_DECRYPT, value: false },
    { type: pkcs11js.CKA_WRAP, value: false },
    { type: pkcs11js.CKA_UNWRAP, value: false },
  ];
}

/** The HSM copy exists to be wrapped for KMS, not to be used: no sign or decrypt on the private key. */
function privateKeyTemplate(identity: pkcs11js.Template): pkcs11js.Template {
  return [
    ...identity,
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: true },
    { type: pkcs11js.CKA_SIGN, value: false },
    { type: pkcs11js.CKA_DECRYPT, value: false },
    { type: pkcs11js.CKA_UNWRAP, value: false },
  ];
}

/** The public half of a generated pair: on the token, used for nothing. */
function publicKeyTemplate(identity: pkcs11js.Template): pkcs11js.Template {
  return [
    ...identity,
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
    { type: pkcs11js.CKA_TOKEN, value: true },
    { type: pkcs11js.CKA_VERIFY, value: false },
    { type: pkcs11js.CKA_ENCRYPT, value: false },
    { type: pkcs11js.CKA_WRAP, value: false },
  ];
}
