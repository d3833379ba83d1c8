import { generateKeyPairSync, type KeyObject } from "node:crypto";
import pkcs11js from "pkcs11js";
import { type KeySpec, WrappingAlgorithm } from "../../domain/kms-constants.js";
import { allowedWrappings, type WrappingChoice } from "../../domain/wrapping.js";
import { materialFamily } from "../material.js";
import { pkcs11Code } from "./session-pool.js";

type Handle = Buffer;

/** CKM_RSA_AES_KEY_WRAP (PKCS#11 2.40, 0x1054): not in pkcs11js's constants. */
export const CKM_RSA_AES_KEY_WRAP = 0x1054;
/** CKZ_DATA_SPECIFIED: the OAEP label source (an empty label, as KMS uses). */
const CKZ_DATA_SPECIFIED = 0x1;

/** What this token can do that matters to Tether, found with C_GetMechanismList / C_GetMechanismInfo. */
export interface TokenCapabilities {
  /** CKM_RSA_PKCS_OAEP with CKF_WRAP, with SHA-1 (hash and MGF1). */
  readonly oaepSha1: boolean;
  /** The same with SHA-256: not visible in the mechanism flags, so found by trying it once. */
  readonly oaepSha256: boolean;
  /** CKM_AES_KEY_WRAP_PAD (RFC 5649) with CKF_WRAP, and CKM_AES_KEY_GEN for the ephemeral key. */
  readonly aesKeyWrapPad: boolean;
  /** CKM_RSA_AES_KEY_WRAP with CKF_WRAP (reported; Tether composes the two steps itself). */
  readonly rsaAesKeyWrap: boolean;
  readonly aesEcb: boolean;
  readonly sha256Hmac: boolean;
  readonly aesKeyGen: boolean;
  readonly genericSecretKeyGen: boolean;
  readonly rsaKeyPairGen: boolean;
  readonly ecKeyPairGen: boolean;
}

/** OAEP parameters as KMS uses them: the same hash for the digest and for MGF1, an empty label. */
export function oaepMechanism(hash: "SHA_1" | "SHA_256"): pkcs11js.Mechanism {
  return {
    mechanism: pkcs11js.CKM_RSA_PKCS_OAEP,
    parameter: {
      type: pkcs11js.CK_PARAMS_RSA_OAEP,
      hashAlg: hash === "SHA_1" ? pkcs11js.CKM_SHA_1 : pkcs11js.CKM_SHA256,
      mgf: hash === "SHA_1" ? pkcs11js.CKG_MGF1_SHA1 : pkcs11js.CKG_MGF1_SHA256,
      source: CKZ_DATA_SPECIFIED,
    } as pkcs11js.RsaOAEP,
  };
}

/** A session RSA public key that may wrap, from a DER SubjectPublicKeyInfo's modulus and exponent. */
export function createWrappingPublicKey(module: pkcs11js.PKCS11, session: Handle, key: KeyObject): Handle {
  const jwk = key.export({ format: "jwk" });
  return module.C_CreateObject(session, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PUBLIC_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_RSA },
    { type: pkcs11js.CKA_TOKEN, value: false },
    { type: pkcs11js.CKA_WRAP, value: true },
    { type: pkcs11js.CKA_ENCRYPT, value: false },
    { type: pkcs11js.CKA_VERIFY, value: false },
    { type: pkcs11js.CKA_MODULUS, value: Buffer.from(jwk.n as string, "base64url") },
    { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from(jwk.e as string, "base64url") },
  ]);
}

/** A fresh AES-256 session key made in the token: sensitive, extractable only by wrapping, may wrap. */
export function createEphemeralAesKey(module: pkcs11js.PKCS11, session: Handle): Handle {
  return module.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
    { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
    { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
    { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
    { type: pkcs11js.CKA_TOKEN, value: false },
    { type: pkcs11js.CKA_PRIVATE, value: true },
    { type: pkcs11js.CKA_SENSITIVE, value: true },
    { type: pkcs11js.CKA_EXTRACTABLE, value: true },
    { type: pkcs11js.CKA_WRAP, value: true },
    { type: pkcs11js.CKA_ENCRYPT, value: false },
    { type: pkcs11js.CKA_DECRYPT, value: false },
  ]);
}

export function destroyQuietly(module: pkcs11js.PKCS11, session: Handle, object: Handle | undefined): void {
  if (object === undefined) return;
  try {
    module.C_DestroyObject(session, object);
  } catch {
    // A session object also dies with its session; a failed destroy leaves no token object behind.
  }
}

let probeKey: KeyObject | undefined;

/**
 * Reads the token's mechanisms. OAEP with SHA-256 cannot be read from flags (they do not cover
 * parameters), so it is tried once: an ephemeral AES key wrapped under a throwaway RSA public key.
 * SoftHSM 2.6 answers CKR_ARGUMENTS_BAD there.
 */
export function discoverCapabilities(
  module: pkcs11js.PKCS11,
  slot: Handle,
  session: Handle,
): TokenCapabilities {
  const mechanisms = new Set(module.C_GetMechanismList(slot));
  const canWrap = (mechanism: number) =>
    mechanisms.has(mechanism) && (module.C_GetMechanismInfo(slot, mechanism).flags & pkcs11js.CKF_WRAP) !== 0;
  const oaepSha1 = canWrap(pkcs11js.CKM_RSA_PKCS_OAEP);
  const aesKeyGen = mechanisms.has(pkcs11js.CKM_AES_KEY_GEN);
  return {
    oaepSha1,
    oaepSha256: oaepSha1 && aesKeyGen && probeOaepSha256(module, session),
    aesKeyWrapPad: canWrap(pkcs11js.CKM_AES_KEY_WRAP_PAD) && aesKeyGen,
    rsaAesKeyWrap: canWrap(CKM_RSA_AES_KEY_WRAP),
    aesEcb: mechanisms.has(pkcs11js.CKM_AES_ECB),
    sha256Hmac: mechanisms.has(pkcs11js.CKM_SHA256_HMAC),
    aesKeyGen,
    genericSecretKeyGen: mechanisms.has(pkcs11js.CKM_GENERIC_SECRET_KEY_GEN),
    rsaKeyPairGen: mechanisms.has(pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN),
    ecKeyPairGen: mechanisms.has(pkcs11js.CKM_EC_KEY_PAIR_GEN),
  };
}

function probeOaepSha256(module: pkcs11js.PKCS11, session: Handle): boolean {
  probeKey ??= generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey;
  let publicKey: Handle | undefined;
  let aesKey: Handle | undefined;
  try {
    publicKey = createWrappingPublicKey(module, session, probeKey);
    aesKey = createEphemeralAesKey(module, session);
    module.C_WrapKey(session, oaepMechanism("SHA_256"), publicKey, aesKey, Buffer.alloc(256));
    return true;
  } catch (error) {
    if (pkcs11Code(error) === undefined) throw error;
    return false;
  } finally {
    destroyQuietly(module, session, aesKey);
    destroyQuietly(module, session, publicKey);
  }
}

/**
 * The wrapping algorithms this token can produce for material of this family. CKM_RSA_PKCS_OAEP wraps
 * secret keys only (PKCS#11 2.40, 2.1.8), so RSA and ECC private keys go through RSA_AES_KEY_WRAP: the
 * ephemeral AES key under RSA-OAEP, the private key (as PKCS#8, which C_WrapKey encodes) under
 * CKM_AES_KEY_WRAP_PAD.
 */
export function tokenWrappingAlgorithms(keySpec: KeySpec, caps: TokenCapabilities): Set<WrappingAlgorithm> {
  const family = materialFamily(keySpec);
  const secret = family === "SYMMETRIC" || family === "HMAC";
  const algorithms = new Set<WrappingAlgorithm>();
  if (secret) {
    if (caps.oaepSha1) algorithms.add(WrappingAlgorithm.RSAES_OAEP_SHA_1);
    if (caps.oaepSha256) algorithms.add(WrappingAlgorithm.RSAES_OAEP_SHA_256);
  } else if (caps.aesKeyWrapPad) {
    if (caps.oaepSha1) algorithms.add(WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_1);
    if (caps.oaepSha256) algorithms.add(WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_256);
  }
  return algorithms;
}

/**
 * What both AWS KMS ({@link allowedWrappings}) and this token can do for this key spec, strongest first:
 * the first entry is the pair to ask GetParametersForImport for.
 */
export function intersectWrappings(keySpec: KeySpec, caps: TokenCapabilities): WrappingChoice[] {
  const token = tokenWrappingAlgorithms(keySpec, caps);
  return allowedWrappings(keySpec).filter((choice) => token.has(choice.wrappingAlgorithm));
}
