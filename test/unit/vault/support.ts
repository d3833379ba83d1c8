import { spawnSync } from "node:child_process";
import {
  constants,
  createDecipheriv,
  generateKeyPairSync,
  type KeyObject,
  privateDecrypt,
} from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { WrappingAlgorithm } from "../../../lib/domain/kms-constants.js";

/** Why openssl cannot be used for cross-checks, or undefined when it can. */
export const opensslUnavailable: string | undefined = (() => {
  const result = spawnSync("openssl", ["version"], { encoding: "utf8" });
  if (result.error || result.status !== 0) return "the openssl command is not installed";
  if (!/^OpenSSL 3\./.test(result.stdout)) return `openssl 3 is needed, found ${result.stdout.trim()}`;
  return undefined;
})();

export interface RsaPair {
  readonly bits: number;
  readonly publicKeyDer: Buffer;
  readonly privateKey: KeyObject;
  readonly privateKeyPem: string;
}

/** A wrapping key pair, as KMS would hold it (test only: KMS never hands out the private half). */
export function rsaPair(bits: number): RsaPair {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", {
    modulusLength: bits,
    publicExponent: 0x10001,
  });
  return {
    bits,
    publicKeyDer: publicKey.export({ type: "spki", format: "der" }),
    privateKey,
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
  };
}

const HASH: Record<WrappingAlgorithm, "sha1" | "sha256"> = {
  RSAES_OAEP_SHA_1: "sha1",
  RSAES_OAEP_SHA_256: "sha256",
  RSA_AES_KEY_WRAP_SHA_1: "sha1",
  RSA_AES_KEY_WRAP_SHA_256: "sha256",
};

/** Unwraps EncryptedKeyMaterial with node, the way KMS does on ImportKeyMaterial. */
export function unwrapWithNode(wrapped: Uint8Array, algorithm: WrappingAlgorithm, pair: RsaPair): Buffer {
  const oaep = (data: Uint8Array) =>
    privateDecrypt(
      { key: pair.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: HASH[algorithm] },
      data,
    );
  if (!algorithm.startsWith("RSA_AES_")) return oaep(wrapped);
  const modulusBytes = pair.bits / 8;
  const aesKey = oaep(wrapped.subarray(0, modulusBytes));
  const decipher = createDecipheriv("id-aes256-wrap-pad", aesKey, Buffer.from("A65959A6", "hex"));
  return Buffer.concat([decipher.update(wrapped.subarray(modulusBytes)), decipher.final()]);
}

/** Unwraps EncryptedKeyMaterial with the openssl command line, independently of node's code paths. */
export function unwrapWithOpenssl(wrapped: Uint8Array, algorithm: WrappingAlgorithm, pair: RsaPair): Buffer {
  const dir = mkdtempSync(path.join(tmpdir(), "tether-openssl-"));
  try {
    const keyFile = path.join(dir, "wrapping-key.pem");
    writeFileSync(keyFile, pair.privateKeyPem, { mode: 0o600 });
    const rsaDecrypt = (input: Uint8Array) => {
      const inFile = path.join(dir, "rsa.bin");
      writeFileSync(inFile, input);
      return run("openssl", [
        "pkeyutl",
        "-decrypt",
        "-inkey",
        keyFile,
        "-in",
        inFile,
        "-pkeyopt",
        "rsa_padding_mode:oaep",
        "-pkeyopt",
        `rsa_oaep_md:${HASH[algorithm]}`,
        "-pkeyopt",
        `rsa_mgf1_md:${HASH[algorithm]}`,
      ]);
    };
    if (!algorithm.startsWith("RSA_AES_")) return rsaDecrypt(wrapped);
    const modulusBytes = pair.bits / 8;
    const aesKey = rsaDecrypt(wrapped.subarray(0, modulusBytes));
    const kwpFile = path.join(dir, "kwp.bin");
    writeFileSync(kwpFile, wrapped.subarray(modulusBytes));
    return run("openssl", [
      "enc",
      "-d",
      "-id-aes256-wrap-pad",
      "-K",
      aesKey.toString("hex"),
      "-iv",
      "A65959A6",
      "-in",
      kwpFile,
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a command and returns its stdout; throws with its stderr on failure. */
export function run(command: string, args: string[], input?: Uint8Array): Buffer {
  const result = spawnSync(command, args, { input });
  if (result.error) throw result.error;
  if (result.status !== 0) throw new Error(`${command} ${args[0]} failed: ${result.stderr.toString()}`);
  return result.stdout;
}
