import { generateKeyPairSync, type KeyObject, randomBytes } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { KeySpec, WrappingAlgorithm, type WrappingKeySpec } from "../../../lib/domain/kms-constants.js";
import { UnsupportedWrappingError } from "../../../lib/vault/errors.js";
import { generateMaterial } from "../../../lib/vault/material.js";
import {
  assertWrappable,
  oaepCapacity,
  parseWrappingPublicKey,
  wrapKeyMaterial,
} from "../../../lib/vault/wrapping.js";
import { opensslUnavailable, type RsaPair, rsaPair, unwrapWithNode, unwrapWithOpenssl } from "./support.js";

if (opensslUnavailable) console.warn(`Skipping openssl cross-checks of wrapping: ${opensslUnavailable}`);

const WRAPPING_KEY_SPECS = { RSA_2048: 2048, RSA_3072: 3072, RSA_4096: 4096 } as const;
const ALGORITHMS = Object.values(WrappingAlgorithm);

interface Sample {
  readonly keySpec: KeySpec;
  readonly material: () => Buffer;
}
const pkcs8 = (pair: { privateKey: KeyObject }) => pair.privateKey.export({ type: "pkcs8", format: "der" });
const SYMMETRIC: Sample = { keySpec: KeySpec.SYMMETRIC_DEFAULT, material: () => randomBytes(32) };
const HMAC_512: Sample = { keySpec: KeySpec.HMAC_512, material: () => randomBytes(64) };
const ECC_P384: Sample = {
  keySpec: KeySpec.ECC_NIST_P384,
  material: () => pkcs8(generateKeyPairSync("ec", { namedCurve: "secp384r1" })),
};
const RSA_2048: Sample = {
  keySpec: KeySpec.RSA_2048,
  material: () => pkcs8(generateKeyPairSync("rsa", { modulusLength: 2048 })),
};
/**
 * Material each algorithm may carry: AWS documents RSA_AES_KEY_WRAP_* for RSA and ECC material only, and
 * RSAES_OAEP_* for everything but RSA private keys.
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GetParametersForImport.html
 */
const SAMPLES: Record<WrappingAlgorithm, { viaNode: Sample; viaOpenssl: Sample }> = {
  RSAES_OAEP_SHA_1: { viaNode: SYMMETRIC, viaOpenssl: HMAC_512 },
  RSAES_OAEP_SHA_256: { viaNode: SYMMETRIC, viaOpenssl: HMAC_512 },
  RSA_AES_KEY_WRAP_SHA_1: { viaNode: ECC_P384, viaOpenssl: RSA_2048 },
  RSA_AES_KEY_WRAP_SHA_256: { viaNode: ECC_P384, viaOpenssl: RSA_2048 },
};

describe.each(Object.entries(WRAPPING_KEY_SPECS))("wrapKeyMaterial with an %s wrapping key", (spec, bits) => {
  let pair: RsaPair;
  beforeAll(() => {
    pair = rsaPair(bits);
  });

  it(`parses as ${spec}`, () => {
    expect(parseWrappingPublicKey(pair.publicKeyDer)).toMatchObject({
      wrappingKeySpec: spec,
      modulusBytes: bits / 8,
    });
  });

  describe.each(ALGORITHMS)("%s", (algorithm) => {
    const { viaNode, viaOpenssl } = SAMPLES[algorithm];

    it(`round-trips ${viaNode.keySpec} material through node's unwrap`, () => {
      const material = viaNode.material();
      const wrapped = wrapKeyMaterial(material, viaNode.keySpec, pair.publicKeyDer, algorithm);
      // RFC 5649 pads to a multiple of 8 bytes and prepends an 8-byte integrity block.
      const expectedLength = algorithm.startsWith("RSA_AES_")
        ? bits / 8 + Math.ceil(material.length / 8) * 8 + 8
        : bits / 8;
      expect(wrapped.length).toBe(expectedLength);
      expect(unwrapWithNode(wrapped, algorithm, pair).equals(material)).toBe(true);
    });

    it("never produces the same wrapping twice (fresh randomness)", () => {
      const material = viaNode.material();
      const a = wrapKeyMaterial(material, viaNode.keySpec, pair.publicKeyDer, algorithm);
      const b = wrapKeyMaterial(material, viaNode.keySpec, pair.publicKeyDer, algorithm);
      expect(a.equals(b)).toBe(false);
    });

    it.skipIf(opensslUnavailable !== undefined)(
      `round-trips ${viaOpenssl.keySpec} material through openssl's unwrap`,
      () => {
        const material = viaOpenssl.material();
        const wrapped = wrapKeyMaterial(material, viaOpenssl.keySpec, pair.publicKeyDer, algorithm);
        expect(unwrapWithOpenssl(wrapped, algorithm, pair).equals(material)).toBe(true);
      },
    );
  });

  describe.each([WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_1, WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_256])(
    "%s with asymmetric material",
    (algorithm) => {
      it.each([KeySpec.RSA_2048, KeySpec.ECC_NIST_P521])(
        "round-trips %s material through node and openssl",
        async (keySpec) => {
          const material = await generateMaterial(keySpec);
          const wrapped = wrapKeyMaterial(material, keySpec, pair.publicKeyDer, algorithm);
          expect(unwrapWithNode(wrapped, algorithm, pair).equals(material)).toBe(true);
          if (opensslUnavailable === undefined) {
            expect(unwrapWithOpenssl(wrapped, algorithm, pair).equals(material)).toBe(true);
          }
        },
      );
    },
  );
});

describe("wrapKeyMaterial refusals", () => {
  let pair2048: RsaPair;
  beforeAll(() => {
    pair2048 = rsaPair(2048);
  });

  it.each([WrappingAlgorithm.RSAES_OAEP_SHA_1, WrappingAlgorithm.RSAES_OAEP_SHA_256])(
    "refuses %s for RSA private keys, naming RSA_AES_KEY_WRAP_*",
    async (algorithm) => {
      const material = await generateMaterial(KeySpec.RSA_2048);
      expect(() => wrapKeyMaterial(material, KeySpec.RSA_2048, pair2048.publicKeyDer, algorithm)).toThrow(
        /RSA private key material \(RSA_2048\) needs RSA_AES_KEY_WRAP_SHA_256 or RSA_AES_KEY_WRAP_SHA_1/,
      );
    },
  );

  it("refuses ECC_NIST_P521 with RSA_2048 and RSAES_OAEP_*, as AWS documents", async () => {
    const material = await generateMaterial(KeySpec.ECC_NIST_P521);
    expect(() =>
      wrapKeyMaterial(
        material,
        KeySpec.ECC_NIST_P521,
        pair2048.publicKeyDer,
        WrappingAlgorithm.RSAES_OAEP_SHA_1,
      ),
    ).toThrow(/RSA_2048 wrapping key cannot wrap ECC_NIST_P521.*RSA_3072 or RSA_4096/);
  });

  it.each([
    [KeySpec.SYMMETRIC_DEFAULT, WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_256],
    [KeySpec.SYMMETRIC_DEFAULT, WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_1],
    [KeySpec.HMAC_256, WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_256],
    [KeySpec.HMAC_512, WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_1],
  ])(
    "refuses %s material with %s (documented for RSA and ECC material only), naming RSAES_OAEP_*",
    (keySpec, algorithm) => {
      expect(() => wrapKeyMaterial(randomBytes(32), keySpec, pair2048.publicKeyDer, algorithm)).toThrow(
        UnsupportedWrappingError,
      );
      expect(() => wrapKeyMaterial(randomBytes(32), keySpec, pair2048.publicKeyDer, algorithm)).toThrow(
        /documented for RSA and ECC key material only.*Use RSAES_OAEP_SHA_256 or RSAES_OAEP_SHA_1\./,
      );
    },
  );

  it("refuses material larger than OAEP can carry, naming what would fit", () => {
    const wrappingKey = { wrappingKeySpec: "RSA_2048" as WrappingKeySpec, modulusBytes: 256 };
    expect(oaepCapacity(256, WrappingAlgorithm.RSAES_OAEP_SHA_256)).toBe(190);
    expect(oaepCapacity(256, WrappingAlgorithm.RSAES_OAEP_SHA_1)).toBe(214);
    expect(oaepCapacity(512, WrappingAlgorithm.RSAES_OAEP_SHA_256)).toBe(446);
    expect(() =>
      assertWrappable(KeySpec.ECC_NIST_P384, 190, WrappingAlgorithm.RSAES_OAEP_SHA_256, wrappingKey),
    ).not.toThrow();
    expect(() =>
      assertWrappable(KeySpec.ECC_NIST_P384, 191, WrappingAlgorithm.RSAES_OAEP_SHA_256, wrappingKey),
    ).toThrow(
      "carries at most 190 bytes; this ECC_NIST_P384 material is 191 bytes. Use RSA_AES_KEY_WRAP_SHA_256 or RSA_AES_KEY_WRAP_SHA_1, or a RSA_3072 or RSA_4096 wrapping key",
    );
  });

  it("refuses RSAES_PKCS1_V1_5, which AWS no longer accepts", () => {
    expect(() =>
      wrapKeyMaterial(
        randomBytes(32),
        KeySpec.SYMMETRIC_DEFAULT,
        pair2048.publicKeyDer,
        "RSAES_PKCS1_V1_5" as WrappingAlgorithm,
      ),
    ).toThrow(/Unsupported wrapping algorithm "RSAES_PKCS1_V1_5"/);
  });

  it("refuses a wrapping key that is not RSA 2048/3072/4096, or not a key at all", () => {
    const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey.export({
      type: "spki",
      format: "der",
    });
    const small = generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey.export({
      type: "spki",
      format: "der",
    });
    for (const bad of [ec, small, randomBytes(300)]) {
      expect(() =>
        wrapKeyMaterial(
          randomBytes(32),
          KeySpec.SYMMETRIC_DEFAULT,
          bad,
          WrappingAlgorithm.RSAES_OAEP_SHA_256,
        ),
      ).toThrow(UnsupportedWrappingError);
    }
    expect(() => parseWrappingPublicKey(small)).toThrow("got rsa 1024 bits");
  });
});

describe("the ephemeral AES key of RSA_AES_KEY_WRAP_*", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("is zeroed after use (the buffer that held it; node's cipher context keeps its own copy)", () => {
    const pair = rsaPair(2048);
    const material = ECC_P384.material();
    const zeroed: Buffer[] = [];
    const originalFill = Buffer.prototype.fill;
    vi.spyOn(Buffer.prototype, "fill").mockImplementation(function (this: Buffer, ...args: unknown[]) {
      if (args[0] === 0 && this.length === 32) zeroed.push(Buffer.from(this));
      return (originalFill as (...a: unknown[]) => Buffer).apply(this, args);
    });
    const wrapped = wrapKeyMaterial(
      material,
      ECC_P384.keySpec,
      pair.publicKeyDer,
      WrappingAlgorithm.RSA_AES_KEY_WRAP_SHA_256,
    );
    vi.restoreAllMocks();
    const aesKey = unwrapWithNode(wrapped.subarray(0, 256), WrappingAlgorithm.RSAES_OAEP_SHA_256, pair);
    expect(zeroed.some((snapshot) => snapshot.equals(aesKey))).toBe(true);
  });
});
