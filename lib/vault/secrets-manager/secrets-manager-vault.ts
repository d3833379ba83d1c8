import {
  CreateSecretCommand,
  DescribeSecretCommand,
  type DescribeSecretCommandOutput,
  GetSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { STSClient } from "@aws-sdk/client-sts";
import type { KeySpec } from "../../domain/kms-constants.js";
import { InvalidMaterialError, VaultError } from "../errors.js";
import { isKeySpec } from "../material.js";
import { type MaterialRecord, type StoredMaterial, StoredMaterialVault } from "../stored-material-vault.js";
import { assumedRoleCredentials, errorName } from "./assumed-role-credentials.js";
import { secretsManagerSessionPolicy } from "./session-policy.js";
import type { SecretsManagerVaultSettings } from "./settings.js";

/**
 * Tags Tether puts on a secret beside the bytes. Neither is secret: the key spec and the check value
 * (a fingerprint that reveals nothing about the material).
 */
export const SecretTag = {
  KeySpec: "tether:key-spec",
  CheckValue: "tether:check-value",
} as const;

export interface SecretsManagerVaultOptions {
  /** A client whose credentials reach the vault account (normally the assumed role's). */
  readonly client: SecretsManagerClient;
  /** Prepended to a material reference to make the secret's name. */
  readonly secretPrefix: string;
}

/**
 * Material kept as a binary secret (SecretBinary) in AWS Secrets Manager, usually in a separate vault
 * account reached by assuming a role. Secret name = prefix + material reference. Wrapping happens in this
 * process through {@link StoredMaterialVault}, which zeroes the bytes after use.
 *
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
 */
export class SecretsManagerVault extends StoredMaterialVault {
  readonly kind = "secrets-manager";
  readonly #client: SecretsManagerClient;
  readonly #prefix: string;

  constructor(options: SecretsManagerVaultOptions) {
    super();
    this.#client = options.client;
    this.#prefix = options.secretPrefix;
  }

  /** The secret's name for a material reference. */
  secretId(materialRef: string): string {
    return `${this.#prefix}${materialRef}`;
  }

  /**
   * Stores existing material (checked against the key spec) as a new secret. The caller's buffer is read,
   * not kept, and not zeroed.
   * @throws InvalidMaterialRefError, InvalidMaterialError, MaterialAlreadyExistsError, VaultError
   */
  async put(materialRef: string, material: Uint8Array, keySpec: KeySpec): Promise<{ checkValue: string }> {
    return this.putMaterial(materialRef, material, keySpec);
  }

  protected async loadMaterial(materialRef: string): Promise<StoredMaterial | undefined> {
    const secretId = this.secretId(materialRef);
    const record = await this.#describe(materialRef);
    if (record === undefined) return undefined;
    let binary: Uint8Array | undefined;
    try {
      const out = await this.#client.send(new GetSecretValueCommand({ SecretId: secretId }));
      binary = out.SecretBinary;
      if (binary === undefined) {
        throw new InvalidMaterialError(`The secret of "${materialRef}" holds no binary material.`, {
          materialRef,
        });
      }
    } catch (error) {
      if (errorName(error) === "ResourceNotFoundException") return undefined;
      throw this.#vaultError(error, materialRef, "read");
    }
    // The SDK's own array: zeroing the view zeroes it, so no second copy outlives the call.
    const material = Buffer.from(binary.buffer, binary.byteOffset, binary.byteLength);
    return { material, ...record };
  }

  protected async storeMaterial(
    materialRef: string,
    _segments: readonly string[],
    material: Uint8Array,
    record: MaterialRecord,
  ): Promise<boolean> {
    // A copy the SDK may hold until the request is sent; zeroed once it has been.
    const copy = Uint8Array.from(material);
    try {
      await this.#client.send(
        new CreateSecretCommand({
          Name: this.secretId(materialRef),
          SecretBinary: copy,
          Description: "Key material kept by Tether for an AWS KMS key with imported material.",
          Tags: [
            { Key: SecretTag.KeySpec, Value: record.keySpec },
            { Key: SecretTag.CheckValue, Value: record.checkValue },
          ],
        }),
      );
      return true;
    } catch (error) {
      // CreateSecret never overwrites: an existing name (even one scheduled for deletion) is refused.
      if (errorName(error) === "ResourceExistsException") return false;
      throw this.#vaultError(error, materialRef, "store");
    } finally {
      copy.fill(0);
    }
  }

  protected async containsMaterial(materialRef: string): Promise<boolean> {
    return (await this.#describe(materialRef, false)) !== undefined;
  }

  /** The recorded key spec and check value, or undefined when there is no such (live) secret. */
  async #describe(materialRef: string, requireTags = true): Promise<MaterialRecord | undefined> {
    let out: DescribeSecretCommandOutput;
    try {
      out = await this.#client.send(new DescribeSecretCommand({ SecretId: this.secretId(materialRef) }));
    } catch (error) {
      if (errorName(error) === "ResourceNotFoundException") return undefined;
      throw this.#vaultError(error, materialRef, "read");
    }
    // A secret scheduled for deletion cannot be read; it is gone as far as imports go.
    if (out.DeletedDate !== undefined) return undefined;
    const tag = (key: string) => out.Tags?.find((t) => t.Key === key)?.Value;
    const keySpec = tag(SecretTag.KeySpec);
    const checkValue = tag(SecretTag.CheckValue);
    if (!requireTags) return { keySpec: (keySpec ?? "") as KeySpec, checkValue: checkValue ?? "" };
    if (keySpec === undefined || !isKeySpec(keySpec) || checkValue === undefined || checkValue === "") {
      throw new InvalidMaterialError(
        `The secret of "${materialRef}" lacks the tags ${SecretTag.KeySpec} and ${SecretTag.CheckValue} Tether records when it stores material.`,
        { materialRef },
      );
    }
    return { keySpec, checkValue };
  }

  #vaultError(error: unknown, materialRef: string, action: "read" | "store"): VaultError {
    if (error instanceof VaultError) return error;
    const name = errorName(error);
    const secret = this.secretId(materialRef);
    if (name === "AccessDeniedException" || name === "AccessDenied") {
      return new VaultError(
        `Secrets Manager denied Tether access to ${action} secret "${secret}" (${name}); check the vault account role's policy and the secret's resource policy.`,
        { cause: error },
      );
    }
    return new VaultError(`Secrets Manager could not ${action} secret "${secret}" (${name}).`, {
      cause: error,
    });
  }
}

/**
 * Builds the Secrets Manager vault from checked settings: an STS client (default credentials) assumes the
 * vault account's role — with this function's session name, SourceIdentity and session policy — and the
 * Secrets Manager client uses the role's cached credentials.
 */
export function secretsManagerVault(
  settings: SecretsManagerVaultSettings,
  options: { credentials?: { accessKeyId: string; secretAccessKey: string } } = {},
): SecretsManagerVault {
  const sts = new STSClient({
    region: settings.region,
    ...(settings.stsEndpoint === undefined ? {} : { endpoint: settings.stsEndpoint }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  });
  const client = new SecretsManagerClient({
    region: settings.region,
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    credentials: assumedRoleCredentials({
      sts,
      roleArn: settings.roleArn,
      externalId: settings.externalId,
      sessionName: settings.sessionName,
      sourceIdentity: settings.sourceIdentity,
      policy: secretsManagerSessionPolicy(settings),
    }),
  });
  return new SecretsManagerVault({ client, secretPrefix: settings.secretPrefix });
}
