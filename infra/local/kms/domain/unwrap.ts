/**
 * Unwrapping of imported key material, as KMS does it
 * (https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-get-public-key-and-token.html#select-wrapping-algorithm):
 * - RSAES_OAEP_SHA_1 / _256: RSA-OAEP with MGF1 of the same hash, over the material itself;
 * - RSA_AES_KEY_WRAP_SHA_1 / _256: RSA-OAEP (that hash) of a fresh AES-256 key, followed by the
 *   material wrapped under it with AES key wrap with padding (RFC 5649), concatenated in that order.
 */
import { constants, createDecipheriv, createPrivateKey, privateDecrypt } from "node:crypto";
import { KmsErrorType, kmsError } from "../errors.js";
import type { WrappingAlgorithm } from "./key-specs.js";

/** RFC 5649's alternative initial value, as OpenSSL's id-aes256-wrap-pad expects it. */
const RFC5649_IV = Buffer.from("A65959A6", "hex");

function cannotUnwrap(cause?: unknown): Error {
  // AWS answers an unwrap failure with InvalidCiphertextException and an empty message.
  return kmsError(KmsErrorType.InvalidCiphertext, "", cause ? { cause } : undefined);
}

/**
 * @param privateKeyDer PKCS#8 DER of the wrapping private key named by the import token.
 * @throws KmsApiError InvalidCiphertextException when the material was not wrapped with this pair
 *   and this algorithm.
 */
export function unwrapKeyMaterial(
  algorithm: WrappingAlgorithm,
  privateKeyDer: Buffer,
  wrapped: Buffer,
): Buffer {
  const key = createPrivateKey({ key: privateKeyDer, format: "der", type: "pkcs8" });
  const modulusBytes = (key.asymmetricKeyDetails?.modulusLength ?? 0) / 8;
  const oaep = (hash: string, data: Buffer) =>
    privateDecrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, data);
  try {
    switch (algorithm) {
      case "RSAES_OAEP_SHA_1":
        return oaep("sha1", wrapped);
      case "RSAES_OAEP_SHA_256":
        return oaep("sha256", wrapped);
      case "RSA_AES_KEY_WRAP_SHA_1":
      case "RSA_AES_KEY_WRAP_SHA_256": {
        if (wrapped.length <= modulusBytes) throw cannotUnwrap();
        const hash = algorithm === "RSA_AES_KEY_WRAP_SHA_1" ? "sha1" : "sha256";
        const aesKey = oaep(hash, wrapped.subarray(0, modulusBytes));
        if (aesKey.length !== 32) throw cannotUnwrap();
        const decipher = createDecipheriv("id-aes256-wrap-pad", aesKey, RFC5649_IV);
        return Buffer.concat([decipher.update(wrapped.subarray(modulusBytes)), decipher.final()]);
      }
      default:
        throw cannotUnwrap();
    }
  } catch (cause) {
    if (cause instanceof Error && cause.name === "KmsApiError") throw cause;
    throw cannotUnwrap(cause);
  }
}
