import {
  ConfigError,
  refuseEndpointOverrides,
  SERVICE_ENDPOINT_OVERRIDES,
  type SettingsEnv,
  settingsReader,
} from "../domain/settings.js";
import { VAULT_SECRET_REF } from "./adapter.js";
import { VAULT_ADAPTERS } from "./adapters.js";
import type { AgentVaultSettings } from "./agent/settings.js";
import type { FileVaultSettings } from "./file/settings.js";
import type { HashiCorpVaultSettings } from "./hashicorp/settings.js";
import type { Pkcs11VaultSettings } from "./pkcs11/settings.js";
import type { SecretsManagerVaultSettings } from "./secrets-manager/settings.js";

/**
 * Which vault Tether uses and its settings, read from the environment at cold start: TETHER_VAULT picks an
 * adapter of lib/vault/adapters.ts, whose settings.ts checks its own variables. lib/config.ts reads these
 * with the rest of the configuration; the adapters are handed what they need and read no configuration.
 */

type Adapters = typeof VAULT_ADAPTERS;

/** The vault adapters Tether can use, chosen by TETHER_VAULT (Tether accepts no other name for it). */
export const VaultProvider = Object.fromEntries(
  Object.entries(VAULT_ADAPTERS).map(([name, adapter]) => [name, adapter.provider]),
) as { readonly [Name in keyof Adapters]: Adapters[Name]["provider"] };
export type VaultProviderName = (typeof VaultProvider)[keyof typeof VaultProvider];

export type VaultSettings =
  | FileVaultSettings
  /** The PKCS#11 adapter reads and checks its own settings (lib/vault/pkcs11, pkcs11VaultFromEnv). */
  | Pkcs11VaultSettings
  | SecretsManagerVaultSettings
  | HashiCorpVaultSettings
  | AgentVaultSettings;

const ADAPTER_LIST = Object.values(VAULT_ADAPTERS);

/** The adapter TETHER_VAULT names, or undefined for a name Tether does not know. */
export function vaultAdapter(provider: string) {
  return ADAPTER_LIST.find((adapter) => adapter.provider === provider);
}

export function isVaultProvider(value: string): value is VaultProviderName {
  return vaultAdapter(value) !== undefined;
}

export { VAULT_SECRET_REF };

/** Which plain variable the referenced secret stands for, per vault (the Secrets Manager vault has none). */
export const VAULT_SECRET_VARIABLE: Readonly<Partial<Record<VaultProviderName, string>>> = Object.fromEntries(
  ADAPTER_LIST.flatMap((adapter) =>
    adapter.secretVariable === undefined ? [] : [[adapter.provider, adapter.secretVariable]],
  ),
);

/** Variables that hold a vault secret in plain text, refused by a bundle built for AWS. */
const PLAIN_VAULT_SECRETS: readonly string[] = ADAPTER_LIST.flatMap((adapter) => adapter.plainSecrets);

/** The vaults' endpoint overrides, refused (with the services') by a bundle built for AWS. */
export const VAULT_ENDPOINT_OVERRIDES: readonly string[] = ADAPTER_LIST.flatMap(
  (adapter) => adapter.endpointOverrides,
);

/** A parsed {@link VAULT_SECRET_REF}: where the secret is, and the Region its ARN names. */
export type VaultSecretReference =
  | { readonly service: "ssm"; readonly arn: string; readonly region: string; readonly name: string }
  | { readonly service: "secretsmanager"; readonly arn: string; readonly region: string };

// https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-access.html (parameter ARNs)
// https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html (secret ARNs)
const SSM_PARAMETER_ARN =
  /^arn:aws[a-z-]*:ssm:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):parameter\/([A-Za-z0-9_.\-/]{1,2047})$/;
const SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:([a-z]{2}(?:-[a-z]+)+-\d):(\d{12}):secret:[A-Za-z0-9/_+=.@-]{1,512}-[A-Za-z0-9]{6}$/;

/**
 * Parses a vault secret reference: the full ARN of an SSM parameter (a SecureString) or of a Secrets Manager
 * secret (with its six-character suffix), so the IAM grant can name exactly that resource.
 * @returns the reference, or undefined when it is neither
 */
export function parseVaultSecretReference(value: string): VaultSecretReference | undefined {
  const ssm = SSM_PARAMETER_ARN.exec(value);
  if (ssm !== null) {
    const path = ssm[3] as string;
    // A hierarchical name (/a/b) appears in its ARN without its leading "/": parameter/a/b.
    return {
      service: "ssm",
      arn: value,
      region: ssm[1] as string,
      name: path.includes("/") ? `/${path}` : path,
    };
  }
  const secret = SECRET_ARN.exec(value);
  if (secret !== null) return { service: "secretsmanager", arn: value, region: secret[1] as string };
  return undefined;
}

/**
 * Checks where the vault's secret comes from: by reference ({@link VAULT_SECRET_REF}) or, only in local and
 * test builds, in plain text. A bundle built for AWS refuses a plain secret: anyone who may read the function's
 * configuration (lambda:GetFunctionConfiguration, the console) would read it.
 * @param builtFor what the bundle was built for; by default the build constant
 * @throws ConfigError naming the variables at fault
 */
export function assertVaultSecretSource(
  env: SettingsEnv,
  builtFor: string | undefined = process.env.TETHER_BUILD_TARGET,
): void {
  const set = (name: string) => env[name] !== undefined && env[name] !== "";
  const problems: string[] = [];
  const vault = env.TETHER_VAULT === undefined || env.TETHER_VAULT === "" ? "file" : env.TETHER_VAULT;
  const aws = builtFor !== undefined && builtFor !== "local";
  if (aws) {
    for (const name of PLAIN_VAULT_SECRETS.filter(set)) {
      problems.push(
        `${name} is set, but this bundle was built for AWS, which takes vault secrets only by reference: put the secret in an SSM SecureString parameter or a Secrets Manager secret and set ${VAULT_SECRET_REF} to its ARN`,
      );
    }
  }
  const ref = env[VAULT_SECRET_REF];
  if (ref !== undefined && ref !== "") {
    const adapter = vaultAdapter(vault);
    const plain = adapter?.secretVariable;
    if (adapter === undefined || plain === undefined) {
      problems.push(`${VAULT_SECRET_REF}: the ${vault} vault has no secret to read by reference`);
    } else {
      // Locally every other source of the secret is refused beside a reference; in AWS the plain ones are
      // refused above already, and only the others remain.
      const others = [plain, ...(adapter.secretAlternatives ?? [])];
      const both = aws ? others.filter((name) => !adapter.plainSecrets.includes(name)) : others;
      for (const name of both.filter(set)) problems.push(`set ${VAULT_SECRET_REF} or ${name}, not both`);
    }
    if (parseVaultSecretReference(ref) === undefined) {
      problems.push(
        `${VAULT_SECRET_REF}: not the ARN of an SSM parameter (arn:aws:ssm:<region>:<account>:parameter/<name>) or of a Secrets Manager secret (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(`Tether is misconfigured: ${problems.join("; ")}.`);
}

/**
 * Refuses a vault other than the one this bundle was built for. A deployed bundle holds one vault adapter:
 * esbuild replaces `process.env.TETHER_VAULT_BUILD` with serverless.yml's `vault` parameter
 * (custom.esbuild.define), so the other adapters' loaders (lib/vault/from-config.ts) are dead code and left
 * out.
 * Unbundled (tests, tsx, `npm start`) the constant is not defined and every vault is available.
 * @param builtFor the vault the bundle was built for; by default the build constant
 * @throws ConfigError naming both vaults when they differ
 */
export function assertVaultBuild(
  vault: VaultProviderName,
  builtFor: string | undefined = process.env.TETHER_VAULT_BUILD,
): void {
  if (builtFor === undefined || builtFor === vault) return;
  throw new ConfigError(
    `Tether is misconfigured: TETHER_VAULT is "${vault}" but this bundle was built for the "${builtFor}" vault, the only adapter it contains; deploy again with the vault parameter set to "${vault}" (docs/deploy.md).`,
  );
}

/**
 * The vault settings of TETHER_VAULT's provider, checked without reading secrets or making calls. Each
 * adapter's settings.ts checks its own variables; the file vault's (TETHER_FILE_VAULT_DIR and its
 * passphrase) are checked when the vault is built, the PKCS#11 vault's by pkcs11VaultFromEnv.
 * @throws ConfigError naming the missing or malformed variable
 */
export function loadVaultSettings(env: SettingsEnv): VaultSettings {
  const provider = env.TETHER_VAULT === undefined || env.TETHER_VAULT === "" ? "file" : env.TETHER_VAULT;
  const problems: string[] = [];
  if (isVaultProvider(provider)) assertVaultBuild(provider);
  refuseEndpointOverrides(
    env,
    [...SERVICE_ENDPOINT_OVERRIDES, ...VAULT_ENDPOINT_OVERRIDES],
    process.env.TETHER_BUILD_TARGET,
  );
  const adapter = vaultAdapter(provider);
  if (adapter === undefined) {
    throw new ConfigError(
      `Tether is misconfigured: TETHER_VAULT: must be one of ${Object.values(VaultProvider).join(", ")}.`,
    );
  }
  const settings: VaultSettings = adapter.settings(settingsReader(env, problems));
  if (problems.length > 0) throw new ConfigError(`Tether is misconfigured: ${problems.join("; ")}.`);
  return settings;
}
