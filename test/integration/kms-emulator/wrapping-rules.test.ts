/**
 * Which wrapping algorithm and wrapping key spec GetParametersForImport accepts for which KMS key, per
 * the WrappingAlgorithm parameter of
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GetParametersForImport.html:
 * RSA_AES_KEY_WRAP_* is "Supported for wrapping RSA and ECC key material", and RSAES_OAEP_* cannot be
 * used "with the RSA_2048 wrapping key spec to wrap ECC_NIST_P521 key material".
 */
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { CreateKeyCommand, DescribeKeyCommand, GetParametersForImportCommand } from "@aws-sdk/client-kms";
import { describe, expect, it } from "vitest";
import { importKeyMaterial, rejection, useKmsEmulator } from "../../support/kms-testbed.js";
import type { KmsWrappingAlgorithm } from "../../support/kms-wrap.js";

const local = useKmsEmulator("ap-northeast-1");

async function externalKey(keySpec: string, keyUsage?: string): Promise<string> {
  const out = await local.kms.send(
    new CreateKeyCommand({ Origin: "EXTERNAL", KeySpec: keySpec as never, KeyUsage: keyUsage as never }),
  );
  return out.KeyMetadata?.KeyId ?? "";
}

function params(keyId: string, algorithm: KmsWrappingAlgorithm, wrappingKeySpec = "RSA_2048") {
  return local.kms.send(
    new GetParametersForImportCommand({
      KeyId: keyId,
      WrappingAlgorithm: algorithm,
      WrappingKeySpec: wrappingKeySpec as never,
    }),
  );
}

async function keyState(keyId: string): Promise<string | undefined> {
  return (await local.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState;
}

const RSA_AES: KmsWrappingAlgorithm[] = ["RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"];
const OAEP: KmsWrappingAlgorithm[] = ["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"];

describe("RSA_AES_KEY_WRAP_* for symmetric and HMAC keys", () => {
  const keys: [string, string | undefined][] = [
    ["SYMMETRIC_DEFAULT", undefined],
    ["HMAC_224", "GENERATE_VERIFY_MAC"],
    ["HMAC_256", "GENERATE_VERIFY_MAC"],
    ["HMAC_384", "GENERATE_VERIFY_MAC"],
    ["HMAC_512", "GENERATE_VERIFY_MAC"],
  ];
  it.each(keys)(
    "refuses both RSA_AES algorithms for a %s key with ValidationException, and still offers OAEP",
    async (keySpec, keyUsage) => {
      const keyId = await externalKey(keySpec, keyUsage);
      for (const algorithm of RSA_AES) {
        const err = await rejection(params(keyId, algorithm));
        expect(err.name).toBe("ValidationException");
        expect(err.message).toContain(algorithm);
        expect(err.message).toContain(keySpec);
      }
      expect(await keyState(keyId)).toBe("PendingImport");
      for (const algorithm of OAEP) {
        expect((await params(keyId, algorithm)).PublicKey?.length).toBeGreaterThan(0);
      }
    },
  );

  it.each([
    ["RSA_2048", "ENCRYPT_DECRYPT"],
    ["RSA_4096", "SIGN_VERIFY"],
    ["ECC_NIST_P256", "SIGN_VERIFY"],
    ["ECC_SECG_P256K1", "SIGN_VERIFY"],
    ["ECC_NIST_P384", "KEY_AGREEMENT"],
  ])("offers both RSA_AES algorithms for a %s (%s) key", async (keySpec, keyUsage) => {
    const keyId = await externalKey(keySpec, keyUsage);
    for (const algorithm of RSA_AES) {
      const out = await params(keyId, algorithm);
      expect(out.PublicKey?.length).toBeGreaterThan(0);
      expect(out.ImportToken?.length).toBeGreaterThan(0);
    }
  });

  it("refuses before anything is wrapped, and the same key then imports under OAEP", async () => {
    const keyId = await externalKey("SYMMETRIC_DEFAULT");
    expect((await rejection(params(keyId, "RSA_AES_KEY_WRAP_SHA_256"))).name).toBe("ValidationException");
    await importKeyMaterial(local.kms, keyId, randomBytes(32), { algorithm: "RSAES_OAEP_SHA_256" });
    expect(await keyState(keyId)).toBe("Enabled");
  });
});

describe("ECC_NIST_P521 material with an RSA_2048 wrapping key", () => {
  const p521 = () =>
    generateKeyPairSync("ec", { namedCurve: "secp521r1" }).privateKey.export({
      type: "pkcs8",
      format: "der",
    });

  it.each(OAEP)("refuses %s with RSA_2048 with ValidationException", async (algorithm) => {
    const keyId = await externalKey("ECC_NIST_P521", "SIGN_VERIFY");
    const err = await rejection(params(keyId, algorithm, "RSA_2048"));
    expect(err.name).toBe("ValidationException");
    for (const word of [algorithm, "RSA_2048", "ECC_NIST_P521"]) expect(err.message).toContain(word);
    expect(await keyState(keyId)).toBe("PendingImport");
  });

  it("accepts OAEP with a larger wrapping key, and RSA_AES_KEY_WRAP with RSA_2048", async () => {
    const viaOaep = await externalKey("ECC_NIST_P521", "SIGN_VERIFY");
    await importKeyMaterial(local.kms, viaOaep, p521(), {
      algorithm: "RSAES_OAEP_SHA_256",
      wrappingKeySpec: "RSA_3072",
    });
    expect(await keyState(viaOaep)).toBe("Enabled");
    const viaRsaAes = await externalKey("ECC_NIST_P521", "SIGN_VERIFY");
    await importKeyMaterial(local.kms, viaRsaAes, p521(), {
      algorithm: "RSA_AES_KEY_WRAP_SHA_256",
      wrappingKeySpec: "RSA_2048",
    });
    expect(await keyState(viaRsaAes)).toBe("Enabled");
  });

  it("refuses OAEP with RSA_2048 for no other curve", async () => {
    for (const keySpec of ["ECC_NIST_P256", "ECC_NIST_P384", "ECC_SECG_P256K1"]) {
      const keyId = await externalKey(keySpec, "SIGN_VERIFY");
      for (const algorithm of OAEP) {
        expect((await params(keyId, algorithm, "RSA_2048")).PublicKey?.length).toBeGreaterThan(0);
      }
    }
  });
});
