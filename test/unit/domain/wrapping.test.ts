import { describe, expect, it } from "vitest";
import {
  allowedWrappings,
  chooseWrapping,
  KeySpec,
  ValidationError,
  WrappingAlgorithm,
  WrappingKeySpec,
  wrappingRefusal,
} from "../../../lib/domain/index.js";

const RSA_SPECS = [KeySpec.RSA_2048, KeySpec.RSA_3072, KeySpec.RSA_4096];
const ECC_SPECS = [
  KeySpec.ECC_NIST_P256,
  KeySpec.ECC_NIST_P384,
  KeySpec.ECC_NIST_P521,
  KeySpec.ECC_SECG_P256K1,
];
const SECRET_SPECS = [
  KeySpec.SYMMETRIC_DEFAULT,
  KeySpec.HMAC_224,
  KeySpec.HMAC_256,
  KeySpec.HMAC_384,
  KeySpec.HMAC_512,
];
const OAEP = [WrappingAlgorithm.RSAES_OAEP_SHA_256, WrappingAlgorithm.RSAES_OAEP_SHA_1];
const RSA_AES = [WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_256, WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_1];

function refusedField(
  keySpec: KeySpec,
  preference: Parameters<typeof chooseWrapping>[1],
): string | undefined {
  try {
    chooseWrapping(keySpec, preference);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationError);
    return (error as ValidationError).field;
  }
}

describe("chooseWrapping defaults: the strongest the material allows", () => {
  it.each(SECRET_SPECS)("%s: RSAES_OAEP_SHA_256 with RSA_4096", (keySpec) => {
    expect(chooseWrapping(keySpec)).toEqual({
      wrappingAlgorithm: "RSAES_OAEP_SHA_256",
      wrappingKeySpec: "RSA_4096",
    });
  });
  it.each(ECC_SPECS)("%s: RSAES_OAEP_SHA_256 with RSA_4096", (keySpec) => {
    expect(chooseWrapping(keySpec)).toEqual({
      wrappingAlgorithm: "RSAES_OAEP_SHA_256",
      wrappingKeySpec: "RSA_4096",
    });
  });
  it.each(RSA_SPECS)("%s: RSA_AES_KEY_WRAP_SHA_256 with RSA_4096", (keySpec) => {
    expect(chooseWrapping(keySpec)).toEqual({
      wrappingAlgorithm: "RSA_AES_KEY_WRAP_SHA_256",
      wrappingKeySpec: "RSA_4096",
    });
  });
  it("ECC_NIST_P521 with a preferred RSA_2048 key falls back to RSA_AES_KEY_WRAP_SHA_256", () => {
    expect(chooseWrapping(KeySpec.ECC_NIST_P521, { keySpec: "RSA_2048" })).toEqual({
      wrappingAlgorithm: "RSA_AES_KEY_WRAP_SHA_256",
      wrappingKeySpec: "RSA_2048",
    });
  });
  it("a preferred algorithm alone gets the longest wrapping key", () => {
    expect(chooseWrapping(KeySpec.SYMMETRIC_DEFAULT, { algorithm: "RSAES_OAEP_SHA_1" })).toEqual({
      wrappingAlgorithm: "RSAES_OAEP_SHA_1",
      wrappingKeySpec: "RSA_4096",
    });
  });
});

describe("chooseWrapping refuses what AWS refuses", () => {
  it.each(RSA_SPECS.flatMap((spec) => OAEP.map((algorithm) => [spec, algorithm] as const)))(
    "%s material with %s (RSA private keys need RSA_AES)",
    (keySpec, algorithm) => {
      expect(refusedField(keySpec, { algorithm })).toBe("wrappingAlgorithm");
      expect(wrappingRefusal(keySpec, algorithm, "RSA_4096")).toMatch(/RSA_AES_KEY_WRAP/);
    },
  );
  it.each(SECRET_SPECS.flatMap((spec) => RSA_AES.map((algorithm) => [spec, algorithm] as const)))(
    "%s material with %s (documented for RSA and ECC only)",
    (keySpec, algorithm) => {
      expect(refusedField(keySpec, { algorithm })).toBe("wrappingAlgorithm");
    },
  );
  it.each(OAEP)("ECC_NIST_P521 with %s and RSA_2048", (algorithm) => {
    expect(refusedField(KeySpec.ECC_NIST_P521, { algorithm, keySpec: "RSA_2048" })).toBe("wrappingKeySpec");
  });
  it("an unknown algorithm or key spec from outside the types", () => {
    expect(
      wrappingRefusal(KeySpec.SYMMETRIC_DEFAULT, "RSAES_PKCS1_V1_5" as WrappingAlgorithm, "RSA_2048"),
    ).toMatch(/no longer accepted/);
    expect(
      wrappingRefusal(KeySpec.SYMMETRIC_DEFAULT, "RSAES_OAEP_SHA_256", "SM2" as WrappingKeySpec),
    ).toMatch(/SM2/);
    expect(wrappingRefusal("AES_128" as KeySpec, "RSAES_OAEP_SHA_256", "RSA_2048")).toMatch(/AES_128/);
    expect(() => chooseWrapping("AES_128" as KeySpec)).toThrow(ValidationError);
  });
});

describe("allowedWrappings", () => {
  it("lists every accepted pair, strongest first", () => {
    expect(allowedWrappings(KeySpec.SYMMETRIC_DEFAULT)).toHaveLength(6);
    expect(allowedWrappings(KeySpec.RSA_3072)).toHaveLength(6);
    expect(allowedWrappings(KeySpec.ECC_NIST_P384)).toHaveLength(12);
    expect(allowedWrappings(KeySpec.ECC_NIST_P521)).toHaveLength(10);
    expect(allowedWrappings(KeySpec.HMAC_512)[0]).toEqual({
      wrappingAlgorithm: "RSAES_OAEP_SHA_256",
      wrappingKeySpec: "RSA_4096",
    });
  });
  it("every pair it lists is one chooseWrapping accepts as a preference", () => {
    for (const keySpec of Object.values(KeySpec)) {
      for (const choice of allowedWrappings(keySpec)) {
        expect(
          chooseWrapping(keySpec, { algorithm: choice.wrappingAlgorithm, keySpec: choice.wrappingKeySpec }),
        ).toEqual(choice);
      }
    }
  });
  it("covers every wrapping key spec for every key spec", () => {
    for (const keySpec of Object.values(KeySpec)) {
      const specs = new Set(allowedWrappings(keySpec).map((choice) => choice.wrappingKeySpec));
      expect([...specs].sort()).toEqual(Object.values(WrappingKeySpec).sort());
    }
  });
});
