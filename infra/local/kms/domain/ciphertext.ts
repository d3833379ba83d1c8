/**
 * Symmetric ciphertext blobs. Like a real KMS ciphertext, a blob names the key and the key material
 * that encrypted it, and only that key (or a related multi-Region key, which shares the key id) with
 * that material decrypts it. The data key is derived from the material *and* the key id, and both
 * ids are authenticated, so the same bytes imported into an unrelated key do not decrypt it.
 *
 * Layout: "TKC1" | key id length (1) | key id | material id (32) | iv (12) | tag (16) | ciphertext.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";
import { KmsErrorType, kmsError } from "../errors.js";

const MAGIC = Buffer.from("TKC1");

export interface BlobHeader {
  keyId: string;
  materialId: string;
}

function dataKey(material: Buffer, keyId: string): Buffer {
  return Buffer.from(
    hkdfSync("sha256", material, Buffer.from(keyId, "utf8"), "tether-local-kms-data-key", 32),
  );
}

function aad(header: BlobHeader, context: Record<string, string> | undefined): Buffer {
  const sorted = Object.keys(context ?? {})
    .sort()
    .map((k) => [k, context?.[k]]);
  return Buffer.from(JSON.stringify([header.keyId, header.materialId, sorted]), "utf8");
}

export function encryptBlob(
  header: BlobHeader,
  material: Buffer,
  plaintext: Buffer,
  context: Record<string, string> | undefined,
): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", dataKey(material, header.keyId), iv);
  cipher.setAAD(aad(header, context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const keyIdBytes = Buffer.from(header.keyId, "utf8");
  return Buffer.concat([
    MAGIC,
    Buffer.from([keyIdBytes.length]),
    keyIdBytes,
    Buffer.from(header.materialId, "hex"),
    iv,
    cipher.getAuthTag(),
    body,
  ]);
}

function invalidCiphertext(cause?: unknown): Error {
  return kmsError(KmsErrorType.InvalidCiphertext, "", cause ? { cause } : undefined);
}

/** @throws KmsApiError InvalidCiphertextException when the blob is not one of ours. */
export function readBlobHeader(blob: Buffer): BlobHeader & { rest: Buffer } {
  if (blob.length < 6 || !blob.subarray(0, 4).equals(MAGIC)) throw invalidCiphertext();
  const idLength = blob[4] ?? 0;
  const idEnd = 5 + idLength;
  if (blob.length < idEnd + 32 + 28) throw invalidCiphertext();
  return {
    keyId: blob.subarray(5, idEnd).toString("utf8"),
    materialId: blob.subarray(idEnd, idEnd + 32).toString("hex"),
    rest: blob.subarray(idEnd + 32),
  };
}

/** @throws KmsApiError InvalidCiphertextException when the material or encryption context is not the one used. */
export function decryptBlob(
  blob: Buffer,
  material: Buffer,
  context: Record<string, string> | undefined,
): Buffer {
  const { rest, ...header } = readBlobHeader(blob);
  try {
    const decipher = createDecipheriv("aes-256-gcm", dataKey(material, header.keyId), rest.subarray(0, 12));
    decipher.setAAD(aad(header, context));
    decipher.setAuthTag(rest.subarray(12, 28));
    return Buffer.concat([decipher.update(rest.subarray(28)), decipher.final()]);
  } catch (cause) {
    throw invalidCiphertext(cause);
  }
}
