/**
 * Encrypt, Decrypt, GenerateDataKey, GenerateDataKeyWithoutPlaintext:
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_Encrypt.html
 * Symmetric ciphertexts name their key and material (see domain/ciphertext.ts); RSA keys encrypt
 * with RSAES_OAEP_SHA_1/256.
 */
import { constants, createPrivateKey, privateDecrypt, publicEncrypt, randomBytes } from "node:crypto";
import type { KmsContext, KmsOperation } from "../context.js";
import { decryptBlob, encryptBlob, readBlobHeader } from "../domain/ciphertext.js";
import { ENCRYPTION_ALGORITHMS, type EncryptionAlgorithm, SPEC_INFO } from "../domain/key-specs.js";
import { currentMaterial, type KeyRecord } from "../domain/model.js";
import { KmsErrorType, kmsError } from "../errors.js";
import type { RequestReader } from "../validation.js";
import { base64, KEY_ID_CONSTRAINT, requireEnabled, requireUsage } from "./shared.js";

function materialBytes(key: KeyRecord): Buffer {
  const current = currentMaterial(key);
  if (!current?.bytes) throw kmsError(KmsErrorType.KmsInvalidState, `${key.arn} is pending import.`);
  return Buffer.from(current.bytes, "base64");
}

function checkAlgorithm(key: KeyRecord, algorithm: EncryptionAlgorithm): void {
  const symmetric = key.keySpec === "SYMMETRIC_DEFAULT";
  if (symmetric !== (algorithm === "SYMMETRIC_DEFAULT")) {
    throw kmsError(
      KmsErrorType.InvalidKeyUsage,
      `Algorithm ${algorithm} is incompatible with key spec ${key.keySpec}.`,
    );
  }
}

function oaepHash(algorithm: EncryptionAlgorithm): string {
  return algorithm === "RSAES_OAEP_SHA_1" ? "sha1" : "sha256";
}

function encryptWith(
  key: KeyRecord,
  algorithm: EncryptionAlgorithm,
  plaintext: Buffer,
  context?: Record<string, string>,
) {
  const material = materialBytes(key);
  if (algorithm === "SYMMETRIC_DEFAULT") {
    const current = currentMaterial(key);
    return encryptBlob({ keyId: key.keyId, materialId: current?.id ?? "" }, material, plaintext, context);
  }
  const bits = SPEC_INFO[key.keySpec].rsaBits ?? 2048;
  const max = bits / 8 - 2 * (algorithm === "RSAES_OAEP_SHA_1" ? 20 : 32) - 2;
  if (plaintext.length > max) {
    throw kmsError(
      KmsErrorType.Validation,
      `Algorithm ${algorithm} and key spec ${key.keySpec} cannot encrypt data larger than ${max} bytes.`,
    );
  }
  const privateKey = createPrivateKey({ key: material, format: "der", type: "pkcs8" });
  return publicEncrypt(
    { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaepHash(algorithm) },
    plaintext,
  );
}

export const encrypt: KmsOperation = {
  mutates: false,
  handle(ctx, input) {
    const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
    const plaintext = input.blob("Plaintext", { required: true, min: 1, max: 4096 });
    const context = input.stringMap("EncryptionContext");
    const algorithm = input.enumOf("EncryptionAlgorithm", ENCRYPTION_ALGORITHMS) ?? "SYMMETRIC_DEFAULT";
    input.list("GrantTokens");
    input.bool("DryRun");
    input.done();
    const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: true });
    requireEnabled(key);
    requireUsage(key, "ENCRYPT_DECRYPT", "Encrypt");
    checkAlgorithm(key, algorithm);
    const blob = encryptWith(key, algorithm, plaintext ?? Buffer.alloc(0), context);
    return { CiphertextBlob: base64(blob), KeyId: key.arn, EncryptionAlgorithm: algorithm };
  },
};

function resolveForDecrypt(
  ctx: KmsContext,
  keyIdParam: string | undefined,
  blob: Buffer,
  algorithm: EncryptionAlgorithm,
) {
  const requested = keyIdParam
    ? ctx.store.resolveKey(ctx.region, keyIdParam, { allowAlias: true })
    : undefined;
  if (algorithm !== "SYMMETRIC_DEFAULT") {
    if (!requested) {
      throw kmsError(KmsErrorType.Validation, "KeyId is required for decryption with an asymmetric KMS key.");
    }
    return { key: requested, header: undefined };
  }
  const header = readBlobHeader(blob);
  if (requested && requested.keyId !== header.keyId) {
    throw kmsError(
      KmsErrorType.IncorrectKey,
      "The key ID in the request does not identify a CMK that can perform this operation.",
    );
  }
  const key = requested ?? ctx.store.findKey(ctx.region, header.keyId);
  if (!key) {
    throw kmsError(
      KmsErrorType.NotFound,
      `Key 'arn:aws:kms:${ctx.region}:${ctx.accountId}:key/${header.keyId}' does not exist`,
    );
  }
  return { key, header };
}

export const decrypt: KmsOperation = {
  mutates: false,
  handle(ctx, input) {
    const blob = input.blob("CiphertextBlob", { required: true, min: 1, max: 6144 }) ?? Buffer.alloc(0);
    const context = input.stringMap("EncryptionContext");
    const keyIdParam = input.string("KeyId", { min: 1, max: 2048 });
    const algorithm = input.enumOf("EncryptionAlgorithm", ENCRYPTION_ALGORITHMS) ?? "SYMMETRIC_DEFAULT";
    input.list("GrantTokens");
    input.bool("DryRun");
    input.done();
    const { key, header } = resolveForDecrypt(ctx, keyIdParam, blob, algorithm);
    requireEnabled(key);
    requireUsage(key, "ENCRYPT_DECRYPT", "Decrypt");
    checkAlgorithm(key, algorithm);
    let plaintext: Buffer;
    if (header) {
      const material = key.materials.find((m) => m.id === header.materialId);
      if (!material?.bytes) throw kmsError(KmsErrorType.InvalidCiphertext, "");
      plaintext = decryptBlob(blob, Buffer.from(material.bytes, "base64"), context);
    } else {
      try {
        const privateKey = createPrivateKey({ key: materialBytes(key), format: "der", type: "pkcs8" });
        plaintext = privateDecrypt(
          { key: privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: oaepHash(algorithm) },
          blob,
        );
      } catch (cause) {
        throw kmsError(KmsErrorType.InvalidCiphertext, "", { cause });
      }
    }
    return { KeyId: key.arn, Plaintext: base64(plaintext), EncryptionAlgorithm: algorithm };
  },
};

function generateDataKey(ctx: KmsContext, input: RequestReader, withPlaintext: boolean): object {
  const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
  const context = input.stringMap("EncryptionContext");
  const numberOfBytes = input.int("NumberOfBytes", { min: 1, max: 1024 });
  const keySpec = input.enumOf("KeySpec", ["AES_256", "AES_128"] as const);
  input.list("GrantTokens");
  input.bool("DryRun");
  input.done();
  if ((numberOfBytes === undefined) === (keySpec === undefined)) {
    throw kmsError(KmsErrorType.Validation, "Please specify either number of bytes or key spec.");
  }
  const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: true });
  requireEnabled(key);
  requireUsage(key, "ENCRYPT_DECRYPT", withPlaintext ? "GenerateDataKey" : "GenerateDataKeyWithoutPlaintext");
  checkAlgorithm(key, "SYMMETRIC_DEFAULT");
  const plaintext = randomBytes(numberOfBytes ?? (keySpec === "AES_128" ? 16 : 32));
  const blob = encryptWith(key, "SYMMETRIC_DEFAULT", plaintext, context);
  return {
    CiphertextBlob: base64(blob),
    ...(withPlaintext ? { Plaintext: base64(plaintext) } : {}),
    KeyId: key.arn,
  };
}

export const generateDataKeyOp: KmsOperation = {
  mutates: false,
  handle: (ctx, input) => generateDataKey(ctx, input, true),
};
export const generateDataKeyWithoutPlaintext: KmsOperation = {
  mutates: false,
  handle: (ctx, input) => generateDataKey(ctx, input, false),
};
