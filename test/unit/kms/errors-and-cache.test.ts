import { describe, expect, it } from "vitest";
import {
  IncorrectKeyMaterialError,
  KmsImportTokenError,
  KmsInvalidStateError,
  KmsNotFoundError,
  KmsThrottledError,
} from "../../../lib/domain/errors.js";
import { translateKmsError } from "../../../lib/kms/errors.js";
import { ImportParametersCache } from "../../../lib/kms/import-parameters.js";

const context = { keyId: "k", region: "eu-west-1", operation: "ImportKeyMaterial" };
const sdkError = (name: string) => Object.assign(new Error("from AWS"), { name });

describe("translateKmsError", () => {
  it.each([
    ["ExpiredImportTokenException", KmsImportTokenError],
    ["InvalidImportTokenException", KmsImportTokenError],
    ["InvalidCiphertextException", KmsImportTokenError],
    ["IncorrectKeyMaterialException", IncorrectKeyMaterialError],
    ["KMSInvalidStateException", KmsInvalidStateError],
    ["NotFoundException", KmsNotFoundError],
    ["ThrottlingException", KmsThrottledError],
  ])("turns %s into its domain error, keeping the cause", (name, type) => {
    const original = sdkError(name);
    const translated = translateKmsError(original, context);
    expect(translated).toBeInstanceOf(type);
    expect((translated as Error).cause).toBe(original);
  });

  it("lets unknown errors pass untouched", () => {
    const original = sdkError("KMSInternalException");
    expect(translateKmsError(original, context)).toBe(original);
    expect(translateKmsError("odd", context)).toBe("odd");
  });
});

describe("ImportParametersCache", () => {
  const wrapping = { wrappingAlgorithm: "RSAES_OAEP_SHA_256", wrappingKeySpec: "RSA_4096" } as const;
  const parameters = (validTo: number) => ({
    publicKey: new Uint8Array([1]),
    importToken: new Uint8Array([2]),
    validTo: new Date(validTo),
  });

  it("reuses a pair until the safety margin before ParametersValidTo", () => {
    const cache = new ImportParametersCache({ safetyMarginMs: 1000 });
    cache.set("eu-west-1", "k", wrapping, parameters(10_000));
    expect(cache.get("eu-west-1", "k", wrapping, new Date(8_999))).toBeDefined();
    expect(cache.get("eu-west-1", "k", wrapping, new Date(9_000))).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("keeps Regions, keys and wrapping choices apart, and drops on request", () => {
    const cache = new ImportParametersCache({ safetyMarginMs: 0 });
    cache.set("eu-west-1", "k", wrapping, parameters(10_000));
    expect(cache.get("us-east-1", "k", wrapping, new Date(0))).toBeUndefined();
    expect(cache.get("eu-west-1", "other", wrapping, new Date(0))).toBeUndefined();
    expect(
      cache.get("eu-west-1", "k", { ...wrapping, wrappingKeySpec: "RSA_2048" }, new Date(0)),
    ).toBeUndefined();
    cache.drop("eu-west-1", "k", wrapping);
    expect(cache.get("eu-west-1", "k", wrapping, new Date(0))).toBeUndefined();
  });

  it("evicts the oldest entry when full", () => {
    const cache = new ImportParametersCache({ safetyMarginMs: 0, maxEntries: 2 });
    cache.set("r", "a", wrapping, parameters(10_000));
    cache.set("r", "b", wrapping, parameters(10_000));
    cache.set("r", "c", wrapping, parameters(10_000));
    expect(cache.get("r", "a", wrapping, new Date(0))).toBeUndefined();
    expect(cache.get("r", "c", wrapping, new Date(0))).toBeDefined();
  });
});
