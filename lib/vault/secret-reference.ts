import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { ConfigError } from "../domain/settings.js";
import { parseVaultSecretReference, VAULT_SECRET_REF, vaultAdapter } from "./settings.js";

type Env = Readonly<Record<string, string | undefined>>;

/** SDK clients for the two stores (tests pass their own; by default built for the reference's Region). */
export interface SecretStoreClients {
  readonly ssm?: (region: string) => SSMClient;
  readonly secretsManager?: (region: string) => SecretsManagerClient;
}

/**
 * The environment with the vault's secret read from where {@link VAULT_SECRET_REF} points, under the plain
 * variable the vault reads (the file vault's passphrase, the HashiCorp token, the PKCS#11 PIN). Called once,
 * at cold start; the value lives only in the returned object, never in `process.env`.
 *
 * - an SSM parameter: GetParameter with decryption; it must be a SecureString
 *   (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html);
 * - a Secrets Manager secret: GetSecretValue of its current version; it must be a SecretString
 *   (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html).
 * @throws ConfigError naming the variable and the store's error name (never a value or an SDK message)
 */
export async function resolveVaultSecret(env: Env, clients: SecretStoreClients = {}): Promise<Env> {
  const text = env[VAULT_SECRET_REF];
  if (text === undefined || text === "") return env;
  const vault = env.TETHER_VAULT === undefined || env.TETHER_VAULT === "" ? "file" : env.TETHER_VAULT;
  const adapter = vaultAdapter(vault);
  const variable = adapter?.secretVariable;
  const ref = parseVaultSecretReference(text);
  if (variable === undefined || ref === undefined) {
    throw new ConfigError(
      `Tether is misconfigured: ${VAULT_SECRET_REF} cannot be read for the ${vault} vault.`,
    );
  }
  const fail = (why: string): never => {
    throw new ConfigError(`Tether is misconfigured: ${VAULT_SECRET_REF}: ${ref.arn} ${why}.`);
  };
  let value: string | undefined;
  if (ref.service === "ssm") {
    const client = clients.ssm?.(ref.region) ?? new SSMClient({ region: ref.region });
    try {
      const out = await client.send(new GetParameterCommand({ Name: ref.name, WithDecryption: true }));
      if (out.Parameter?.Type !== "SecureString") {
        fail(`is a ${out.Parameter?.Type ?? "missing"} parameter; a vault secret must be a SecureString`);
      }
      value = out.Parameter?.Value;
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      fail(`could not be read from SSM Parameter Store (${errorName(error)})`);
    }
  } else {
    const client = clients.secretsManager?.(ref.region) ?? new SecretsManagerClient({ region: ref.region });
    try {
      const out = await client.send(new GetSecretValueCommand({ SecretId: ref.arn }));
      if (out.SecretString === undefined)
        fail("holds no SecretString (a binary secret cannot be a vault secret)");
      value = out.SecretString;
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      fail(`could not be read from Secrets Manager (${errorName(error)})`);
    }
  }
  if (value === undefined || value === "") fail("is empty");
  return {
    ...env,
    [variable]: value,
    ...(adapter?.secretPointer === undefined ? {} : { [adapter.secretPointer]: variable }),
  };
}

/** An SDK error's name (AccessDeniedException, ParameterNotFound, ...), never its message. */
function errorName(error: unknown): string {
  return error instanceof Error ? error.name : "unknown error";
}
