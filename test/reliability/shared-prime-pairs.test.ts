/**
 * The emulator's shared-prime wrapping keys (infra/local/kms/wrapping-key-pool.ts), which the model runs
 * use to make hundreds of sequences affordable: every pair must still be a distinct, well-formed RSA key
 * of the asked size that unwraps only what its own public key wrapped.
 */
import { constants, createPrivateKey, createPublicKey, privateDecrypt, publicEncrypt } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SharedPrimePairs, WrappingKeyPool } from "../../infra/local/kms/wrapping-key-pool.js";

const oaep = (key: ReturnType<typeof createPublicKey>) => ({
  key,
  padding: constants.RSA_PKCS1_OAEP_PADDING,
  oaepHash: "sha256",
});

describe("shared-prime wrapping key pairs", () => {
  it("are distinct RSA_2048 pairs, each unwrapping only its own wrapping", async () => {
    const source = new SharedPrimePairs(2048);
    const pairs = [];
    for (let i = 0; i < 40; i++) pairs.push(await source.take());
    const moduli = new Set<string>();
    for (const [i, pair] of pairs.entries()) {
      const publicKey = createPublicKey({ key: pair.publicKeyDer, format: "der", type: "spki" });
      const privateKey = createPrivateKey({ key: pair.privateKeyDer, format: "der", type: "pkcs8" });
      expect(publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
      expect(publicKey.asymmetricKeyDetails?.publicExponent).toBe(65537n);
      moduli.add(pair.publicKeyDer.toString("hex"));
      const wrapped = publicEncrypt(oaep(publicKey), Buffer.from(`material ${i}`));
      expect(privateDecrypt({ ...oaep(publicKey), key: privateKey }, wrapped).toString()).toBe(
        `material ${i}`,
      );
      const other = pairs[(i + 1) % pairs.length];
      if (other === undefined) throw new Error("no other pair");
      const otherKey = createPrivateKey({ key: other.privateKeyDer, format: "der", type: "pkcs8" });
      expect(() => privateDecrypt({ ...oaep(publicKey), key: otherKey }, wrapped)).toThrow();
    }
    expect(moduli.size).toBe(pairs.length);
  });

  it("have the full modulus size for RSA_3072 and RSA_4096 too", async () => {
    const pool = new WrappingKeyPool(() => undefined, { sharedPrimes: true });
    for (const [spec, bits] of [
      ["RSA_3072", 3072],
      ["RSA_4096", 4096],
    ] as const) {
      const pairs = await Promise.all([pool.take(spec), pool.take(spec), pool.take(spec)]);
      const moduli = pairs.map((p) => createPublicKey({ key: p.publicKeyDer, format: "der", type: "spki" }));
      for (const key of moduli) expect(key.asymmetricKeyDetails?.modulusLength).toBe(bits);
      expect(new Set(pairs.map((p) => p.publicKeyDer.toString("hex"))).size).toBe(3);
    }
    pool.close();
  });
});
