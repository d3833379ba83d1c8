/**
 * Wraps key material for ImportKeyMaterial the way a customer does it (AWS's documented recipes,
 * https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys-encrypt-key-material.html),
 * with Node's crypto only. Reusable by any test that imports material.
 */
import { constants, createCipheriv, createPublicKey, publicEncrypt, randomBytes } from "node:crypto";

export type KmsWrappingAlgorithm =
  | "RSAES_OAEP_SHA_1"
  | "RSAES_OAEP_SHA_256"
  | "RSA_AES_KEY_WRAP_SHA_1"
  | "RSA_AES_KEY_WRAP_SHA_256";

/** RFC 5649 alternative initial value for AES key wrap with padding. */
const RFC5649_IV = Buffer.from("A65959A6", "hex");

/**
 * Encrypts `material` under the GetParametersForImport public key (DER SubjectPublicKeyInfo):
 * RSAES_OAEP_* = RSA-OAEP (MGF1 with the same hash) of the material; RSA_AES_KEY_WRAP_* = RSA-OAEP of
 * a fresh AES-256 key followed by the material wrapped under it with AES key wrap with padding (RFC 5649).
 */
export function wrapKeyMaterial(
  material: Buffer,
  publicKeyDer: Uint8Array,
  algorithm: KmsWrappingAlgorithm,
): Buffer {
  const key = createPublicKey({ key: Buffer.from(publicKeyDer), format: "der", type: "spki" });
  const hash = algorithm.endsWith("SHA_1") ? "sha1" : "sha256";
  const oaep = (data: Buffer) =>
    publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, data);
  if (algorithm === "RSAES_OAEP_SHA_1" || algorithm === "RSAES_OAEP_SHA_256") return oaep(material);
  const aesKey = randomBytes(32);
  try {
    const cipher = createCipheriv("id-aes256-wrap-pad", aesKey, RFC5649_IV);
    const wrappedMaterial = Buffer.concat([cipher.update(material), cipher.final()]);
    return Buffer.concat([oaep(aesKey), wrappedMaterial]);
  } finally {
    aesKey.fill(0);
  }
}
