import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { KeySpec } from "../../../lib/domain/kms-constants.js";
import { checkValuesEqual, computeCheckValue } from "../../../lib/vault/check-value.js";
import { generateMaterial } from "../../../lib/vault/material.js";
import { opensslUnavailable, run } from "./support.js";

if (opensslUnavailable) console.warn(`Skipping openssl cross-checks of check values: ${opensslUnavailable}`);

describe("computeCheckValue", () => {
  describe("SYMMETRIC_DEFAULT (AES key check value)", () => {
    it("matches the known answer for the all-zero AES-256 key", () => {
      // AES-256(key = 0^32, block = 0^16) = dc95c078a2408989ad48a21492842087
      expect(computeCheckValue(KeySpec.SYMMETRIC_DEFAULT, Buffer.alloc(32))).toBe("kcv-aes:DC95C0");
    });

    it.skipIf(opensslUnavailable !== undefined)("matches openssl's AES-256-ECB of a zero block", () => {
      const key = randomBytes(32);
      const block = run(
        "openssl",
        ["enc", "-aes-256-ecb", "-nopad", "-K", key.toString("hex")],
        Buffer.alloc(16),
      );
      expect(computeCheckValue(KeySpec.SYMMETRIC_DEFAULT, key)).toBe(
        `kcv-aes:${block.subarray(0, 3).toString("hex").toUpperCase()}`,
      );
    });
  });

  describe("other material (keyed HMAC-SHA256)", () => {
    it.skipIf(opensslUnavailable !== undefined)("matches openssl's HMAC-SHA256 over the label", () => {
      const key = randomBytes(64);
      const out = run(
        "openssl",
        ["dgst", "-sha256", "-mac", "HMAC", "-macopt", `hexkey:${key.toString("hex")}`, "-binary"],
        Buffer.from("tether check value v1"),
      );
      expect(computeCheckValue(KeySpec.HMAC_512, key)).toBe(
        `hmac-sha256:${out.subarray(0, 16).toString("hex")}`,
      );
    });

    it.each([KeySpec.HMAC_224, KeySpec.RSA_2048, KeySpec.ECC_NIST_P256])(
      "has the hmac-sha256 form for %s",
      async (spec) => {
        const material = await generateMaterial(spec);
        const value = computeCheckValue(spec, material);
        expect(value).toMatch(/^hmac-sha256:[0-9a-f]{32}$/);
        expect(value).not.toContain(material.subarray(0, 8).toString("hex"));
      },
    );
  });

  it("is stable for the same bytes and differs for different bytes", () => {
    const a = randomBytes(32);
    const b = Buffer.from(a);
    b[31] = (b[31] as number) ^ 1;
    expect(computeCheckValue(KeySpec.SYMMETRIC_DEFAULT, a)).toBe(
      computeCheckValue(KeySpec.SYMMETRIC_DEFAULT, Buffer.from(a)),
    );
    expect(computeCheckValue(KeySpec.SYMMETRIC_DEFAULT, a)).not.toBe(
      computeCheckValue(KeySpec.SYMMETRIC_DEFAULT, b),
    );
    expect(computeCheckValue(KeySpec.HMAC_256, a)).not.toBe(computeCheckValue(KeySpec.HMAC_256, b));
  });
});

describe("checkValuesEqual", () => {
  it("is true only for identical strings", () => {
    expect(checkValuesEqual("kcv-aes:DC95C0", "kcv-aes:DC95C0")).toBe(true);
    expect(checkValuesEqual("kcv-aes:DC95C0", "kcv-aes:DC95C1")).toBe(false);
    expect(checkValuesEqual("kcv-aes:DC95C0", "kcv-aes:DC95C")).toBe(false);
    expect(checkValuesEqual("", "")).toBe(true);
  });
});
