/**
 * Conformance of the cryptographic operations the import path depends on: ciphertexts bound to key
 * and material, key-state errors, HMAC and signatures with imported material.
 */
import { createHash, generateKeyPairSync, randomBytes, verify } from "node:crypto";
import {
  CreateKeyCommand,
  DecryptCommand,
  DeleteImportedKeyMaterialCommand,
  DisableKeyCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateMacCommand,
  GetPublicKeyCommand,
  SignCommand,
  VerifyCommand,
  VerifyMacCommand,
} from "@aws-sdk/client-kms";
import { describe, expect, it } from "vitest";
import { importKeyMaterial, rejection, useKmsEmulator } from "../../support/kms-testbed.js";

const local = useKmsEmulator("eu-central-1");

async function keyWith(material: Buffer): Promise<string> {
  const out = await local.kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
  const keyId = out.KeyMetadata?.KeyId ?? "";
  await importKeyMaterial(local.kms, keyId, material);
  return keyId;
}

describe("symmetric ciphertexts", () => {
  it("round-trip with the encryption context as AAD, and fail without it", async () => {
    const keyId = await keyWith(randomBytes(32));
    const ctx = { purpose: "test" };
    const blob = await local.kms.send(
      new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("secret"), EncryptionContext: ctx }),
    );
    const ok = await local.kms.send(
      new DecryptCommand({ CiphertextBlob: blob.CiphertextBlob, EncryptionContext: ctx }),
    );
    expect(Buffer.from(ok.Plaintext ?? []).toString()).toBe("secret");
    expect(ok.KeyId).toBe(blob.KeyId);
    const err = await rejection(local.kms.send(new DecryptCommand({ CiphertextBlob: blob.CiphertextBlob })));
    expect(err.name).toBe("InvalidCiphertextException");
  });

  it("do not decrypt under an unrelated key holding the same bytes", async () => {
    const material = randomBytes(32);
    const keyA = await keyWith(material);
    const keyB = await keyWith(material);
    const blob = await local.kms.send(new EncryptCommand({ KeyId: keyA, Plaintext: Buffer.from("only A") }));
    const wrongKey = await rejection(
      local.kms.send(new DecryptCommand({ CiphertextBlob: blob.CiphertextBlob, KeyId: keyB })),
    );
    expect(wrongKey.name).toBe("IncorrectKeyException");
    expect(wrongKey.message).toBe(
      "The key ID in the request does not identify a CMK that can perform this operation.",
    );
    // Even with the blob re-labelled for key B, B's data key differs.
    const relabelled = Buffer.from(
      Buffer.from(blob.CiphertextBlob ?? [])
        .toString("latin1")
        .replace(keyA, keyB),
      "latin1",
    );
    const forged = await rejection(local.kms.send(new DecryptCommand({ CiphertextBlob: relabelled })));
    expect(forged.name).toBe("InvalidCiphertextException");
  });

  it("refuse Decrypt while PendingImport (KMSInvalidStateException) and while Disabled (DisabledException)", async () => {
    const material = randomBytes(32);
    const keyId = await keyWith(material);
    const blob = await local.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("x") }));
    await local.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
    const pending = await rejection(
      local.kms.send(new DecryptCommand({ CiphertextBlob: blob.CiphertextBlob })),
    );
    expect(pending.name).toBe("KMSInvalidStateException");
    expect(pending.message).toMatch(/is pending import\.$/);
    await importKeyMaterial(local.kms, keyId, material);
    await local.kms.send(new DisableKeyCommand({ KeyId: keyId }));
    const disabled = await rejection(
      local.kms.send(new DecryptCommand({ CiphertextBlob: blob.CiphertextBlob })),
    );
    expect(disabled.name).toBe("DisabledException");
    expect(disabled.message).toMatch(/is disabled\.$/);
  });

  it("decrypt again after the same bytes are reimported", async () => {
    const material = randomBytes(32);
    const keyId = await keyWith(material);
    const data = await local.kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: "AES_256" }));
    await local.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
    await importKeyMaterial(local.kms, keyId, material);
    const out = await local.kms.send(new DecryptCommand({ CiphertextBlob: data.CiphertextBlob }));
    expect(Buffer.from(out.Plaintext ?? []).equals(Buffer.from(data.Plaintext ?? []))).toBe(true);
  });

  it("reject a blob that is not a ciphertext", async () => {
    const err = await rejection(local.kms.send(new DecryptCommand({ CiphertextBlob: randomBytes(80) })));
    expect(err.name).toBe("InvalidCiphertextException");
  });
});

describe("HMAC and signing keys with imported material", () => {
  it("GenerateMac uses the imported bytes; VerifyMac refuses a wrong MAC", async () => {
    const material = randomBytes(48);
    const key = await local.kms.send(
      new CreateKeyCommand({ Origin: "EXTERNAL", KeySpec: "HMAC_384", KeyUsage: "GENERATE_VERIFY_MAC" }),
    );
    const keyId = key.KeyMetadata?.KeyId ?? "";
    await importKeyMaterial(local.kms, keyId, material);
    const msg = Buffer.from("message");
    const mac = await local.kms.send(
      new GenerateMacCommand({ KeyId: keyId, Message: msg, MacAlgorithm: "HMAC_SHA_384" }),
    );
    const { createHmac } = await import("node:crypto");
    expect(Buffer.from(mac.Mac ?? []).equals(createHmac("sha384", material).update(msg).digest())).toBe(true);
    const ok = await local.kms.send(
      new VerifyMacCommand({ KeyId: keyId, Message: msg, Mac: mac.Mac, MacAlgorithm: "HMAC_SHA_384" }),
    );
    expect(ok.MacValid).toBe(true);
    const bad = await rejection(
      local.kms.send(
        new VerifyMacCommand({
          KeyId: keyId,
          Message: Buffer.from("other"),
          Mac: mac.Mac,
          MacAlgorithm: "HMAC_SHA_384",
        }),
      ),
    );
    expect(bad.name).toBe("KMSInvalidMacException");
    const wrongAlg = await rejection(
      local.kms.send(new GenerateMacCommand({ KeyId: keyId, Message: msg, MacAlgorithm: "HMAC_SHA_256" })),
    );
    expect(wrongAlg.name).toBe("InvalidKeyUsageException");
  });

  it("Sign with imported EC material verifies under the material's public key", async () => {
    const pair = generateKeyPairSync("ec", { namedCurve: "secp384r1" });
    const key = await local.kms.send(
      new CreateKeyCommand({ Origin: "EXTERNAL", KeySpec: "ECC_NIST_P384", KeyUsage: "SIGN_VERIFY" }),
    );
    const keyId = key.KeyMetadata?.KeyId ?? "";
    await importKeyMaterial(local.kms, keyId, pair.privateKey.export({ type: "pkcs8", format: "der" }));
    const msg = Buffer.from("sign me");
    const sig = await local.kms.send(
      new SignCommand({ KeyId: keyId, Message: msg, SigningAlgorithm: "ECDSA_SHA_384" }),
    );
    expect(verify("sha384", msg, pair.publicKey, Buffer.from(sig.Signature ?? []))).toBe(true);
    const v = await local.kms.send(
      new VerifyCommand({
        KeyId: keyId,
        Message: msg,
        Signature: sig.Signature,
        SigningAlgorithm: "ECDSA_SHA_384",
      }),
    );
    expect(v.SignatureValid).toBe(true);
    const pub = await local.kms.send(new GetPublicKeyCommand({ KeyId: keyId }));
    expect(
      Buffer.from(pub.PublicKey ?? []).equals(pair.publicKey.export({ type: "spki", format: "der" })),
    ).toBe(true);
    const bad = await rejection(
      local.kms.send(
        new VerifyCommand({
          KeyId: keyId,
          Message: Buffer.from("other"),
          Signature: sig.Signature,
          SigningAlgorithm: "ECDSA_SHA_384",
        }),
      ),
    );
    expect(bad.name).toBe("KMSInvalidSignatureException");
  });

  it("Sign with imported RSA material: PSS and PKCS#1 (raw message and digest)", async () => {
    const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const key = await local.kms.send(
      new CreateKeyCommand({ Origin: "EXTERNAL", KeySpec: "RSA_2048", KeyUsage: "SIGN_VERIFY" }),
    );
    const keyId = key.KeyMetadata?.KeyId ?? "";
    await importKeyMaterial(local.kms, keyId, pair.privateKey.export({ type: "pkcs8", format: "der" }), {
      algorithm: "RSA_AES_KEY_WRAP_SHA_256",
    });
    const msg = Buffer.from("rsa message");
    const pss = await local.kms.send(
      new SignCommand({ KeyId: keyId, Message: msg, SigningAlgorithm: "RSASSA_PSS_SHA_256" }),
    );
    const { constants } = await import("node:crypto");
    expect(
      verify(
        "sha256",
        msg,
        { key: pair.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
        Buffer.from(pss.Signature ?? []),
      ),
    ).toBe(true);
    const digest = createHash("sha512").update(msg).digest();
    const pkcs = await local.kms.send(
      new SignCommand({
        KeyId: keyId,
        Message: digest,
        MessageType: "DIGEST",
        SigningAlgorithm: "RSASSA_PKCS1_V1_5_SHA_512",
      }),
    );
    expect(verify("sha512", msg, pair.publicKey, Buffer.from(pkcs.Signature ?? []))).toBe(true);
    const badDigest = await rejection(
      local.kms.send(
        new SignCommand({
          KeyId: keyId,
          Message: digest.subarray(1),
          MessageType: "DIGEST",
          SigningAlgorithm: "RSASSA_PKCS1_V1_5_SHA_512",
        }),
      ),
    );
    expect(badDigest.name).toBe("ValidationException");
    expect(badDigest.message).toBe("Digest is invalid length for algorithm RSASSA_PKCS1_V1_5_SHA_512.");
  });

  it("refuses Encrypt with a signing key (InvalidKeyUsageException with AWS's message)", async () => {
    const pair = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
    const key = await local.kms.send(
      new CreateKeyCommand({ Origin: "EXTERNAL", KeySpec: "ECC_NIST_P256", KeyUsage: "SIGN_VERIFY" }),
    );
    await importKeyMaterial(
      local.kms,
      key.KeyMetadata?.KeyId ?? "",
      pair.privateKey.export({ type: "pkcs8", format: "der" }),
    );
    const err = await rejection(
      local.kms.send(new EncryptCommand({ KeyId: key.KeyMetadata?.KeyId, Plaintext: Buffer.from("x") })),
    );
    expect(err.name).toBe("InvalidKeyUsageException");
    expect(err.message).toBe(
      `${key.KeyMetadata?.Arn} key usage is SIGN_VERIFY which is not valid for Encrypt.`,
    );
  });
});
