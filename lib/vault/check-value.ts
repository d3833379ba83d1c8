import { createCipheriv, createHmac, timingSafeEqual } from "node:crypto";
import type { KeySpec } from "../domain/kms-constants.js";
import { materialFamily } from "./material.js";

/**
 * Check values: fingerprints that show two places hold the same key material without revealing it.
 *
 * `kcv-aes:XXXXXX` (SYMMETRIC_DEFAULT): the industry's key check value — the first 3 bytes of
 * AES-256-ECB(key, 16 zero bytes), upper-case hex. Safe because AES is a pseudorandom permutation: one
 * known plaintext/ciphertext pair, truncated to 24 bits, gives no feasible way back to a 256-bit key.
 * It is what HSMs and key ceremonies print, so operators can compare it with their own records. 24 bits
 * detect accidents (1 in 16.7 million chance that different keys agree), not adversaries.
 *
 * `hmac-sha256:<32 hex>` (all other material): the first 16 bytes of HMAC-SHA256 keyed with the
 * material over a fixed label. HMAC is a PRF, so the output reveals nothing about its key short of
 * searching the key space (at least 224 bits for HMAC keys, a private key for RSA/ECC). The fixed label
 * separates it from any MAC the customer computes with the same key, so it cannot be used to forge one.
 */
export const CheckValueScheme = {
  KCV_AES: "kcv-aes",
  HMAC_SHA256: "hmac-sha256",
} as const;
export type CheckValueScheme = (typeof CheckValueScheme)[keyof typeof CheckValueScheme];

const HMAC_LABEL = "tether check value v1";
const KCV_BYTES = 3;
const HMAC_CHECK_BYTES = 16;

/**
 * The check value of material of this key spec. Does not validate the material (see validateMaterial).
 * @throws InvalidMaterialError for an unknown key spec
 */
export function computeCheckValue(keySpec: KeySpec, material: Uint8Array): string {
  if (materialFamily(keySpec) === "SYMMETRIC") return aesKeyCheckValue(material);
  const mac = createHmac("sha256", material).update(HMAC_LABEL, "utf8").digest();
  try {
    return `${CheckValueScheme.HMAC_SHA256}:${mac.subarray(0, HMAC_CHECK_BYTES).toString("hex")}`;
  } finally {
    mac.fill(0);
  }
}

function aesKeyCheckValue(key: Uint8Array): string {
  const cipher = createCipheriv("aes-256-ecb", key, null).setAutoPadding(false);
  const block = Buffer.concat([cipher.update(Buffer.alloc(16)), cipher.final()]);
  try {
    return `${CheckValueScheme.KCV_AES}:${block.subarray(0, KCV_BYTES).toString("hex").toUpperCase()}`;
  } finally {
    block.fill(0);
  }
}

/**
 * Compares two check values in time independent of where they differ. Lengths are not secret (the
 * formats are public), so differing lengths return early.
 */
export function checkValuesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, "utf8");
  const right = Buffer.from(b, "utf8");
  return left.length === right.length && timingSafeEqual(left, right);
}
