/**
 * The vault's secret read by reference (TETHER_VAULT_SECRET_REF) from SSM Parameter Store and Secrets Manager,
 * against moto's server over HTTP through the real SDK.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../lib/config.js";
import { KeySpec } from "../../../lib/domain/kms-constants.js";
import { FileVault } from "../../../lib/vault/file/file-vault.js";
import { vaultFromEnv } from "../../../lib/vault/from-config.js";
import { resolveVaultSecret, type SecretStoreClients } from "../../../lib/vault/secret-reference.js";
import {
  MOTO_CREDENTIALS,
  MOTO_REGION,
  type MotoServer,
  motoAvailable,
  startMoto,
} from "../../deploy/support/moto.js";

const available = motoAvailable();
if (!available)
  console.warn("Skipping vault secret reference tests: python3 -m moto.server is not available here.");

const ACCOUNT = "123456789012";

describe.skipIf(!available)("resolveVaultSecret with moto", () => {
  let moto: MotoServer;
  let ssm: SSMClient;
  let secrets: SecretsManagerClient;
  let clients: SecretStoreClients;
  let dir: string;
  const run = randomUUID().slice(0, 8);

  beforeAll(async () => {
    moto = await startMoto();
    const common = { endpoint: moto.url, region: MOTO_REGION, credentials: MOTO_CREDENTIALS };
    ssm = new SSMClient(common);
    secrets = new SecretsManagerClient(common);
    clients = { ssm: () => ssm, secretsManager: () => secrets };
    dir = await mkdtemp(join(tmpdir(), "tether-secret-ref-"));
  }, 30_000);

  afterAll(async () => {
    ssm?.destroy();
    secrets?.destroy();
    await moto?.stop();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  const parameterArn = (name: string) => `arn:aws:ssm:${MOTO_REGION}:${ACCOUNT}:parameter${name}`;

  async function secureString(name: string, value: string, type: "SecureString" | "String" = "SecureString") {
    await ssm.send(new PutParameterCommand({ Name: name, Value: value, Type: type }));
    return parameterArn(name);
  }

  it("gives the file vault its passphrase from an SSM SecureString, and the vault opens with it", async () => {
    const passphrase = `pass-${randomBytes(12).toString("hex")}`;
    const arn = await secureString(`/tether/${run}/file-vault-passphrase`, passphrase);
    const directory = join(dir, "vault");
    const { checkValue } = await new FileVault({
      directory,
      passphrase,
      scrypt: { N: 2 ** 14, r: 8, p: 1 },
    }).generate("team/by-reference", KeySpec.SYMMETRIC_DEFAULT);
    const env = { TETHER_VAULT: "file", TETHER_FILE_VAULT_DIR: directory, TETHER_VAULT_SECRET_REF: arn };

    const resolved = await resolveVaultSecret(env, clients);

    expect(resolved.TETHER_FILE_VAULT_PASSPHRASE).toBe(passphrase);
    expect(env).not.toHaveProperty("TETHER_FILE_VAULT_PASSPHRASE");
    expect(await vaultFromEnv(resolved).checkValue("team/by-reference")).toBe(checkValue);
  });

  it("gives the HashiCorp vault its token from a Secrets Manager SecretString", async () => {
    const token = `hvs.${randomBytes(12).toString("hex")}`;
    const created = await secrets.send(
      new CreateSecretCommand({ Name: `tether/${run}/hcv-token`, SecretString: token }),
    );
    const resolved = await resolveVaultSecret(
      { TETHER_VAULT: "hashicorp", TETHER_VAULT_SECRET_REF: created.ARN as string },
      clients,
    );
    expect(resolved.TETHER_HCV_TOKEN).toBe(token);
  });

  it("gives the PKCS#11 vault its PIN through the variable TETHER_PKCS11_PIN_SECRET_ENV names", async () => {
    const arn = await secureString(`/tether/${run}/hsm-pin`, "87654321");
    const resolved = await resolveVaultSecret(
      { TETHER_VAULT: "pkcs11", TETHER_VAULT_SECRET_REF: arn },
      clients,
    );
    expect(resolved.TETHER_PKCS11_PIN_SECRET_ENV).toBe("TETHER_PKCS11_PIN");
    expect(resolved.TETHER_PKCS11_PIN).toBe("87654321");
  });

  it("refuses a plain String parameter, a binary secret and a missing one, never quoting a value", async () => {
    const plainValue = `visible-${randomBytes(8).toString("hex")}`;
    const plain = await secureString(`/tether/${run}/plain`, plainValue, "String");
    const binary = await secrets.send(
      new CreateSecretCommand({ Name: `tether/${run}/binary`, SecretBinary: randomBytes(16) }),
    );
    const cases: Array<[string, RegExp]> = [
      [plain, /is a String parameter; a vault secret must be a SecureString/],
      [binary.ARN as string, /holds no SecretString/],
      [
        parameterArn(`/tether/${run}/absent`),
        /could not be read from SSM Parameter Store \(ParameterNotFound\)/,
      ],
      [
        `arn:aws:secretsmanager:${MOTO_REGION}:${ACCOUNT}:secret:tether/${run}/absent-AbCdEf`,
        /could not be read from Secrets Manager \(ResourceNotFoundException\)/,
      ],
    ];
    for (const [arn, reason] of cases) {
      const error = await resolveVaultSecret(
        { TETHER_VAULT: "file", TETHER_VAULT_SECRET_REF: arn },
        clients,
      ).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, arn).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(`TETHER_VAULT_SECRET_REF: ${arn}`);
      expect((error as Error).message).toMatch(reason);
      expect((error as Error).message).not.toContain(plainValue);
    }
  });
});
