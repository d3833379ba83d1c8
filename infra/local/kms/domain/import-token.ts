/**
 * Import tokens. A token binds one wrapping key pair to one KMS key (id, Region, account), one
 * wrapping algorithm and one issue time. It is sealed with AES-256-GCM under the emulator's own
 * secret, so it is opaque, cannot be forged or altered, and carries the wrapping private key only
 * encrypted. Being self-contained, every token stays usable until its own ParametersValidTo, whatever
 * other GetParametersForImport calls happened since (see GetParametersForImport for why).
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { KmsErrorType, kmsError } from "../errors.js";
import type { RsaWrappingKeySpec, WrappingAlgorithm } from "./key-specs.js";

const MAGIC = Buffer.from("TKT1");
const AAD = Buffer.from("tether-local-kms-import-token");

export interface ImportTokenClaims {
  keyId: string;
  region: string;
  accountId: string;
  wrappingAlgorithm: WrappingAlgorithm;
  wrappingKeySpec: RsaWrappingKeySpec;
  /** Epoch ms, by the emulator's clock. */
  issuedAt: number;
  /** Random per GetParametersForImport call. */
  nonce: string;
  /**
   * The Region's token generation when issued (KmsStore.tokenGeneration); a region-wide loss that
   * invalidates outstanding tokens moves the generation on. Absent in tokens sealed before it existed: 0.
   */
  generation?: number;
  /** PKCS#8 DER of the wrapping private key, base64. */
  privateKey: string;
}

/** Seals claims into an opaque token. */
export function sealImportToken(secret: Buffer, claims: ImportTokenClaims): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", secret, iv);
  cipher.setAAD(AAD);
  const body = Buffer.concat([cipher.update(JSON.stringify(claims), "utf8"), cipher.final()]);
  return Buffer.concat([MAGIC, iv, cipher.getAuthTag(), body]);
}

/**
 * Opens a token sealed by `sealImportToken` under the same secret.
 * @throws KmsApiError InvalidImportTokenException when it was not, or was altered.
 */
export function openImportToken(secret: Buffer, token: Buffer): ImportTokenClaims {
  const invalid = (cause?: unknown) =>
    kmsError(KmsErrorType.InvalidImportToken, "Import token is invalid.", cause ? { cause } : undefined);
  if (token.length < MAGIC.length + 28 || !token.subarray(0, MAGIC.length).equals(MAGIC)) throw invalid();
  try {
    const iv = token.subarray(4, 16);
    const tag = token.subarray(16, 32);
    const decipher = createDecipheriv("aes-256-gcm", secret, iv);
    decipher.setAAD(AAD);
    decipher.setAuthTag(tag);
    const json = Buffer.concat([decipher.update(token.subarray(32)), decipher.final()]).toString("utf8");
    return JSON.parse(json) as ImportTokenClaims;
  } catch (cause) {
    throw invalid(cause);
  }
}
