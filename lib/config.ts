import { parseAliasPrefix, parseDeployment } from "./domain/deployment.js";
import { ValidationError } from "./domain/errors.js";
import { parseImportPolicy } from "./domain/import-policy.js";
import { DefaultKmsQuotas } from "./domain/kms-constants.js";
import { parsePrincipalList } from "./domain/principal-arn.js";
import type { PolicyDefaults } from "./lifecycle/ports.js";

/** A setting is missing or malformed: the function fails at cold start, naming it, not mid-import. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * The environment Tether reads, checked by hand rather than with a schema library: this runs at every cold
 * start of every function, and a validation library's module and schema set-up cost more init time than
 * the checks themselves (bench/README.md, cold start).
 */
interface Environment {
  readonly AWS_REGION: string;
  readonly TETHER_TABLE_NAME: string;
  readonly TETHER_AUDIT_BUS_NAME: string;
  /** Which vault adapter holds the material (see {@link VaultProvider}); its settings are checked below. */
  readonly TETHER_VAULT: VaultProviderName;
  /** Tether's own roles, comma-separated IAM ARNs (lib/domain/principal-arn.ts says which forms). */
  readonly TETHER_SELF_PRINCIPALS: string;
  /** Admin API roles: IAM role, assumed-role or user ARNs, comma-separated. Admins may change keys and read. */
  readonly TETHER_ADMIN_PRINCIPALS: string;
  /** Principals that may only read (list, show, history). */
  readonly TETHER_READER_PRINCIPALS: string;
  /** Largest request body the admin API accepts (bytes); larger is a 413. */
  readonly TETHER_MAX_BODY_BYTES: number;
  /** Endpoint overrides for the local AWS; refused by a bundle built for AWS (assertNoEndpointOverrides). */
  readonly TETHER_KMS_ENDPOINT: string | undefined;
  readonly TETHER_DYNAMODB_ENDPOINT: string | undefined;
  readonly TETHER_EVENTS_ENDPOINT: string | undefined;
  /** CloudTrail LookupEvents (locally the KMS emulator serves it on its own port). */
  readonly TETHER_CLOUDTRAIL_ENDPOINT: string | undefined;
  /** Share of AWS's default KMS request quotas Tether may use (other clients share the account's quota). */
  readonly TETHER_KMS_QUOTA_SHARE: number;
  readonly TETHER_LEASE_TTL_SECONDS: number;
  readonly TETHER_SWEEP_LIMIT: number;
  readonly TETHER_SWEEP_CONCURRENCY: number;
  /** Stage defaults for new keys' import policies (ISO 8601 durations); a request's own policy wins. */
  readonly TETHER_DEFAULT_VALIDITY_PERIOD: string | undefined;
  readonly TETHER_DEFAULT_RENEW_BEFORE: string | undefined;
  /** The Regions keys may live in (primary and replicas), comma-separated; empty = any. */
  readonly TETHER_REGIONS: string;
  /**
   * The deployment's identity, `tether/<stage>/<home Region>`: the value of the `tether:managed-by` tag its
   * IAM policies scope KMS writes to (lib/domain/deployment.ts). Unset: `tether/local/<AWS_REGION>`, the
   * local stack's and the tests' (a deployed stage always sets it; serverless.yml).
   */
  readonly TETHER_DEPLOYMENT: string;
  /** What every alias Tether creates or moves starts with, after `alias/` (its IAM policies allow no other); empty: any. */
  readonly TETHER_ALIAS_PREFIX: string;
  /**
   * `on` (default): the sweep keeps a sentinel key in each Region (lib/lifecycle/sentinels.ts) and losses
   * read their Region's sentinel health; `off`: no sentinels, every loss before ValidTo waits out the
   * attribution grace.
   */
  readonly TETHER_SENTINELS: "on" | "off";
  /**
   * `on` (default): each managed key-Region's import parameters are stored with its Region record and kept
   * warm by the sweep (lib/lifecycle/warm-parameters.ts); `off`: parameters are cached in memory only, as
   * before, and nothing is warmed.
   */
  readonly TETHER_WARM_IMPORT_PARAMETERS: "on" | "off";
  /** Most import parameter sets one sweep run fetches to keep key-Regions warm. */
  readonly TETHER_WARM_PARAMETERS_PER_RUN: number;
}

/** Reads the variables, collecting one problem per missing or malformed one. */
function readEnvironment(env: Readonly<Record<string, string | undefined>>): Environment {
  const problems: string[] = [];
  const text = (name: string, min: number, max: number): string => {
    const value = env[name];
    if (value === undefined) problems.push(`${name} is not set`);
    else if (value.length < min || value.length > max) {
      problems.push(`${name}: must be ${min} to ${max} characters`);
    }
    return value ?? "";
  };
  const number = (name: string, fallback: number, ok: (n: number) => boolean, what: string): number => {
    const value = env[name];
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!ok(n)) problems.push(`${name}: not ${what}`);
    return n;
  };
  const positiveInt = (name: string, fallback: number) =>
    number(name, fallback, (n) => Number.isSafeInteger(n) && n > 0, "a positive integer");
  const optionalUrl = (name: string): string | undefined => {
    const value = env[name];
    if (value === undefined) return undefined;
    const url = normalizeUrl(value);
    if (url === undefined) problems.push(`${name}: not a URL`);
    return url;
  };
  const vault = env.TETHER_VAULT ?? VaultProvider.File;
  if (!isVaultProvider(vault)) {
    problems.push(`TETHER_VAULT: must be one of ${Object.values(VaultProvider).join(", ")}`);
  }
  const parsed: Environment = {
    AWS_REGION: text("AWS_REGION", 1, Number.POSITIVE_INFINITY),
    TETHER_TABLE_NAME: text("TETHER_TABLE_NAME", 3, 255),
    TETHER_AUDIT_BUS_NAME: text("TETHER_AUDIT_BUS_NAME", 1, 256),
    TETHER_VAULT: isVaultProvider(vault) ? vault : VaultProvider.File,
    TETHER_SELF_PRINCIPALS: env.TETHER_SELF_PRINCIPALS ?? "",
    TETHER_ADMIN_PRINCIPALS: env.TETHER_ADMIN_PRINCIPALS ?? "",
    TETHER_READER_PRINCIPALS: env.TETHER_READER_PRINCIPALS ?? "",
    TETHER_MAX_BODY_BYTES: number(
      "TETHER_MAX_BODY_BYTES",
      64 * 1024,
      (n) => Number.isSafeInteger(n) && n >= 256 && n <= 6 * 1024 * 1024,
      "an integer from 256 to 6291456",
    ),
    TETHER_KMS_ENDPOINT: optionalUrl("TETHER_KMS_ENDPOINT"),
    TETHER_DYNAMODB_ENDPOINT: optionalUrl("TETHER_DYNAMODB_ENDPOINT"),
    TETHER_EVENTS_ENDPOINT: optionalUrl("TETHER_EVENTS_ENDPOINT"),
    TETHER_CLOUDTRAIL_ENDPOINT: optionalUrl("TETHER_CLOUDTRAIL_ENDPOINT"),
    TETHER_KMS_QUOTA_SHARE: number(
      "TETHER_KMS_QUOTA_SHARE",
      0.8,
      (n) => n > 0 && n <= 1,
      "a number greater than 0 and at most 1",
    ),
    TETHER_LEASE_TTL_SECONDS: positiveInt("TETHER_LEASE_TTL_SECONDS", 120),
    TETHER_SWEEP_LIMIT: positiveInt("TETHER_SWEEP_LIMIT", 500),
    TETHER_SWEEP_CONCURRENCY: positiveInt("TETHER_SWEEP_CONCURRENCY", 8),
    TETHER_DEFAULT_VALIDITY_PERIOD: env.TETHER_DEFAULT_VALIDITY_PERIOD,
    TETHER_DEFAULT_RENEW_BEFORE: env.TETHER_DEFAULT_RENEW_BEFORE,
    TETHER_REGIONS: env.TETHER_REGIONS ?? "",
    TETHER_DEPLOYMENT: deployment(env, problems),
    TETHER_ALIAS_PREFIX: aliasPrefix(env, problems),
    TETHER_SENTINELS: onOff(env, "TETHER_SENTINELS", problems),
    TETHER_WARM_IMPORT_PARAMETERS: onOff(env, "TETHER_WARM_IMPORT_PARAMETERS", problems),
    TETHER_WARM_PARAMETERS_PER_RUN: positiveInt("TETHER_WARM_PARAMETERS_PER_RUN", 200),
  };
  if (problems.length > 0) throw new ConfigError(`Tether is misconfigured: ${problems.join("; ")}.`);
  return parsed;
}

function onOff(
  env: Readonly<Record<string, string | undefined>>,
  name: "TETHER_SENTINELS" | "TETHER_WARM_IMPORT_PARAMETERS",
  problems: string[],
): "on" | "off" {
  const value = env[name] ?? "on";
  if (value === "on" || value === "off") return value;
  problems.push(`${name} must be "on" or "off", not "${value}"`);
  return "on";
}

function deployment(env: Readonly<Record<string, string | undefined>>, problems: string[]): string {
  const value = env.TETHER_DEPLOYMENT ?? `tether/local/${env.AWS_REGION ?? ""}`;
  try {
    return parseDeployment(value);
  } catch (error) {
    problems.push(`TETHER_DEPLOYMENT: ${(error as Error).message}`);
    return value;
  }
}

function aliasPrefix(env: Readonly<Record<string, string | undefined>>, problems: string[]): string {
  const value = env.TETHER_ALIAS_PREFIX ?? "";
  try {
    return parseAliasPrefix(value);
  } catch (error) {
    problems.push(`TETHER_ALIAS_PREFIX: ${(error as Error).message}`);
    return value;
  }
}

/** `https:`, or `http:` to this machine itself (127.0.0.0/8, ::1, localhost): nothing crosses a network in clear. */
function isHttpsOrLoopback(address: string): boolean {
  if (!URL.canParse(address.trim())) return false;
  const url = new URL(address.trim());
  if (url.protocol === "https:") return true;
  if (url.protocol !== "http:") return false;
  const host = url.hostname;
  return host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function isVaultProvider(value: string): value is VaultProviderName {
  return (Object.values(VaultProvider) as string[]).includes(value);
}

/**
 * A URL as the WHATWG parser reads it (surrounding whitespace trimmed, tabs and newlines dropped, as the
 * parser itself does), or undefined when it does not parse.
 */
function normalizeUrl(value: string): string | undefined {
  const trimmed = value.trim();
  return URL.canParse(trimmed) ? trimmed.replace(/[\t\n\r]/g, "") : undefined;
}

export interface TetherConfig {
  readonly region: string;
  readonly tableName: string;
  readonly auditBusName: string;
  readonly vault: VaultProviderName;
  /** The chosen vault's settings, checked at cold start (secrets such as tokens are read by the adapter). */
  readonly vaultSettings: VaultSettings;
  readonly isTether: (principalArn: string) => boolean;
  /** Whether a caller of the admin API may change state (and read). */
  readonly isAdmin: (principalArn: string) => boolean;
  /** Whether a caller of the admin API may read. Admins are not necessarily listed here. */
  readonly isReader: (principalArn: string) => boolean;
  readonly maxBodyBytes: number;
  readonly endpoints: {
    readonly kms?: string;
    readonly dynamodb?: string;
    readonly events?: string;
    readonly cloudtrail?: string;
  };
  readonly kmsQuotas: Readonly<Record<string, number>>;
  readonly leaseTtlMs: number;
  readonly sweepLimit: number;
  readonly sweepConcurrency: number;
  /** Stage defaults merged into a new key's policy where the request gives none. */
  readonly policyDefaults: PolicyDefaults;
  /** Regions keys may be created or replicated in; empty = any. */
  readonly allowedRegions: readonly string[];
  /** The deployment's `tether:managed-by` value (TETHER_DEPLOYMENT). */
  readonly deployment: string;
  /** Aliases Tether may create or move start with `alias/` + this (TETHER_ALIAS_PREFIX); empty: any. */
  readonly aliasPrefix: string;
  /**
   * The Regions that get a sentinel key: TETHER_REGIONS, else the home Region; empty with TETHER_SENTINELS=off.
   */
  readonly sentinelRegions: readonly string[];
  /**
   * Warm import parameters (TETHER_WARM_IMPORT_PARAMETERS): undefined when off, else the most sets one sweep
   * run fetches (TETHER_WARM_PARAMETERS_PER_RUN).
   */
  readonly warmParametersPerRun: number | undefined;
}

/**
 * Variables that send an AWS client somewhere other than AWS: Tether's own, and the AWS SDK's
 * (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`, honoured by SDK v3 clients:
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
 */
export const ENDPOINT_OVERRIDES = [
  "TETHER_KMS_ENDPOINT",
  "TETHER_DYNAMODB_ENDPOINT",
  "TETHER_EVENTS_ENDPOINT",
  "TETHER_SM_ENDPOINT",
  "TETHER_SM_STS_ENDPOINT",
  "TETHER_HCV_AWS_STS_ENDPOINT",
] as const;
const SDK_ENDPOINT_OVERRIDE = /^AWS_ENDPOINT_URL(_[A-Z0-9_]+)?$/;

/**
 * Refuses endpoint overrides in a bundle built for AWS. Whoever may change a function's configuration could
 * otherwise point KMS at their own server and receive the material wrapped under their own public key, or
 * the vault's requests and credentials. Like the vault, this is fixed at build time: esbuild replaces
 * `process.env.TETHER_BUILD_TARGET` with serverless.yml's `buildTarget` parameter (custom.esbuild.define),
 * `aws` unless a test packages with `--param buildTarget=local`. Unbundled (tests, tsx, `npm start`) the
 * constant is not defined and the overrides reach the local AWS.
 * @param builtFor what the bundle was built for; by default the build constant
 * @throws ConfigError naming every override that is set
 */
export function assertNoEndpointOverrides(
  env: Readonly<Record<string, string | undefined>>,
  builtFor: string | undefined = process.env.TETHER_BUILD_TARGET,
): void {
  if (builtFor === undefined || builtFor === "local") return;
  const set = Object.keys(env).filter(
    (name) =>
      env[name] !== undefined &&
      ((ENDPOINT_OVERRIDES as readonly string[]).includes(name) || SDK_ENDPOINT_OVERRIDE.test(name)),
  );
  if (set.length === 0) return;
  throw new ConfigError(
    `Tether is misconfigured: ${set.join(", ")} ${set.length === 1 ? "is" : "are"} set, but this bundle was built for AWS, which refuses endpoint overrides (they would send requests, and key material wrapped for KMS, to another server); remove ${set.length === 1 ? "it" : "them"}. Only local and test builds honour endpoint overrides (docs/deploy.md).`,
  );
}

/**
 * The variable that names where the vault's one secret is kept: an SSM Parameter Store SecureString
 * parameter's ARN or a Secrets Manager secret's ARN. Read at cold start (lib/vault/secret-reference.ts) and
 * given to the vault as the plain variable it replaces ({@link VAULT_SECRET_VARIABLE}).
 */
export const VAULT_SECRET_REF = "TETHER_VAULT_SECRET_REF";

/** Which plain variable the referenced secret stands for, per vault (the Secrets Manager vault has none). */
export const VAULT_SECRET_VARIABLE: Readonly<Partial<Record<VaultProviderName, string>>> = {
  file: "TETHER_FILE_VAULT_PASSPHRASE",
  hashicorp: "TETHER_HCV_TOKEN",
  // The PKCS#11 vault reads its PIN from the variable TETHER_PKCS11_PIN_SECRET_ENV names; the reference
  // resolves into this one and names it there.
  pkcs11: "TETHER_PKCS11_PIN",
};

/** Variables that hold a vault secret in plain text, refused by a bundle built for AWS. */
const PLAIN_VAULT_SECRETS = [
  "TETHER_FILE_VAULT_PASSPHRASE",
  "TETHER_HCV_TOKEN",
  "TETHER_PKCS11_PIN",
  "TETHER_PKCS11_PIN_SECRET_ENV",
] as const;

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
  env: Readonly<Record<string, string | undefined>>,
  builtFor: string | undefined = process.env.TETHER_BUILD_TARGET,
): void {
  const set = (name: string) => env[name] !== undefined && env[name] !== "";
  const problems: string[] = [];
  const vault = env.TETHER_VAULT === undefined || env.TETHER_VAULT === "" ? "file" : env.TETHER_VAULT;
  if (builtFor !== undefined && builtFor !== "local") {
    for (const name of PLAIN_VAULT_SECRETS.filter(set)) {
      problems.push(
        `${name} is set, but this bundle was built for AWS, which takes vault secrets only by reference: put the secret in an SSM SecureString parameter or a Secrets Manager secret and set ${VAULT_SECRET_REF} to its ARN`,
      );
    }
  }
  const ref = env[VAULT_SECRET_REF];
  if (ref !== undefined && ref !== "") {
    const plain = isVaultProvider(vault) ? VAULT_SECRET_VARIABLE[vault] : undefined;
    if (plain === undefined) {
      problems.push(`${VAULT_SECRET_REF}: the ${vault} vault has no secret to read by reference`);
    } else if (builtFor === undefined || builtFor === "local") {
      const both = [
        plain,
        ...(vault === "pkcs11" ? ["TETHER_PKCS11_PIN_SECRET_ENV", "TETHER_PKCS11_PIN_FILE"] : []),
      ];
      for (const name of both.filter(set)) problems.push(`set ${VAULT_SECRET_REF} or ${name}, not both`);
    } else if (vault === "pkcs11" && set("TETHER_PKCS11_PIN_FILE")) {
      problems.push(`set ${VAULT_SECRET_REF} or TETHER_PKCS11_PIN_FILE, not both`);
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
 * Reads and validates the environment once (call at module scope, at cold start).
 * @throws ConfigError naming every missing or malformed variable, or an endpoint override a bundle built
 *   for AWS refuses
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): TetherConfig {
  assertNoEndpointOverrides(env);
  const e = readEnvironment(env);
  const vaultSettings = loadVaultSettings(env);
  assertVaultSecretSource(env);
  const isTether = principalMatcher("TETHER_SELF_PRINCIPALS", e.TETHER_SELF_PRINCIPALS);
  const kmsQuotas = Object.fromEntries(
    Object.entries(DefaultKmsQuotas).map(([operation, rate]) => [operation, rate * e.TETHER_KMS_QUOTA_SHARE]),
  );
  return {
    region: e.AWS_REGION,
    tableName: e.TETHER_TABLE_NAME,
    auditBusName: e.TETHER_AUDIT_BUS_NAME,
    vault: e.TETHER_VAULT,
    vaultSettings,
    isTether,
    isAdmin: principalMatcher("TETHER_ADMIN_PRINCIPALS", e.TETHER_ADMIN_PRINCIPALS),
    isReader: principalMatcher("TETHER_READER_PRINCIPALS", e.TETHER_READER_PRINCIPALS),
    maxBodyBytes: e.TETHER_MAX_BODY_BYTES,
    endpoints: {
      ...(e.TETHER_KMS_ENDPOINT === undefined ? {} : { kms: e.TETHER_KMS_ENDPOINT }),
      ...(e.TETHER_DYNAMODB_ENDPOINT === undefined ? {} : { dynamodb: e.TETHER_DYNAMODB_ENDPOINT }),
      ...(e.TETHER_EVENTS_ENDPOINT === undefined ? {} : { events: e.TETHER_EVENTS_ENDPOINT }),
      ...(e.TETHER_CLOUDTRAIL_ENDPOINT === undefined ? {} : { cloudtrail: e.TETHER_CLOUDTRAIL_ENDPOINT }),
    },
    kmsQuotas,
    leaseTtlMs: e.TETHER_LEASE_TTL_SECONDS * 1000,
    sweepLimit: e.TETHER_SWEEP_LIMIT,
    sweepConcurrency: e.TETHER_SWEEP_CONCURRENCY,
    policyDefaults: parsePolicyDefaults(e.TETHER_DEFAULT_VALIDITY_PERIOD, e.TETHER_DEFAULT_RENEW_BEFORE),
    allowedRegions: e.TETHER_REGIONS.split(",")
      .map((r) => r.trim())
      .filter((r) => r.length > 0),
    deployment: e.TETHER_DEPLOYMENT,
    aliasPrefix: e.TETHER_ALIAS_PREFIX,
    sentinelRegions: sentinelRegions(e),
    warmParametersPerRun:
      e.TETHER_WARM_IMPORT_PARAMETERS === "off" ? undefined : e.TETHER_WARM_PARAMETERS_PER_RUN,
  };
}

function sentinelRegions(e: Environment): string[] {
  if (e.TETHER_SENTINELS === "off") return [];
  const listed = e.TETHER_REGIONS.split(",")
    .map((r) => r.trim())
    .filter((r) => r.length > 0);
  return listed.length > 0 ? listed : [e.AWS_REGION];
}

/** Checks the stage defaults as a policy would be checked, so a bad default fails at cold start. */
function parsePolicyDefaults(
  validityPeriod: string | undefined,
  renewBefore: string | undefined,
): PolicyDefaults {
  const defaults: PolicyDefaults = {
    ...(validityPeriod === undefined || validityPeriod === "" ? {} : { validityPeriod }),
    ...(renewBefore === undefined || renewBefore === "" ? {} : { renewBefore }),
  };
  try {
    parseImportPolicy(defaults);
  } catch (error) {
    const field = error instanceof ValidationError ? error.field : "policy";
    const name = field === "renewBefore" ? "TETHER_DEFAULT_RENEW_BEFORE" : "TETHER_DEFAULT_VALIDITY_PERIOD";
    throw new ConfigError(
      `Tether is misconfigured: ${name}: ${error instanceof Error ? error.message : "invalid"}.`,
    );
  }
  return defaults;
}

/**
 * A principal list variable → a test on a caller's ARN (an empty list admits nobody). Entries are parsed as
 * IAM ARNs, not globbed (lib/domain/principal-arn.ts).
 * @throws ConfigError naming the variable and every entry it refuses
 */
function principalMatcher(name: string, list: string): (principalArn: string) => boolean {
  const parsed = parsePrincipalList(list);
  if ("refused" in parsed) {
    throw new ConfigError(
      `Tether is misconfigured: ${parsed.refused.map((e) => `${name}: "${e.entry}": ${e.message}`).join("; ")}.`,
    );
  }
  return parsed.matches;
}

/**
 * The vault adapters Tether can use, chosen by TETHER_VAULT. The issue calls this setting
 * VAULT_PROVIDER; Tether keeps every setting under its TETHER_ prefix and accepts only TETHER_VAULT.
 */
export const VaultProvider = {
  File: "file",
  Pkcs11: "pkcs11",
  SecretsManager: "secrets-manager",
  HashiCorp: "hashicorp",
} as const;
export type VaultProviderName = (typeof VaultProvider)[keyof typeof VaultProvider];

/** Environment variables of the Secrets Manager vault (material in another account, behind a role). */
export const SecretsManagerVaultEnv = {
  RoleArn: "TETHER_SM_ROLE_ARN",
  ExternalId: "TETHER_SM_EXTERNAL_ID",
  Region: "TETHER_SM_REGION",
  SecretPrefix: "TETHER_SM_SECRET_PREFIX",
  SessionName: "TETHER_SM_SESSION_NAME",
  Endpoint: "TETHER_SM_ENDPOINT",
  StsEndpoint: "TETHER_SM_STS_ENDPOINT",
} as const;

/** Environment variables of the HashiCorp Vault (KV version 2) vault. */
export const HashiCorpVaultEnv = {
  Address: "TETHER_HCV_ADDR",
  Namespace: "TETHER_HCV_NAMESPACE",
  KvMount: "TETHER_HCV_KV_MOUNT",
  PathPrefix: "TETHER_HCV_PATH_PREFIX",
  KvVersion: "TETHER_HCV_KV_VERSION",
  AuthMethod: "TETHER_HCV_AUTH_METHOD",
  /** The token itself (token auth). A secret: read by the adapter, never kept in the configuration. */
  Token: "TETHER_HCV_TOKEN",
  AwsRole: "TETHER_HCV_AWS_ROLE",
  AwsAuthMount: "TETHER_HCV_AWS_AUTH_MOUNT",
  AwsServerId: "TETHER_HCV_AWS_SERVER_ID",
  AwsStsRegion: "TETHER_HCV_AWS_STS_REGION",
  AwsStsEndpoint: "TETHER_HCV_AWS_STS_ENDPOINT",
} as const;

/**
 * What a function may do with the vault account's secrets: kms-events only reads; the api (registration)
 * and the sweep (scheduled rotations make new material) also create. Nothing overwrites or deletes.
 */
export type SecretsManagerVaultAccess = "read" | "read-create";

export interface SecretsManagerVaultSettings {
  readonly provider: "secrets-manager";
  readonly roleArn: string;
  readonly externalId: string;
  readonly region: string;
  /** Prepended to a material reference to make the secret's name, e.g. `tether/` + `team/key-1`. */
  readonly secretPrefix: string;
  /** The role session's name: the function's name unless TETHER_SM_SESSION_NAME says otherwise. */
  readonly sessionName: string;
  /** AssumeRole's SourceIdentity, the function's name: the vault account's CloudTrail names it on every call. */
  readonly sourceIdentity: string;
  /** The session policy's scope for this function. */
  readonly access: SecretsManagerVaultAccess;
  readonly endpoint?: string;
  readonly stsEndpoint?: string;
}

export type HashiCorpAuthSettings =
  | { readonly method: "token" }
  | {
      readonly method: "aws";
      readonly role: string;
      readonly mount: string;
      /** X-Vault-AWS-IAM-Server-ID: binds a signed login to this Vault server, so it cannot be replayed to another. */
      readonly serverId: string;
      readonly stsRegion: string;
      readonly stsEndpoint?: string;
    };

export interface HashiCorpVaultSettings {
  readonly provider: "hashicorp";
  readonly address: string;
  readonly namespace?: string;
  readonly kvMount: string;
  readonly pathPrefix: string;
  /** The KV v2 version read: material is written once, with check-and-set 0, so it is version 1. */
  readonly kvVersion: number;
  readonly auth: HashiCorpAuthSettings;
}

export type VaultSettings =
  | { readonly provider: "file" }
  /** The PKCS#11 adapter reads and checks its own settings (lib/vault/pkcs11, pkcs11VaultFromEnv). */
  | { readonly provider: "pkcs11" }
  | SecretsManagerVaultSettings
  | HashiCorpVaultSettings;

/**
 * Refuses a vault other than the one this bundle was built for. A deployed bundle holds one vault adapter:
 * esbuild replaces `process.env.TETHER_VAULT_BUILD` with serverless.yml's `vault` parameter
 * (custom.esbuild.define), so lib/vault/from-config.ts's other adapters are dead code and left out. Unbundled
 * (tests, tsx, `npm start`) the constant is not defined and every vault is available.
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

/** The name a process outside Lambda (tests, scripts) gives its vault sessions. */
export const LOCAL_VAULT_IDENTITY = "tether-local";

/**
 * Which function this is, from the name Lambda gives it (AWS_LAMBDA_FUNCTION_NAME, `tether-<stage>-<fn>`), and
 * so what it may do in the vault. Outside Lambda (tests, scripts) the process is the operator's own: it may
 * read and create, as `tether-local`. A Lambda name that is none of Tether's functions is refused rather than
 * guessed at.
 */
function vaultIdentity(
  functionName: string | undefined,
): { functionName: string; access: SecretsManagerVaultAccess } | { problem: string } {
  if (functionName === undefined || functionName === "") {
    return { functionName: LOCAL_VAULT_IDENTITY, access: "read-create" };
  }
  // STS: RoleSessionName and SourceIdentity take 2 to 64 of [\w+=,.@-]; Lambda names are [\w-], up to 64.
  if (/^[\w-]{2,64}$/.test(functionName)) {
    if (functionName.endsWith("-kms-events")) return { functionName, access: "read" };
    if (functionName.endsWith("-api") || functionName.endsWith("-sweep")) {
      return { functionName, access: "read-create" };
    }
  }
  return {
    problem: `AWS_LAMBDA_FUNCTION_NAME: "${functionName}" is not one of Tether's functions (<service>-<stage>-api, -sweep or -kms-events), so its vault access cannot be chosen`,
  };
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const SESSION_NAME = /^[\w+=,.@-]{2,64}$/;
const SECRET_PREFIX = /^[A-Za-z0-9/_+=.@-]{0,256}$/;
const KV_PATH = /^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/;

/**
 * The vault settings of TETHER_VAULT's provider, checked without reading secrets or making calls.
 * The file vault's settings (TETHER_FILE_VAULT_DIR and its passphrase) are checked by fileVaultFromEnv
 * when the vault is built; the PKCS#11 vault's by pkcs11VaultFromEnv.
 * @throws ConfigError naming the missing or malformed variable
 */
export function loadVaultSettings(env: Readonly<Record<string, string | undefined>>): VaultSettings {
  const provider = env.TETHER_VAULT === undefined || env.TETHER_VAULT === "" ? "file" : env.TETHER_VAULT;
  const problems: string[] = [];
  const read = (name: string, pattern: RegExp, what: string, fallback?: string): string => {
    const value = env[name];
    if (value === undefined || value === "") {
      if (fallback !== undefined) return fallback;
      problems.push(`${name} is not set (${what})`);
      return "";
    }
    if (!pattern.test(value)) problems.push(`${name}: not ${what}`);
    return value;
  };
  const optional = (name: string, pattern: RegExp, what: string): string | undefined =>
    env[name] === undefined || env[name] === "" ? undefined : read(name, pattern, what);
  const url = (name: string, required: boolean): string | undefined => {
    const value = env[name];
    if (value === undefined || value === "") {
      if (required) problems.push(`${name} is not set (a URL)`);
      return undefined;
    }
    if (normalizeUrl(value) === undefined || !/^https?:\/\//.test(value)) {
      problems.push(`${name}: not an http(s) URL`);
    }
    return value;
  };
  if (isVaultProvider(provider)) assertVaultBuild(provider);
  assertNoEndpointOverrides(env);
  let settings: VaultSettings;
  switch (provider) {
    case "file":
    case "pkcs11":
      return { provider };
    case "secrets-manager": {
      const s = SecretsManagerVaultEnv;
      const endpoint = url(s.Endpoint, false);
      const stsEndpoint = url(s.StsEndpoint, false);
      const identity = vaultIdentity(env.AWS_LAMBDA_FUNCTION_NAME);
      if ("problem" in identity) problems.push(identity.problem);
      const functionName = "problem" in identity ? "" : identity.functionName;
      settings = {
        provider,
        roleArn: read(s.RoleArn, ROLE_ARN, "an IAM role ARN (arn:aws:iam::<account>:role/<name>)"),
        externalId: read(s.ExternalId, EXTERNAL_ID, "an external id (2 to 1224 characters)"),
        region: read(s.Region, REGION, "an AWS Region such as eu-west-1", env.AWS_REGION),
        secretPrefix: read(s.SecretPrefix, SECRET_PREFIX, "a secret name prefix", "tether/"),
        sessionName: read(s.SessionName, SESSION_NAME, "a role session name", functionName),
        sourceIdentity: functionName,
        access: "problem" in identity ? "read" : identity.access,
        ...(endpoint === undefined ? {} : { endpoint }),
        ...(stsEndpoint === undefined ? {} : { stsEndpoint }),
      };
      break;
    }
    case "hashicorp": {
      const h = HashiCorpVaultEnv;
      const address = url(h.Address, true) ?? "";
      if (address !== "" && !isHttpsOrLoopback(address)) {
        problems.push(
          `${h.Address}: must be an https:// URL (http:// only to a loopback address): the token and the material cross this connection`,
        );
      }
      const namespace = optional(h.Namespace, KV_PATH, "a namespace path");
      const kvMount = read(h.KvMount, KV_PATH, "a mount path", "secret");
      const rawPrefix = env[h.PathPrefix] ?? "tether";
      const pathPrefix = rawPrefix === "" ? "" : read(h.PathPrefix, KV_PATH, "a path prefix", "tether");
      const versionText = env[h.KvVersion] ?? "1";
      const kvVersion = Number(versionText);
      if (!/^\d+$/.test(versionText) || !Number.isSafeInteger(kvVersion) || kvVersion < 1) {
        problems.push(`${h.KvVersion}: not a positive integer`);
      }
      const method = env[h.AuthMethod] ?? "token";
      let auth: HashiCorpAuthSettings = { method: "token" };
      if (method === "token") {
        const byReference = env[VAULT_SECRET_REF] !== undefined && env[VAULT_SECRET_REF] !== "";
        if ((env[h.Token] === undefined || env[h.Token] === "") && !byReference) {
          problems.push(`${h.Token} is not set, nor ${VAULT_SECRET_REF} (token auth needs a Vault token)`);
        }
      } else if (method === "aws") {
        const serverId = read(
          h.AwsServerId,
          /^[\x21-\x7e]{1,255}$/,
          "the X-Vault-AWS-IAM-Server-ID value, required with AWS IAM auth (the role's iam_server_id_header_value)",
        );
        const stsEndpoint = url(h.AwsStsEndpoint, false);
        auth = {
          method,
          role: read(h.AwsRole, /^[\w.@-]{1,128}$/, "a Vault role name"),
          mount: read(h.AwsAuthMount, KV_PATH, "a mount path", "aws"),
          stsRegion: read(h.AwsStsRegion, REGION, "an AWS Region", "us-east-1"),
          serverId,
          ...(stsEndpoint === undefined ? {} : { stsEndpoint }),
        };
      } else {
        problems.push(`${h.AuthMethod}: must be "token" or "aws"`);
      }
      settings = {
        provider,
        address,
        ...(namespace === undefined ? {} : { namespace }),
        kvMount,
        pathPrefix,
        kvVersion,
        auth,
      };
      break;
    }
    default:
      throw new ConfigError(
        `Tether is misconfigured: TETHER_VAULT: must be one of ${Object.values(VaultProvider).join(", ")}.`,
      );
  }
  if (problems.length > 0) throw new ConfigError(`Tether is misconfigured: ${problems.join("; ")}.`);
  return settings;
}
