import { constants, createHash, createPublicKey, randomBytes, verify } from "node:crypto";
import {
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DescribeKeyCommand,
  EncryptCommand,
  GenerateMacCommand,
  GetParametersForImportCommand,
  GetPublicKeyCommand,
  ImportKeyMaterialCommand,
  type KeyUsageType,
  type KeySpec as KmsKeySpec,
  SignCommand,
  VerifyCommand,
  VerifyMacCommand,
} from "@aws-sdk/client-kms";
import pkcs11js from "pkcs11js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeySpec, WrappingAlgorithm, type WrappingKeySpec } from "../../../lib/domain/kms-constants.js";
import { computeCheckValue } from "../../../lib/vault/check-value.js";
import {
  InvalidMaterialRefError,
  MaterialAlreadyExistsError,
  MaterialNotFoundError,
  UnsupportedWrappingError,
  VaultError,
  VaultLockedError,
} from "../../../lib/vault/errors.js";
import { type Pkcs11Vault, pkcs11VaultFromEnv } from "../../../lib/vault/pkcs11/index.js";
import { importKeyMaterial, useKmsEmulator } from "../../support/kms-testbed.js";
import {
  createSoftHsm,
  SOFTHSM_LIBRARY,
  type SoftHsm,
  softHsmMissingReason,
  USER_PIN,
} from "../../support/softhsm.js";

/**
 * The PKCS#11 vault against a real SoftHSM2 token (fresh per run) and the local KMS over HTTP: the HSM
 * wraps for KMS with every mechanism it has, KMS imports, and after the material is deleted the HSM
 * restores it so data from before the loss decrypts (or verifies) again.
 */

const missing = softHsmMissingReason();
if (missing !== undefined) console.warn(`Skipping the PKCS#11 vault tests: ${missing}.`);

const TOKEN = "tether-test";
const OTHER_TOKEN = "tether-other";
/** Known AES-256 material, imported into the HSM to compare check values with the file vault's scheme. */
const KNOWN_AES = Buffer.from("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", "hex");
/** Another team's AES-256 key on the same token, outside the deployment's label prefix. */
const OTHER_AES = randomBytes(32);
/** Known HMAC_256 material, to compare the HSM's HMAC check value with the file vault's. */
const KNOWN_HMAC = Buffer.from("f0e1d2c3b4a5968778695a4b3c2d1e0f00112233445566778899aabbccddeeff", "hex");
/** Generating a 3072/4096-bit wrapping key in the emulator takes seconds on a slow machine. */
const SLOW_TEST_MS = 120_000;

describe.skipIf(missing !== undefined)("Pkcs11Vault with SoftHSM2 and the local KMS", () => {
  const testbed = useKmsEmulator("eu-west-1");
  let hsm: SoftHsm;
  let vault: Pkcs11Vault;

  beforeAll(() => {
    hsm = createSoftHsm([TOKEN, OTHER_TOKEN]);
    importKnownSecrets([
      {
        label: "tether-test/known/aes-256",
        keyType: pkcs11js.CKK_AES,
        value: KNOWN_AES,
        use: pkcs11js.CKA_ENCRYPT,
      },
      {
        label: "tether-test/known/hmac-256",
        keyType: pkcs11js.CKK_GENERIC_SECRET,
        value: KNOWN_HMAC,
        use: pkcs11js.CKA_SIGN,
      },
      // Another team's key on the same (shared) token, outside this deployment's label prefix.
      {
        label: "payments/aes-256",
        keyType: pkcs11js.CKK_AES,
        value: OTHER_AES,
        use: pkcs11js.CKA_ENCRYPT,
        id: "0a0b",
      },
      {
        label: "tether-test/by-id",
        keyType: pkcs11js.CKK_AES,
        value: KNOWN_AES,
        use: pkcs11js.CKA_ENCRYPT,
        id: "0c0d",
      },
    ]);
    vault = pkcs11VaultFromEnv(hsm.env(TOKEN, { TETHER_PKCS11_SESSION_POOL: "2" }));
  });

  afterAll(async () => {
    await vault?.close();
    hsm?.cleanup();
  });

  /** C_CreateObject of known material, before the vault loads the library (SoftHSM reads its conf once). */
  function importKnownSecrets(
    secrets: { label: string; keyType: number; value: Buffer; use: number; id?: string }[],
  ): void {
    const module = new pkcs11js.PKCS11();
    module.load(SOFTHSM_LIBRARY);
    module.C_Initialize();
    try {
      const slot = module
        .C_GetSlotList(true)
        .find((s) => module.C_GetTokenInfo(s).label.trimEnd() === TOKEN) as Buffer;
      const session = module.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
      module.C_Login(session, pkcs11js.CKU_USER, USER_PIN);
      for (const { label, keyType, value, use, id } of secrets) {
        module.C_CreateObject(session, [
          { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
          { type: pkcs11js.CKA_KEY_TYPE, value: keyType },
          { type: pkcs11js.CKA_TOKEN, value: true },
          { type: pkcs11js.CKA_PRIVATE, value: true },
          { type: pkcs11js.CKA_SENSITIVE, value: true },
          { type: pkcs11js.CKA_EXTRACTABLE, value: true },
          { type: use, value: true },
          { type: pkcs11js.CKA_LABEL, value: label },
          { type: pkcs11js.CKA_VALUE, value },
          ...(id === undefined ? [] : [{ type: pkcs11js.CKA_ID, value: Buffer.from(id, "hex") }]),
        ]);
      }
      module.C_Logout(session);
      module.C_CloseSession(session);
    } finally {
      module.C_Finalize();
      module.close();
    }
  }

  async function createExternalKey(keySpec: KmsKeySpec, keyUsage: KeyUsageType): Promise<string> {
    const created = await testbed.kms.send(
      new CreateKeyCommand({ Origin: "EXTERNAL", KeySpec: keySpec, KeyUsage: keyUsage }),
    );
    return created.KeyMetadata?.KeyId as string;
  }

  /** The real import protocol, with the HSM producing EncryptedKeyMaterial. */
  async function importFromHsm(
    keyId: string,
    materialRef: string,
    algorithm: WrappingAlgorithm,
    wrappingKeySpec: WrappingKeySpec,
  ): Promise<void> {
    const parameters = await testbed.kms.send(
      new GetParametersForImportCommand({
        KeyId: keyId,
        WrappingAlgorithm: algorithm,
        WrappingKeySpec: wrappingKeySpec,
      }),
    );
    const encrypted = await vault.wrap(materialRef, parameters.PublicKey as Uint8Array, algorithm);
    await testbed.kms.send(
      new ImportKeyMaterialCommand({
        KeyId: keyId,
        ImportToken: parameters.ImportToken,
        EncryptedKeyMaterial: encrypted,
        ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
      }),
    );
  }

  async function keyState(keyId: string): Promise<string | undefined> {
    return (await testbed.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState;
  }

  async function deleteMaterial(keyId: string): Promise<void> {
    await testbed.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
    expect(await keyState(keyId)).toBe("PendingImport");
  }

  describe("mechanism discovery", () => {
    it("finds OAEP (SHA-1) and AES key wrap with padding, and no OAEP with SHA-256 on SoftHSM 2.6", async () => {
      const caps = await vault.capabilities();
      expect(caps).toMatchObject({ oaepSha1: true, aesKeyWrapPad: true, aesEcb: true });
      // SoftHSM 2.6 answers CKR_ARGUMENTS_BAD to OAEP with SHA-256 (see the shared toolchain notes).
      expect(caps.oaepSha256).toBe(false);
    });

    it("intersects what KMS accepts with what the token can do, strongest wrapping key first", async () => {
      expect(await vault.supportedWrappings(KeySpec.SYMMETRIC_DEFAULT)).toEqual([
        { wrappingAlgorithm: "RSAES_OAEP_SHA_1", wrappingKeySpec: "RSA_4096" },
        { wrappingAlgorithm: "RSAES_OAEP_SHA_1", wrappingKeySpec: "RSA_3072" },
        { wrappingAlgorithm: "RSAES_OAEP_SHA_1", wrappingKeySpec: "RSA_2048" },
      ]);
      const ecc = await vault.supportedWrappings(KeySpec.ECC_NIST_P256);
      expect(new Set(ecc.map((c) => c.wrappingAlgorithm))).toEqual(new Set(["RSA_AES_KEY_WRAP_SHA_1"]));
      const rsa = await vault.supportedWrappings(KeySpec.RSA_2048);
      expect(new Set(rsa.map((c) => c.wrappingAlgorithm))).toEqual(new Set(["RSA_AES_KEY_WRAP_SHA_1"]));
    });
  });

  describe("what a reference holds, from the object's type and size", () => {
    it("answers SYMMETRIC_DEFAULT for an AES-256 key, the HMAC specs a generic secret's length fits, an EC key's curve", async () => {
      expect(await vault.describe("tether-test/known/aes-256")).toEqual({
        keySpecs: [KeySpec.SYMMETRIC_DEFAULT],
      });
      // 32 bytes: HMAC_224 (28..64) and HMAC_256 (32..64), not HMAC_384 or HMAC_512 (48 and 64 at least).
      expect(await vault.describe("tether-test/known/hmac-256")).toEqual({
        keySpecs: [KeySpec.HMAC_224, KeySpec.HMAC_256],
      });
      await vault.generate("tether-test/describe/ecc", KeySpec.ECC_NIST_P384);
      expect(await vault.describe("tether-test/describe/ecc")).toEqual({ keySpecs: [KeySpec.ECC_NIST_P384] });
      await expect(vault.describe("tether-test/describe/none")).rejects.toBeInstanceOf(MaterialNotFoundError);
    });
  });

  describe("check values computed in the HSM", () => {
    it("gives known AES material the same kcv-aes value as the file vault", async () => {
      expect(await vault.checkValue("tether-test/known/aes-256")).toBe(
        computeCheckValue(KeySpec.SYMMETRIC_DEFAULT, KNOWN_AES),
      );
      expect(await vault.checkValue("tether-test/known/aes-256")).toMatch(/^kcv-aes:[0-9A-F]{6}$/);
    });

    it("gives known HMAC material the same hmac-sha256 value as the file vault", async () => {
      expect(await vault.checkValue("tether-test/known/hmac-256")).toBe(
        computeCheckValue(KeySpec.HMAC_256, KNOWN_HMAC),
      );
    });

    it("fingerprints an EC key by the SHA-256 of its public key, which equals KMS's GetPublicKey", async () => {
      const { checkValue } = await vault.generate("tether-test/ecc/fingerprint", KeySpec.ECC_NIST_P256);
      expect(checkValue).toMatch(/^spki-sha256:[0-9a-f]{64}$/);
      const keyId = await createExternalKey("ECC_NIST_P256", "SIGN_VERIFY");
      await importFromHsm(
        keyId,
        "tether-test/ecc/fingerprint",
        WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_1,
        "RSA_2048",
      );
      const { PublicKey } = await testbed.kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
      expect(
        `spki-sha256:${createHash("sha256")
          .update(PublicKey as Uint8Array)
          .digest("hex")}`,
      ).toBe(checkValue);
    });
  });

  describe("import, lose, restore", () => {
    it.each(["RSA_2048", "RSA_3072", "RSA_4096"] as const)(
      "symmetric material from the HSM with RSAES_OAEP_SHA_1 and an %s wrapping key decrypts old ciphertext after a restore",
      async (wrappingKeySpec) => {
        const ref = `tether-test/symmetric/oaep-sha1-${wrappingKeySpec}`;
        const { checkValue } = await vault.generate(ref, KeySpec.SYMMETRIC_DEFAULT);
        expect(checkValue).toMatch(/^kcv-aes:[0-9A-F]{6}$/);
        const keyId = await createExternalKey("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT");
        await importFromHsm(keyId, ref, WrappingAlgorithm.RSAES_OAEP_SHA_1, wrappingKeySpec);
        expect(await keyState(keyId)).toBe("Enabled");
        const plaintext = randomBytes(48);
        const { CiphertextBlob } = await testbed.kms.send(
          new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }),
        );

        await deleteMaterial(keyId);
        await importFromHsm(keyId, ref, WrappingAlgorithm.RSAES_OAEP_SHA_1, wrappingKeySpec);

        const decrypted = await testbed.kms.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob }));
        expect(Buffer.from(decrypted.Plaintext as Uint8Array).equals(plaintext)).toBe(true);
      },
      SLOW_TEST_MS,
    );

    it("restores bytes first imported by software wrapping from the HSM's copy of them (KMS takes only the same bytes)", async () => {
      const keyId = await createExternalKey("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT");
      await importKeyMaterial(testbed.kms, keyId, KNOWN_AES, { algorithm: "RSAES_OAEP_SHA_256" });
      const plaintext = randomBytes(16);
      const { CiphertextBlob } = await testbed.kms.send(
        new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }),
      );
      await deleteMaterial(keyId);

      await importFromHsm(keyId, "tether-test/known/aes-256", WrappingAlgorithm.RSAES_OAEP_SHA_1, "RSA_2048");

      const decrypted = await testbed.kms.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob }));
      expect(Buffer.from(decrypted.Plaintext as Uint8Array).equals(plaintext)).toBe(true);
    });

    it(
      "HMAC material (a generic secret) verifies an old MAC after a restore, with the file vault's check value scheme",
      async () => {
        const { checkValue } = await vault.generate("tether-test/hmac/256", KeySpec.HMAC_256);
        expect(checkValue).toMatch(/^hmac-sha256:[0-9a-f]{32}$/);
        const keyId = await createExternalKey("HMAC_256", "GENERATE_VERIFY_MAC");
        await importFromHsm(keyId, "tether-test/hmac/256", WrappingAlgorithm.RSAES_OAEP_SHA_1, "RSA_2048");
        const message = randomBytes(40);
        const { Mac } = await testbed.kms.send(
          new GenerateMacCommand({ KeyId: keyId, Message: message, MacAlgorithm: "HMAC_SHA_256" }),
        );
        await deleteMaterial(keyId);
        await importFromHsm(keyId, "tether-test/hmac/256", WrappingAlgorithm.RSAES_OAEP_SHA_1, "RSA_4096");
        const verified = await testbed.kms.send(
          new VerifyMacCommand({ KeyId: keyId, Message: message, Mac, MacAlgorithm: "HMAC_SHA_256" }),
        );
        expect(verified.MacValid).toBe(true);
      },
      SLOW_TEST_MS,
    );

    it.each([
      ["ECC_NIST_P256", "ECDSA_SHA_256", "RSA_2048"],
      ["ECC_NIST_P384", "ECDSA_SHA_384", "RSA_3072"],
      ["RSA_2048", "RSASSA_PSS_SHA_256", "RSA_4096"],
    ] as const)(
      "%s private key generated in the HSM, RSA_AES_KEY_WRAP_SHA_1 (%s, %s wrapping key): signs, and verifies after a restore",
      async (keySpec, signingAlgorithm, wrappingKeySpec) => {
        const ref = `tether-test/asymmetric/${keySpec}`;
        const { checkValue } = await vault.generate(ref, keySpec);
        const keyId = await createExternalKey(keySpec, "SIGN_VERIFY");
        await importFromHsm(keyId, ref, WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_1, wrappingKeySpec);
        expect(await keyState(keyId)).toBe("Enabled");
        const message = randomBytes(64);
        const { Signature } = await testbed.kms.send(
          new SignCommand({
            KeyId: keyId,
            Message: message,
            MessageType: "RAW",
            SigningAlgorithm: signingAlgorithm,
          }),
        );

        await deleteMaterial(keyId);
        await importFromHsm(keyId, ref, WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_1, wrappingKeySpec);

        const verified = await testbed.kms.send(
          new VerifyCommand({
            KeyId: keyId,
            Message: message,
            MessageType: "RAW",
            Signature,
            SigningAlgorithm: signingAlgorithm,
          }),
        );
        expect(verified.SignatureValid).toBe(true);
        // The signature also verifies under the public key whose hash is the HSM's check value.
        const { PublicKey } = await testbed.kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
        expect(
          `spki-sha256:${createHash("sha256")
            .update(PublicKey as Uint8Array)
            .digest("hex")}`,
        ).toBe(checkValue);
        const publicKey = createPublicKey({
          key: Buffer.from(PublicKey as Uint8Array),
          format: "der",
          type: "spki",
        });
        const hash = signingAlgorithm.endsWith("384") ? "sha384" : "sha256";
        const options = keySpec.startsWith("RSA")
          ? { key: publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }
          : { key: publicKey, dsaEncoding: "der" as const };
        expect(verify(hash, message, options, Signature as Uint8Array)).toBe(true);
      },
      SLOW_TEST_MS,
    );
  });

  describe("refusals", () => {
    it("refuses RSAES_OAEP_SHA_256 on SoftHSM, naming what it can do, before touching KMS's import", async () => {
      await vault.generate("tether-test/refusal/oaep-256", KeySpec.SYMMETRIC_DEFAULT);
      const keyId = await createExternalKey("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT");
      const parameters = await testbed.kms.send(
        new GetParametersForImportCommand({
          KeyId: keyId,
          WrappingAlgorithm: "RSAES_OAEP_SHA_256",
          WrappingKeySpec: "RSA_2048",
        }),
      );
      const refused = vault.wrap(
        "tether-test/refusal/oaep-256",
        parameters.PublicKey as Uint8Array,
        "RSAES_OAEP_SHA_256",
      );
      await expect(refused).rejects.toBeInstanceOf(UnsupportedWrappingError);
      await expect(refused).rejects.toThrow(
        /cannot wrap SYMMETRIC_DEFAULT material with RSAES_OAEP_SHA_256: the token does not do RSA-OAEP with SHA-256; it can do RSAES_OAEP_SHA_1/,
      );
      expect(await keyState(keyId)).toBe("PendingImport");
    });

    it("refuses RSA_AES_KEY_WRAP_SHA_256 for an EC key and RSAES_OAEP_SHA_1 for a private key", async () => {
      await vault.generate("tether-test/refusal/ecc", KeySpec.ECC_NIST_P256);
      const keyId = await createExternalKey("ECC_NIST_P256", "SIGN_VERIFY");
      const sha256 = await testbed.kms.send(
        new GetParametersForImportCommand({
          KeyId: keyId,
          WrappingAlgorithm: "RSA_AES_KEY_WRAP_SHA_256",
          WrappingKeySpec: "RSA_2048",
        }),
      );
      await expect(
        vault.wrap("tether-test/refusal/ecc", sha256.PublicKey as Uint8Array, "RSA_AES_KEY_WRAP_SHA_256"),
      ).rejects.toThrow(/RSA_AES_KEY_WRAP_SHA_256.*it can do RSA_AES_KEY_WRAP_SHA_1/);
      await expect(
        vault.wrap("tether-test/refusal/ecc", sha256.PublicKey as Uint8Array, "RSAES_OAEP_SHA_1"),
      ).rejects.toThrow(/PKCS#11 RSA-OAEP wraps secret keys only/);
    });

    it("never overwrites: generate refuses an existing label", async () => {
      await vault.generate("tether-test/refusal/twice", KeySpec.SYMMETRIC_DEFAULT);
      await expect(
        vault.generate("tether-test/refusal/twice", KeySpec.SYMMETRIC_DEFAULT),
      ).rejects.toBeInstanceOf(MaterialAlreadyExistsError);
      await expect(vault.generate("tether-test/refusal/twice", KeySpec.ECC_NIST_P256)).rejects.toBeInstanceOf(
        MaterialAlreadyExistsError,
      );
      expect(await vault.has("tether-test/refusal/twice")).toBe(true);
    });

    it("reports missing material and malformed references", async () => {
      expect(await vault.has("tether-test/nothing/here")).toBe(false);
      await expect(vault.checkValue("tether-test/nothing/here")).rejects.toBeInstanceOf(
        MaterialNotFoundError,
      );
      await expect(vault.generate("../escape", KeySpec.SYMMETRIC_DEFAULT)).rejects.toBeInstanceOf(
        InvalidMaterialRefError,
      );
    });

    it("serves more callers than the pool has sessions, each with a session of its own", async () => {
      const values = await Promise.all(
        Array.from({ length: 6 }, () => vault.checkValue("tether-test/known/aes-256")),
      );
      expect(new Set(values)).toEqual(new Set([computeCheckValue(KeySpec.SYMMETRIC_DEFAULT, KNOWN_AES)]));
    });
  });

  describe("the deployment's label prefix", () => {
    it("refuses a reference outside it, though the token holds that key", async () => {
      const outside = "payments/aes-256";
      const p = await testbed.kms.send(
        new GetParametersForImportCommand({
          KeyId: await createExternalKey("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"),
          WrappingAlgorithm: "RSAES_OAEP_SHA_1",
          WrappingKeySpec: "RSA_2048",
        }),
      );
      const calls = [
        vault.has(outside),
        vault.checkValue(outside),
        vault.wrap(outside, p.PublicKey as Uint8Array, "RSAES_OAEP_SHA_1"),
        vault.generate("payments/new-key", KeySpec.SYMMETRIC_DEFAULT),
        // A look-alike that only starts with the prefix's text without its "/".
        vault.has("tether-testing/known/aes-256"),
      ];
      for (const call of calls) {
        const error = await call.then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(InvalidMaterialRefError);
        expect((error as Error).message).toMatch(/outside this deployment's label prefix "tether-test\/"/);
      }
    });

    it("takes a cka-id/ reference only to an object labelled under it", async () => {
      expect(await vault.checkValue("cka-id/0c0d")).toBe(
        computeCheckValue(KeySpec.SYMMETRIC_DEFAULT, KNOWN_AES),
      );
      await expect(vault.has("cka-id/0a0b")).rejects.toThrow(InvalidMaterialRefError);
      await expect(vault.checkValue("cka-id/0a0b")).rejects.toThrow(/labelled outside/);
      await expect(vault.generate("cka-id/0e0f", KeySpec.SYMMETRIC_DEFAULT)).rejects.toThrow(
        InvalidMaterialRefError,
      );
    });
  });

  describe("configuration and PIN", () => {
    it("is locked without a PIN source, naming the variables", () => {
      const env = hsm.env(OTHER_TOKEN);
      delete env.TETHER_PKCS11_PIN_FILE;
      expect(() => pkcs11VaultFromEnv(env)).toThrow(VaultLockedError);
      expect(() => pkcs11VaultFromEnv(env)).toThrow(/TETHER_PKCS11_PIN_FILE.*TETHER_PKCS11_PIN_SECRET_ENV/);
    });

    it("is locked when the variable named by TETHER_PKCS11_PIN_SECRET_ENV is unset, naming it", () => {
      const env = { ...hsm.env(OTHER_TOKEN), TETHER_PKCS11_PIN_SECRET_ENV: "HSM_USER_PIN" };
      delete (env as Record<string, string | undefined>).TETHER_PKCS11_PIN_FILE;
      expect(() => pkcs11VaultFromEnv(env)).toThrow(VaultLockedError);
      expect(() => pkcs11VaultFromEnv(env)).toThrow(/HSM_USER_PIN \(named by TETHER_PKCS11_PIN_SECRET_ENV\)/);
    });

    it("requires the deployment's label prefix, and a well-formed one", () => {
      const env: Record<string, string | undefined> = { ...hsm.env(OTHER_TOKEN) };
      delete env.TETHER_PKCS11_LABEL_PREFIX;
      expect(() => pkcs11VaultFromEnv(env)).toThrow(/TETHER_PKCS11_LABEL_PREFIX is not set/);
      for (const prefix of ["/abs", "a..b/", "has space/", "*"]) {
        expect(() => pkcs11VaultFromEnv({ ...env, TETHER_PKCS11_LABEL_PREFIX: prefix })).toThrow(
          /TETHER_PKCS11_LABEL_PREFIX must start with a letter or digit/,
        );
      }
    });

    it("names the missing library and token settings", () => {
      expect(() => pkcs11VaultFromEnv({ TETHER_PKCS11_TOKEN_LABEL: TOKEN })).toThrow(/TETHER_PKCS11_LIBRARY/);
      expect(() => pkcs11VaultFromEnv({ TETHER_PKCS11_LIBRARY: SOFTHSM_LIBRARY })).toThrow(
        /TETHER_PKCS11_TOKEN_LABEL \(or TETHER_PKCS11_SLOT\)/,
      );
      expect(() => pkcs11VaultFromEnv({ ...hsm.env(TOKEN), TETHER_PKCS11_SESSION_POOL: "0" })).toThrow(
        /TETHER_PKCS11_SESSION_POOL/,
      );
    });

    it("fails to log in with a wrong PIN with a VaultError that does not carry the PIN", async () => {
      const wrongPin = "98765431";
      const env = {
        TETHER_PKCS11_LIBRARY: SOFTHSM_LIBRARY,
        TETHER_PKCS11_SLOT: String(hsm.slots.get(OTHER_TOKEN)),
        TETHER_PKCS11_PIN_SECRET_ENV: "HSM_USER_PIN",
        TETHER_PKCS11_LABEL_PREFIX: "tether-test/",
        HSM_USER_PIN: wrongPin,
      };
      const wrong = pkcs11VaultFromEnv(env);
      try {
        const error = await wrong.has("tether-test/anything").then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(VaultError);
        expect((error as Error).message).toMatch(/C_Login as the user failed with CKR_PIN_INCORRECT/);
        expect(
          JSON.stringify({ message: (error as Error).message, stack: (error as Error).stack }),
        ).not.toContain(wrongPin);
      } finally {
        await wrong.close();
      }
      // The right PIN through the slot ID and the named variable opens the same token.
      const right = pkcs11VaultFromEnv({ ...env, HSM_USER_PIN: USER_PIN });
      try {
        expect(await right.has("tether-test/anything")).toBe(false);
      } finally {
        await right.close();
      }
    });
  });
});
