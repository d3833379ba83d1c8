/**
 * Imported key material: checking it against the key spec, and naming it (KeyMaterialId).
 */
import { createHmac, createPrivateKey, type KeyObject } from "node:crypto";
import { KmsErrorType, kmsError } from "../errors.js";
import { type KeySpec, SPEC_INFO } from "./key-specs.js";

/**
 * KeyMaterialId of `material` in key `keyId`. AWS documents only that the id is computed "based on
 * the KMS key ID and the imported key material"
 * (https://docs.aws.amazon.com/kms/latest/APIReference/API_ImportKeyMaterial.html#KMS-ImportKeyMaterial-request-KeyMaterialId);
 * its function is not published. Here: HMAC-SHA-256 keyed with the material over the key id, hex.
 * Related multi-Region keys share the key id, so the primary and its replicas agree on the id of the
 * same bytes, while the same bytes in an unrelated key get another id. It reveals nothing of the bytes.
 */
export function keyMaterialId(keyId: string, material: Buffer): string {
  return createHmac("sha256", material).update(`kms-key-material-id:${keyId}`).digest("hex");
}

/** Rejects material of the wrong shape as IncorrectKeyMaterialException ("invalid"), never echoing it. */
function invalid(reason: string): never {
  throw kmsError(
    KmsErrorType.IncorrectKeyMaterial,
    `The key material is not valid for this KMS key: ${reason}.`,
  );
}

/**
 * Checks material against the key spec: 32 bytes for SYMMETRIC_DEFAULT; the spec's length range for
 * HMAC; a PKCS#8 DER private key of the right type and size (RSA) or curve (ECC).
 * @throws KmsApiError IncorrectKeyMaterialException when it does not fit.
 */
export function checkMaterial(spec: KeySpec, material: Buffer): void {
  const info = SPEC_INFO[spec];
  if (spec === "SYMMETRIC_DEFAULT") {
    if (material.length !== 32) invalid("symmetric key material must be exactly 256 bits (32 bytes)");
    return;
  }
  if (info.hmac) {
    if (material.length < info.hmac.minBytes || material.length > info.hmac.maxBytes) {
      invalid(`${spec} key material must be ${info.hmac.minBytes} to ${info.hmac.maxBytes} bytes`);
    }
    return;
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: material, format: "der", type: "pkcs8" });
  } catch (cause) {
    throw kmsError(
      KmsErrorType.IncorrectKeyMaterial,
      "The key material is not valid for this KMS key: asymmetric key material must be a PKCS #8 DER private key.",
      { cause },
    );
  }
  const details = key.asymmetricKeyDetails;
  if (info.rsaBits) {
    if (key.asymmetricKeyType !== "rsa" || details?.modulusLength !== info.rsaBits) {
      invalid(`${spec} key material must be an RSA private key of ${info.rsaBits} bits`);
    }
    return;
  }
  if (info.curve) {
    if (key.asymmetricKeyType !== "ec" || details?.namedCurve !== info.curve.name) {
      invalid(`${spec} key material must be an EC private key on curve ${info.curve.name}`);
    }
  }
}
