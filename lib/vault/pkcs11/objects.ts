import { createPublicKey } from "node:crypto";
import pkcs11js from "pkcs11js";
import { KeySpec } from "../../domain/kms-constants.js";
import { InvalidMaterialError, VaultError } from "../errors.js";
import { HMAC_KEY_LENGTHS } from "../material.js";

type Handle = Buffer;

/**
 * Finding the material's token object and telling what it is. A material reference is the object's
 * CKA_LABEL; a reference of the form `cka-id/<hex>` names the object by CKA_ID instead (for keys made by
 * the customer's own ceremony tools that carry an ID but no usable label).
 */
const CKA_ID_PREFIX = "cka-id/";

/** DER of the named-curve OIDs (CKA_EC_PARAMS) for the curves KMS imports, and their JWK names. */
export const EC_CURVE_PARAMS = {
  ECC_NIST_P256: { oid: "06082a8648ce3d030107", jwk: "P-256", pointBytes: 65 },
  ECC_NIST_P384: { oid: "06052b81040022", jwk: "P-384", pointBytes: 97 },
  ECC_NIST_P521: { oid: "06052b81040023", jwk: "P-521", pointBytes: 133 },
  ECC_SECG_P256K1: { oid: "06052b8104000a", jwk: "secp256k1", pointBytes: 65 },
} as const;
type EcKeySpec = keyof typeof EC_CURVE_PARAMS;

/** Whether a reference names its object by CKA_ID (`cka-id/<hex>`) rather than by label. */
export function isCkaIdRef(materialRef: string): boolean {
  return materialRef.startsWith(CKA_ID_PREFIX);
}

/** An object's CKA_LABEL (empty when it has none). */
export function labelOf(module: pkcs11js.PKCS11, session: Handle, handle: Handle): string {
  const [attribute] = module.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_LABEL }]);
  return (attribute?.value as Buffer | undefined)?.toString("utf8") ?? "";
}

/** The search template that finds a reference's objects. */
export function locator(materialRef: string): pkcs11js.Template {
  if (materialRef.startsWith(CKA_ID_PREFIX)) {
    const hex = materialRef.slice(CKA_ID_PREFIX.length);
    if (!/^([0-9a-fA-F]{2})+$/.test(hex)) {
      throw new VaultError(
        `PKCS#11: "${materialRef}" must be ${CKA_ID_PREFIX} followed by an even number of hex digits.`,
      );
    }
    return [{ type: pkcs11js.CKA_ID, value: Buffer.from(hex, "hex") }];
  }
  return [{ type: pkcs11js.CKA_LABEL, value: materialRef }];
}

/** Every object matching the template (at most `limit`). */
export function findObjects(
  module: pkcs11js.PKCS11,
  session: Handle,
  template: pkcs11js.Template,
  limit = 16,
): Handle[] {
  module.C_FindObjectsInit(session, template);
  try {
    return module.C_FindObjects(session, limit);
  } finally {
    module.C_FindObjectsFinal(session);
  }
}

/** A material object: the secret or private key a reference names, with what KMS would call its key spec. */
export interface MaterialObject {
  readonly handle: Handle;
  readonly keySpec: KeySpec;
  /** Bytes of a secret key's value (its length, not the value); undefined for private keys. */
  readonly secretLength: number | undefined;
}

function ulong(value: Buffer): number {
  return value.length >= 8 ? Number(value.readBigUInt64LE(0)) : value.readUInt32LE(0);
}

/**
 * The secret or private key the reference names, or undefined.
 * @throws VaultError when the reference names several keys
 * @throws InvalidMaterialError when the key is of a kind KMS cannot import
 */
export function findMaterial(
  module: pkcs11js.PKCS11,
  session: Handle,
  materialRef: string,
): MaterialObject | undefined {
  const where = locator(materialRef);
  const secret = findObjects(module, session, [
    ...where,
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
  ]);
  const privateKeys = findObjects(module, session, [
    ...where,
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY },
  ]);
  const found = [...secret, ...privateKeys];
  if (found.length === 0) return undefined;
  if (found.length > 1) {
    throw new VaultError(
      `PKCS#11: "${materialRef}" names ${found.length} keys on the token; it must name one.`,
    );
  }
  const handle = found[0] as Handle;
  return secret.length === 1
    ? describeSecret(module, session, handle, materialRef)
    : describePrivate(module, session, handle, materialRef);
}

function describeSecret(
  module: pkcs11js.PKCS11,
  session: Handle,
  handle: Handle,
  materialRef: string,
): MaterialObject {
  const [keyType, valueLen] = module
    .C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_KEY_TYPE }, { type: pkcs11js.CKA_VALUE_LEN }])
    .map((a) => ulong(a.value as Buffer)) as [number, number];
  if (keyType === pkcs11js.CKK_AES && valueLen === 32) {
    return { handle, keySpec: KeySpec.SYMMETRIC_DEFAULT, secretLength: valueLen };
  }
  if (keyType === pkcs11js.CKK_GENERIC_SECRET) {
    const spec = hmacSpecForLength(valueLen);
    if (spec !== undefined) return { handle, keySpec: spec, secretLength: valueLen };
  }
  throw new InvalidMaterialError(
    `PKCS#11: "${materialRef}" is a secret key KMS cannot import (key type 0x${keyType.toString(16)}, ${valueLen} bytes); KMS takes AES-256 or HMAC keys of 28 to 128 bytes.`,
    { materialRef },
  );
}

/**
 * The HMAC key spec of a generic secret: the one whose generated length it is, else the first whose
 * accepted range holds it. Every HMAC spec wraps the same way, so an ambiguous length is harmless here.
 */
function hmacSpecForLength(length: number): KeySpec | undefined {
  const entries = Object.entries(HMAC_KEY_LENGTHS) as [
    KeySpec,
    { min: number; max: number; generated: number },
  ][];
  return (
    entries.find(([, l]) => l.generated === length)?.[0] ??
    entries.find(([, l]) => length >= l.min && length <= l.max)?.[0]
  );
}

function describePrivate(
  module: pkcs11js.PKCS11,
  session: Handle,
  handle: Handle,
  materialRef: string,
): MaterialObject {
  const [keyTypeAttr] = module.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_KEY_TYPE }]);
  const keyType = ulong(keyTypeAttr?.value as Buffer);
  if (keyType === pkcs11js.CKK_RSA) {
    const [modulus] = module.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_MODULUS }]);
    const bits = ((modulus?.value as Buffer | undefined)?.length ?? 0) * 8;
    const spec = (
      { 2048: KeySpec.RSA_2048, 3072: KeySpec.RSA_3072, 4096: KeySpec.RSA_4096 } as Record<number, KeySpec>
    )[bits];
    if (spec !== undefined) return { handle, keySpec: spec, secretLength: undefined };
    throw new InvalidMaterialError(
      `PKCS#11: "${materialRef}" is an RSA key of ${bits} bits; KMS takes 2048, 3072 or 4096.`,
      { materialRef },
    );
  }
  if (keyType === pkcs11js.CKK_EC) {
    const [params] = module.C_GetAttributeValue(session, handle, [{ type: pkcs11js.CKA_EC_PARAMS }]);
    const spec = ecKeySpec(params?.value as Buffer);
    if (spec !== undefined) return { handle, keySpec: spec, secretLength: undefined };
    throw new InvalidMaterialError(`PKCS#11: "${materialRef}" is an EC key on a curve KMS does not import.`, {
      materialRef,
    });
  }
  throw new InvalidMaterialError(
    `PKCS#11: "${materialRef}" is a private key of a type KMS cannot import (0x${keyType.toString(16)}).`,
    { materialRef },
  );
}

function ecKeySpec(params: Buffer): EcKeySpec | undefined {
  const hex = params.toString("hex");
  return (Object.entries(EC_CURVE_PARAMS) as [EcKeySpec, { oid: string }][]).find(
    ([, c]) => c.oid === hex,
  )?.[0];
}

/**
 * The DER SubjectPublicKeyInfo of a private key's public half: RSA from the private object's public
 * attributes (modulus and exponent are not sensitive), EC from the public key object of the same
 * reference (a PKCS#11 private EC key holds no public point).
 * @throws VaultError when an EC key has no public key object beside it
 */
export function publicKeySpki(
  module: pkcs11js.PKCS11,
  session: Handle,
  material: MaterialObject,
  materialRef: string,
): Buffer {
  if (material.keySpec.startsWith("RSA_")) {
    const [n, e] = module
      .C_GetAttributeValue(session, material.handle, [
        { type: pkcs11js.CKA_MODULUS },
        { type: pkcs11js.CKA_PUBLIC_EXPONENT },
      ])
      .map((a) => (a.value as Buffer).toString("base64url"));
    return createPublicKey({ key: { kty: "RSA", n, e }, format: "jwk" }).export({
      type: "spki",
      format: "der",
    });
  }
  const curve = EC_CURVE_PARAMS[material.keySpec as EcKeySpec];
  const publicKeys = findObjects(module, session, [
    ...locator(materialRef),
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
  ]);
  if (publicKeys.length !== 1) {
    throw new VaultError(
      `PKCS#11: "${materialRef}" is an EC private key with ${publicKeys.length === 0 ? "no" : "more than one"} public key object of the same reference; its check value needs exactly one.`,
    );
  }
  const [pointAttr] = module.C_GetAttributeValue(session, publicKeys[0] as Handle, [
    { type: pkcs11js.CKA_EC_POINT },
  ]);
  const raw = pointAttr?.value as Buffer;
  // PKCS#11 2.40 gives a DER OCTET STRING holding the point; some tokens give the bare point.
  const point = raw.length === curve.pointBytes ? raw : raw.subarray(raw.length - curve.pointBytes);
  const size = (curve.pointBytes - 1) / 2;
  if (point[0] !== 0x04 || raw.length < curve.pointBytes) {
    throw new VaultError(`PKCS#11: the public point of "${materialRef}" is not an uncompressed EC point.`);
  }
  return createPublicKey({
    key: {
      kty: "EC",
      crv: curve.jwk,
      x: point.subarray(1, 1 + size).toString("base64url"),
      y: point.subarray(1 + size).toString("base64url"),
    },
    format: "jwk",
  }).export({ type: "spki", format: "der" });
}
