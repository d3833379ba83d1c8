import { randomBytes, randomUUID } from "node:crypto";
import {
  CreateKeyCommand,
  DecryptCommand,
  EncryptCommand,
  GetParametersForImportCommand,
  ImportKeyMaterialCommand,
} from "@aws-sdk/client-kms";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KeySpec, WrappingAlgorithm } from "../../../lib/domain/kms-constants.js";
import { MaterialAlreadyExistsError, MaterialNotFoundError, VaultError } from "../../../lib/vault/errors.js";
import { SecretsManagerVault, secretsManagerVault } from "../../../lib/vault/secrets-manager/index.js";
import {
  MOTO_CREDENTIALS,
  MOTO_REGION,
  type MotoServer,
  motoAvailable,
  startMoto,
} from "../../deploy/support/moto.js";
import { useKmsEmulator } from "../../support/kms-testbed.js";

/**
 * The Secrets Manager vault against moto's server over HTTP (STS AssumeRole and Secrets Manager through
 * the real SDK), importing into the local KMS emulator. moto does not enforce IAM, so AccessDenied is shown
 * with aws-sdk-client-mock, the only mocked case here.
 */
const available = motoAvailable();
if (!available)
  console.warn("Skipping Secrets Manager vault tests: python3 -m moto.server is not available here.");

describe.skipIf(!available)("SecretsManagerVault with moto and the local KMS", () => {
  const testbed = useKmsEmulator("us-east-1");
  let moto: MotoServer;
  let vault: SecretsManagerVault;

  beforeAll(async () => {
    moto = await startMoto();
    vault = secretsManagerVault(
      {
        provider: "secrets-manager",
        roleArn: "arn:aws:iam::123456789012:role/tether-vault-access",
        externalId: "tether-test-external-id",
        region: MOTO_REGION,
        secretPrefix: `tether-${randomUUID().slice(0, 8)}/`,
        sessionName: "tether-test",
        endpoint: moto.url,
        stsEndpoint: moto.url,
      },
      { credentials: MOTO_CREDENTIALS },
    );
  }, 30_000);

  afterAll(async () => {
    await moto?.stop();
  });

  async function importAndRoundTrip(ref: string): Promise<string> {
    const kms = testbed.kms;
    const key = await kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    const keyId = key.KeyMetadata?.KeyId as string;
    const parameters = await kms.send(
      new GetParametersForImportCommand({
        KeyId: keyId,
        WrappingAlgorithm: WrappingAlgorithm.RSAES_OAEP_SHA_256,
        WrappingKeySpec: "RSA_2048",
      }),
    );
    const wrapped = await vault.wrap(
      ref,
      parameters.PublicKey as Uint8Array,
      WrappingAlgorithm.RSAES_OAEP_SHA_256,
    );
    await kms.send(
      new ImportKeyMaterialCommand({
        KeyId: keyId,
        ImportToken: parameters.ImportToken,
        EncryptedKeyMaterial: wrapped,
        ExpirationModel: "KEY_MATERIAL_DOES_NOT_EXPIRE",
      }),
    );
    const ciphertext = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from("hello") }));
    const plain = await kms.send(
      new DecryptCommand({ KeyId: keyId, CiphertextBlob: ciphertext.CiphertextBlob }),
    );
    return Buffer.from(plain.Plaintext as Uint8Array).toString();
  }

  it("stores material as a binary secret, finds it, wraps it and KMS imports and decrypts with it", async () => {
    const ref = "team/key-1";
    const material = randomBytes(32);
    expect(await vault.has(ref)).toBe(false);
    const { checkValue } = await vault.put(ref, material, KeySpec.SYMMETRIC_DEFAULT);
    expect(await vault.has(ref)).toBe(true);
    expect(await vault.checkValue(ref)).toBe(checkValue);
    expect(await importAndRoundTrip(ref)).toBe("hello");

    // The bytes really are the secret's SecretBinary, under prefix + reference.
    const direct = new SecretsManagerClient({
      endpoint: moto.url,
      region: MOTO_REGION,
      credentials: MOTO_CREDENTIALS,
    });
    const stored = await direct.send(new GetSecretValueCommand({ SecretId: vault.secretId(ref) }));
    expect(Buffer.from(stored.SecretBinary as Uint8Array).equals(material)).toBe(true);
    direct.destroy();
  });

  it("generates new material with CreateSecret and refuses to overwrite it", async () => {
    const ref = "team/generated";
    const { checkValue } = await vault.generate(ref, KeySpec.SYMMETRIC_DEFAULT);
    expect(await vault.checkValue(ref)).toBe(checkValue);
    await expect(vault.generate(ref, KeySpec.SYMMETRIC_DEFAULT)).rejects.toBeInstanceOf(
      MaterialAlreadyExistsError,
    );
    await expect(vault.put(ref, randomBytes(32), KeySpec.SYMMETRIC_DEFAULT)).rejects.toBeInstanceOf(
      MaterialAlreadyExistsError,
    );
    expect(await vault.checkValue(ref)).toBe(checkValue);
    expect(await importAndRoundTrip(ref)).toBe("hello");
  });

  it("describes a reference by the key spec recorded with it", async () => {
    await vault.generate("team/described", KeySpec.HMAC_256);
    expect(await vault.describe("team/described")).toEqual({ keySpecs: [KeySpec.HMAC_256] });
  });

  it("names a missing secret and wraps nothing", async () => {
    const kms = testbed.kms;
    const key = await kms.send(new CreateKeyCommand({ Origin: "EXTERNAL" }));
    const parameters = await kms.send(
      new GetParametersForImportCommand({
        KeyId: key.KeyMetadata?.KeyId,
        WrappingAlgorithm: WrappingAlgorithm.RSAES_OAEP_SHA_256,
        WrappingKeySpec: "RSA_2048",
      }),
    );
    const error = await vault
      .wrap("team/absent", parameters.PublicKey as Uint8Array, WrappingAlgorithm.RSAES_OAEP_SHA_256)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MaterialNotFoundError);
    expect((error as Error).message).toContain("team/absent");
    expect(await vault.has("team/absent")).toBe(false);
  });
});

describe("SecretsManagerVault when the vault account denies access (aws-sdk-client-mock: moto enforces no IAM)", () => {
  it("turns AccessDeniedException into a VaultError naming the secret, not the SDK message", async () => {
    const client = new SecretsManagerClient({ region: "eu-west-1", credentials: MOTO_CREDENTIALS });
    const mock = mockClient(client);
    const denied = Object.assign(new Error("User: arn:aws:sts::1:assumed-role/x is not authorized"), {
      name: "AccessDeniedException",
      $metadata: { httpStatusCode: 400 },
    });
    mock.rejects(denied);
    const vault = new SecretsManagerVault({ client, secretPrefix: "tether/" });
    const error = await vault.checkValue("team/key-1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(VaultError);
    expect((error as Error).message).toMatch(/denied Tether access to read secret "tether\/team\/key-1"/);
    expect((error as Error).message).not.toContain("not authorized");
    expect(await vault.has("team/key-1").catch((e: unknown) => e)).toBeInstanceOf(VaultError);
    mock.restore();
  });
});
