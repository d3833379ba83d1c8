import { createPrivateKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { KeySpec } from "../../../lib/domain/kms-constants.js";
import { InvalidMaterialError } from "../../../lib/vault/errors.js";
import {
  generateMaterial,
  HMAC_KEY_LENGTHS,
  isKeySpec,
  materialFamily,
  validateMaterial,
} from "../../../lib/vault/material.js";

function pkcs8(type: "rsa" | "ec" | "rsa-pss" | "ed25519", options: object): Buffer {
  // biome-ignore lint/suspicious/noExplicitAny: generateKeyPairSync's overloads do not accept a union of types
  const { privateKey } = generateKeyPairSync(type as any, {
    ...options,
    publicKeyEncoding: { type: "spki", format: "der" },
    privateKeyEncoding: { type: "pkcs8", format: "der" },
  });
  return privateKey as unknown as Buffer;
}

const ecKeys = {
  ECC_NIST_P256: pkcs8("ec", { namedCurve: "P-256" }),
  ECC_NIST_P384: pkcs8("ec", { namedCurve: "P-384" }),
  ECC_NIST_P521: pkcs8("ec", { namedCurve: "P-521" }),
  ECC_SECG_P256K1: pkcs8("ec", { namedCurve: "secp256k1" }),
} as const;
const rsa2048 = pkcs8("rsa", { modulusLength: 2048 });

describe("materialFamily", () => {
  it("classifies every key spec", () => {
    expect(Object.values(KeySpec).map((spec) => [spec, materialFamily(spec)])).toEqual([
      ["SYMMETRIC_DEFAULT", "SYMMETRIC"],
      ["HMAC_224", "HMAC"],
      ["HMAC_256", "HMAC"],
      ["HMAC_384", "HMAC"],
      ["HMAC_512", "HMAC"],
      ["RSA_2048", "RSA"],
      ["RSA_3072", "RSA"],
      ["RSA_4096", "RSA"],
      ["ECC_NIST_P256", "ECC"],
      ["ECC_NIST_P384", "ECC"],
      ["ECC_NIST_P521", "ECC"],
      ["ECC_SECG_P256K1", "ECC"],
    ]);
  });

  it("refuses an unknown key spec", () => {
    expect(() => materialFamily("SM2" as KeySpec)).toThrow(InvalidMaterialError);
    expect(isKeySpec("SM2")).toBe(false);
    expect(isKeySpec("toString")).toBe(false);
  });
});

describe("validateMaterial", () => {
  describe("SYMMETRIC_DEFAULT", () => {
    it("accepts exactly 32 bytes", () => {
      expect(() => validateMaterial(KeySpec.SYMMETRIC_DEFAULT, randomBytes(32))).not.toThrow();
    });

    it.each([0, 16, 31, 33, 64])("refuses %i bytes, naming the length", (length) => {
      expect(() => validateMaterial(KeySpec.SYMMETRIC_DEFAULT, randomBytes(length))).toThrow(
        `exactly 32 bytes; got ${length}`,
      );
    });
  });

  describe.each(Object.entries(HMAC_KEY_LENGTHS))("%s", (spec, { min, max }) => {
    it(`accepts ${min} and ${max} bytes`, () => {
      expect(() => validateMaterial(spec as KeySpec, randomBytes(min))).not.toThrow();
      expect(() => validateMaterial(spec as KeySpec, randomBytes(max))).not.toThrow();
    });

    it(`refuses ${min - 1} and ${max + 1} bytes`, () => {
      expect(() => validateMaterial(spec as KeySpec, randomBytes(min - 1))).toThrow(InvalidMaterialError);
      expect(() => validateMaterial(spec as KeySpec, randomBytes(max + 1))).toThrow(InvalidMaterialError);
    });
  });

  describe("RSA", () => {
    it("accepts a PKCS#8 DER RSA key of the spec's size", () => {
      expect(() => validateMaterial(KeySpec.RSA_2048, rsa2048)).not.toThrow();
    });

    it("refuses an RSA key of another size", () => {
      expect(() => validateMaterial(KeySpec.RSA_3072, rsa2048)).toThrow(
        "3072-bit modulus; got rsa 2048 bits",
      );
    });

    it("refuses an EC key, an RSA-PSS key and an Ed25519 key", () => {
      expect(() => validateMaterial(KeySpec.RSA_2048, ecKeys.ECC_NIST_P256)).toThrow("got ec prime256v1");
      expect(() => validateMaterial(KeySpec.RSA_2048, pkcs8("rsa-pss", { modulusLength: 2048 }))).toThrow(
        "got rsa-pss 2048 bits",
      );
      expect(() => validateMaterial(KeySpec.RSA_2048, pkcs8("ed25519", {}))).toThrow(InvalidMaterialError);
    });

    it("refuses PKCS#1, PEM, trailing bytes, truncation and garbage", () => {
      const key = createPrivateKey({ key: rsa2048, format: "der", type: "pkcs8" });
      const pkcs1 = key.export({ type: "pkcs1", format: "der" });
      const pem = Buffer.from(key.export({ type: "pkcs8", format: "pem" }));
      for (const bad of [
        pkcs1,
        pem,
        Buffer.concat([rsa2048, Buffer.from([0])]),
        rsa2048.subarray(0, rsa2048.length - 1),
        randomBytes(1200),
        Buffer.alloc(0),
      ]) {
        expect(() => validateMaterial(KeySpec.RSA_2048, bad)).toThrow(InvalidMaterialError);
      }
    });

    it("says what is wrong without quoting the material", () => {
      const bad = Buffer.concat([rsa2048, Buffer.from([0])]);
      try {
        validateMaterial(KeySpec.RSA_2048, bad);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidMaterialError);
        const text = `${(error as Error).message} ${String((error as Error).cause ?? "")}`;
        expect(text).not.toContain(bad.toString("hex").slice(0, 32));
        expect(text).not.toContain(bad.toString("base64").slice(0, 32));
      }
    });
  });

  describe("ECC", () => {
    it.each(Object.keys(ecKeys))("accepts a PKCS#8 DER key for %s", (spec) => {
      expect(() => validateMaterial(spec as KeySpec, ecKeys[spec as keyof typeof ecKeys])).not.toThrow();
    });

    it("refuses a key on another curve", () => {
      expect(() => validateMaterial(KeySpec.ECC_NIST_P256, ecKeys.ECC_SECG_P256K1)).toThrow(
        "curve P-256; got ec secp256k1",
      );
      expect(() => validateMaterial(KeySpec.ECC_NIST_P521, ecKeys.ECC_NIST_P384)).toThrow(
        InvalidMaterialError,
      );
    });

    it("refuses SEC1 (not PKCS#8) and an RSA key", () => {
      const sec1 = createPrivateKey({ key: ecKeys.ECC_NIST_P256, format: "der", type: "pkcs8" }).export({
        type: "sec1",
        format: "der",
      });
      expect(() => validateMaterial(KeySpec.ECC_NIST_P256, sec1)).toThrow(InvalidMaterialError);
      expect(() => validateMaterial(KeySpec.ECC_NIST_P256, rsa2048)).toThrow("got rsa 2048 bits");
    });
  });
});

describe("generateMaterial", () => {
  it.each(Object.values(KeySpec))("makes valid %s material", async (spec) => {
    const material = await generateMaterial(spec);
    expect(() => validateMaterial(spec, material)).not.toThrow();
  });

  it("makes symmetric material of 32 bytes and HMAC material of the digest length", async () => {
    expect((await generateMaterial(KeySpec.SYMMETRIC_DEFAULT)).length).toBe(32);
    expect((await generateMaterial(KeySpec.HMAC_224)).length).toBe(28);
    expect((await generateMaterial(KeySpec.HMAC_256)).length).toBe(32);
    expect((await generateMaterial(KeySpec.HMAC_384)).length).toBe(48);
    expect((await generateMaterial(KeySpec.HMAC_512)).length).toBe(64);
  });

  it("never repeats itself", async () => {
    const a = await generateMaterial(KeySpec.SYMMETRIC_DEFAULT);
    const b = await generateMaterial(KeySpec.SYMMETRIC_DEFAULT);
    expect(a.equals(b)).toBe(false);
  });
});
