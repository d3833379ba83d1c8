/**
 * GetParametersForImport: https://docs.aws.amazon.com/kms/latest/APIReference/API_GetParametersForImport.html
 *
 * Each call gets its own RSA wrapping key pair and an import token bound to that pair and that key,
 * valid for 24 hours. Earlier parameters stay usable after a new call: AWS documents each "public key
 * and import token set" as "permanently linked" and "valid for 24 hours", with no word of a newer
 * request revoking older sets (same page, and
 * https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-get-public-key-and-token.html),
 * so the emulator never invalidates a set before its ParametersValidTo. Mixing one call's token with
 * another call's public key fails at unwrap (InvalidCiphertextException).
 *
 * Wrappings AWS documents as unfit for the KMS key's spec are refused here, where that spec is known
 * (see `wrappingRefusal`).
 */
import { randomBytes } from "node:crypto";
import type { KmsOperation } from "../context.js";
import { sealImportToken } from "../domain/import-token.js";
import {
  type KeySpec,
  SPEC_INFO,
  WRAPPING_ALGORITHMS,
  WRAPPING_KEY_SPECS,
  type WrappingAlgorithm,
  type WrappingKeySpec,
} from "../domain/key-specs.js";
import { KmsErrorType, kmsError } from "../errors.js";
import {
  base64,
  epochSeconds,
  KEY_ID_CONSTRAINT,
  requireExternal,
  requireNotPendingDeletion,
} from "./shared.js";

export const IMPORT_PARAMETERS_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Why AWS does not accept `algorithm` / `wrappingSpec` for a KMS key of `keySpec`, or undefined.
 * Source: the WrappingAlgorithm parameter of
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GetParametersForImport.html —
 * "RSA_AES_KEY_WRAP_SHA_256 — Supported for wrapping RSA and ECC key material" (the same for _SHA_1),
 * and "You cannot use the RSAES_OAEP_SHA_256 wrapping algorithm with the RSA_2048 wrapping key spec to
 * wrap ECC_NIST_P521 key material" (the same for _SHA_1; also in the note of
 * https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-encrypt-key-material.html).
 * AWS does not document which error it answers for these cases, nor whether it answers at
 * GetParametersForImport or only at ImportKeyMaterial. The emulator refuses here, early, with
 * ValidationException: an emulator that refuses too much fails a test that AWS would pass, never the
 * reverse. Both are refused here rather than at import because the KMS key's spec is known now, and a
 * caller told "InvalidCiphertextException" at import would fetch fresh parameters and retry for ever.
 */
function wrappingRefusal(
  keySpec: KeySpec,
  algorithm: WrappingAlgorithm,
  wrappingSpec: WrappingKeySpec,
): string | undefined {
  const info = SPEC_INFO[keySpec];
  const rsaAes = algorithm === "RSA_AES_KEY_WRAP_SHA_1" || algorithm === "RSA_AES_KEY_WRAP_SHA_256";
  if (rsaAes && info.rsaBits === undefined && info.curve === undefined) {
    return `The ${algorithm} wrapping algorithm is not supported for KMS keys with key spec ${keySpec}. RSA_AES_KEY_WRAP_SHA_1 and RSA_AES_KEY_WRAP_SHA_256 wrap RSA and ECC key material only; use RSAES_OAEP_SHA_256 or RSAES_OAEP_SHA_1.`;
  }
  if (!rsaAes && keySpec === "ECC_NIST_P521" && wrappingSpec === "RSA_2048") {
    return `The ${algorithm} wrapping algorithm with the RSA_2048 wrapping key spec cannot wrap ECC_NIST_P521 key material. Use the RSA_3072 or RSA_4096 wrapping key spec, or an RSA_AES_KEY_WRAP wrapping algorithm.`;
  }
  return undefined;
}

export const getParametersForImport: KmsOperation = {
  mutates: false,
  async handle(ctx, input) {
    const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
    const algorithm = input.enumOf("WrappingAlgorithm", WRAPPING_ALGORITHMS, { required: true });
    const spec = input.enumOf("WrappingKeySpec", WRAPPING_KEY_SPECS, { required: true });
    input.done();
    if (algorithm === "RSAES_PKCS1_V1_5") {
      // "As of October 10, 2023, KMS does not support the RSAES_PKCS1_V1_5 wrapping algorithm."
      // (GetParametersForImport, WrappingAlgorithm). The value is still in the API's enum, so the refusal
      // is a ValidationException from the service rather than an enum error.
      throw kmsError(
        KmsErrorType.Validation,
        "The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported. Use RSAES_OAEP_SHA_1, RSAES_OAEP_SHA_256, RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256.",
      );
    }
    if (algorithm === "SM2PKE" || spec === "SM2") {
      throw kmsError(KmsErrorType.Validation, "SM2 wrapping is supported only in China Regions.");
    }
    const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: false });
    requireExternal(key);
    requireNotPendingDeletion(key);

    const wrappingSpec = spec ?? "RSA_2048";
    const refusal = wrappingRefusal(key.keySpec, algorithm ?? "RSAES_OAEP_SHA_256", wrappingSpec);
    if (refusal !== undefined) throw kmsError(KmsErrorType.Validation, refusal);
    const pair = await ctx.pool.take(wrappingSpec);
    const issuedAt = ctx.clock.now();
    const token = sealImportToken(ctx.store.tokenSecret, {
      keyId: key.keyId,
      region: key.region,
      accountId: key.accountId,
      wrappingAlgorithm: algorithm ?? "RSAES_OAEP_SHA_256",
      wrappingKeySpec: wrappingSpec,
      issuedAt,
      nonce: randomBytes(16).toString("hex"),
      generation: ctx.store.tokenGeneration(key.region),
      privateKey: pair.privateKeyDer.toString("base64"),
    });
    return {
      KeyId: key.arn,
      ImportToken: base64(token),
      PublicKey: base64(pair.publicKeyDer),
      ParametersValidTo: epochSeconds(issuedAt + IMPORT_PARAMETERS_TTL_MS),
    };
  },
};
