import { randomBytes, randomUUID } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
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
import { loadVaultSettings } from "../../../lib/config.js";
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
        sourceIdentity: "tether-test",
        access: "read-create",
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

describe.skipIf(!available)(
  "the vault session each function assumes (AssumeRole as moto receives it)",
  () => {
    let moto: MotoServer;
    let proxy: { url: string; assumeRoles: URLSearchParams[]; close: () => Promise<void> };

    beforeAll(async () => {
      moto = await startMoto();
      // moto answers AssumeRole but keeps neither the session policy nor the SourceIdentity where a test can
      // read them back: a pass-through proxy in front of it records each AssumeRole request as sent.
      const assumeRoles: URLSearchParams[] = [];
      const server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", async () => {
          const body = Buffer.concat(chunks);
          const form = new URLSearchParams(body.toString("utf8"));
          if (form.get("Action") === "AssumeRole") assumeRoles.push(form);
          const headers = Object.fromEntries(
            Object.entries(req.headers).filter(([k, v]) => typeof v === "string" && k !== "host"),
          ) as Record<string, string>;
          const answer = await fetch(`${moto.url}${req.url ?? "/"}`, {
            method: req.method ?? "POST",
            headers,
            ...(body.length === 0 ? {} : { body }),
          });
          res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "text/xml" });
          res.end(Buffer.from(await answer.arrayBuffer()));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      proxy = {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        assumeRoles,
        close: () => new Promise<void>((resolve) => server.close(() => resolve())),
      };
    }, 30_000);

    afterAll(async () => {
      await proxy?.close();
      await moto?.stop();
    });

    const env = (functionName: string) => ({
      TETHER_VAULT: "secrets-manager",
      AWS_REGION: MOTO_REGION,
      AWS_LAMBDA_FUNCTION_NAME: functionName,
      TETHER_SM_ROLE_ARN: "arn:aws:iam::444455556666:role/tether-vault-access",
      TETHER_SM_EXTERNAL_ID: "tether-test-external-id",
      TETHER_SM_SECRET_PREFIX: "tether-prod/",
      TETHER_SM_ENDPOINT: moto.url,
      TETHER_SM_STS_ENDPOINT: proxy.url,
    });

    async function assumeRoleOf(functionName: string): Promise<URLSearchParams> {
      const before = proxy.assumeRoles.length;
      const settings = loadVaultSettings(env(functionName));
      if (settings.provider !== "secrets-manager") throw new Error("not the Secrets Manager vault");
      const vault = secretsManagerVault(settings, { credentials: MOTO_CREDENTIALS });
      expect(await vault.has("team/absent")).toBe(false);
      expect(proxy.assumeRoles).toHaveLength(before + 1);
      return proxy.assumeRoles[before] as URLSearchParams;
    }

    it("kms-events reads only, under the deployment's prefix, named in the session and as SourceIdentity", async () => {
      const request = await assumeRoleOf("tether-prod-kms-events");
      expect(request.get("RoleArn")).toBe("arn:aws:iam::444455556666:role/tether-vault-access");
      expect(request.get("ExternalId")).toBe("tether-test-external-id");
      expect(request.get("RoleSessionName")).toBe("tether-prod-kms-events");
      expect(request.get("SourceIdentity")).toBe("tether-prod-kms-events");
      expect(JSON.parse(request.get("Policy") as string)).toEqual({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "ReadMaterial",
            Effect: "Allow",
            Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            Resource: `arn:aws:secretsmanager:${MOTO_REGION}:444455556666:secret:tether-prod/*`,
          },
        ],
      });
    });

    it.each(["tether-prod-api", "tether-prod-sweep", "tether-prod-sweep-partition"])(
      "%s may also create material there",
      async (name) => {
        const request = await assumeRoleOf(name);
        expect(request.get("RoleSessionName")).toBe(name);
        expect(request.get("SourceIdentity")).toBe(name);
        const policy = JSON.parse(request.get("Policy") as string) as {
          Statement: Array<{ Action: string[] }>;
        };
        expect(policy.Statement.map((s) => s.Action)).toEqual([
          ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
          ["secretsmanager:CreateSecret", "secretsmanager:TagResource"],
        ]);
      },
    );

    it("a Lambda that is none of Tether's functions is refused at cold start, naming the variable", () => {
      expect(() => loadVaultSettings(env("someone-elses-function"))).toThrow(
        /AWS_LAMBDA_FUNCTION_NAME: "someone-elses-function" is not one of Tether's functions/,
      );
    });
  },
);

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
