/**
 * Sealing the wrapped material for the one function that asked (docs/agent.md): the request carries an
 * ephemeral X25519 public key of that function; the agent seals the wrapped material to it (X25519, HKDF-SHA-256,
 * AES-256-GCM, the request id as associated data), so the API, the table and anyone reading them see only a
 * ciphertext that the function's in-memory private key opens. An import token and wrapped material together
 * would let their holder import into the key; apart, and the material sealed, neither is useful.
 */
import {
  createCipheriv,
  createDecipheriv,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";

const INFO = Buffer.from("tether vault agent answer v1");

export interface AnswerKeyPair {
  /** Base64 DER SubjectPublicKeyInfo, for the request. */
  readonly publicKey: string;
  readonly privateKey: KeyObject;
}

export function newAnswerKey(): AnswerKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("x25519");
  return { publicKey: publicKey.export({ type: "spki", format: "der" }).toString("base64"), privateKey };
}

function key(shared: Buffer, salt: Buffer): Buffer {
  return Buffer.from(hkdfSync("sha256", shared, salt, INFO, 32));
}

/** Seals `plain` to the base64 SPKI X25519 key; base64 of epk(32) ‖ iv(12) ‖ tag(16) ‖ ciphertext. */
export function seal(plain: Uint8Array, answerKey: string, requestId: string): string {
  const recipient = createPublicKey({ key: Buffer.from(answerKey, "base64"), format: "der", type: "spki" });
  const eph = generateKeyPairSync("x25519");
  const epk = eph.publicKey.export({ type: "spki", format: "der" }).subarray(-32);
  const k = key(diffieHellman({ privateKey: eph.privateKey, publicKey: recipient }), epk);
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", k, iv);
  cipher.setAAD(Buffer.from(requestId, "utf8"));
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  k.fill(0);
  return Buffer.concat([epk, iv, cipher.getAuthTag(), body]).toString("base64");
}

/** @throws Error when the sealed text was not sealed to this key for this request, or was altered */
export function open(sealed: string, privateKey: KeyObject, requestId: string): Uint8Array {
  const bytes = Buffer.from(sealed, "base64");
  if (bytes.length < 61) throw new Error("sealed answer too short");
  const epk = bytes.subarray(0, 32);
  const peer = createPublicKey({
    // The SPKI prefix of an X25519 key (RFC 8410), then the 32 raw bytes.
    key: Buffer.concat([Buffer.from("302a300506032b656e032100", "hex"), epk]),
    format: "der",
    type: "spki",
  });
  const k = key(diffieHellman({ privateKey, publicKey: peer }), epk);
  const decipher = createDecipheriv("aes-256-gcm", k, bytes.subarray(32, 44));
  decipher.setAAD(Buffer.from(requestId, "utf8"));
  decipher.setAuthTag(bytes.subarray(44, 60));
  try {
    return new Uint8Array(Buffer.concat([decipher.update(bytes.subarray(60)), decipher.final()]));
  } finally {
    k.fill(0);
  }
}
