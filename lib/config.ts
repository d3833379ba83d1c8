import { ValidationError } from "./domain/errors.js";
import { parseImportPolicy } from "./domain/import-policy.js";
import { DefaultKmsQuotas } from "./domain/kms-constants.js";
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
  /** ARN patterns (`*` matches any run of characters) of Tether's own roles, comma-separated. */
  readonly TETHER_SELF_PRINCIPALS: string;
  /** Admin API roles: IAM principal ARN patterns, comma-separated. Admins may change keys and read. */
  readonly TETHER_ADMIN_PRINCIPALS: string;
  /** Principals that may only read (list, show, history). */
  readonly TETHER_READER_PRINCIPALS: string;
  /** Largest request body the admin API accepts (bytes); larger is a 413. */
  readonly TETHER_MAX_BODY_BYTES: number;
  /** Endpoint overrides for the local AWS; absent on AWS. */
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
  };
  if (problems.length > 0) throw new ConfigError(`Tether is misconfigured: ${problems.join("; ")}.`);
  return parsed;
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
}

/**
 * Reads and validates the environment once (call at module scope, at cold start).
 * @throws ConfigError naming every missing or malformed variable
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>> = process.env): TetherConfig {
  const e = readEnvironment(env);
  const isTether = principalMatcher(e.TETHER_SELF_PRINCIPALS);
  const kmsQuotas = Object.fromEntries(
    Object.entries(DefaultKmsQuotas).map(([operation, rate]) => [operation, rate * e.TETHER_KMS_QUOTA_SHARE]),
  );
  return {
    region: e.AWS_REGION,
    tableName: e.TETHER_TABLE_NAME,
    auditBusName: e.TETHER_AUDIT_BUS_NAME,
    vault: e.TETHER_VAULT,
    vaultSettings: loadVaultSettings(env),
    isTether,
    isAdmin: principalMatcher(e.TETHER_ADMIN_PRINCIPALS),
    isReader: principalMatcher(e.TETHER_READER_PRINCIPALS),
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
  };
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

/** A comma-separated list of ARN patterns → a test; an empty list matches nobody. */
function principalMatcher(list: string): (principalArn: string) => boolean {
  const patterns = list
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map(globToRegExp);
  return (arn) => typeof arn === "string" && patterns.some((pattern) => pattern.test(arn));
}

/** `arn:aws:sts::*:assumed-role/tether-*` → an anchored RegExp; only `*` is special. */
function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`);
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

export interface SecretsManagerVaultSettings {
  readonly provider: "secrets-manager";
  readonly roleArn: string;
  readonly externalId: string;
  readonly region: string;
  /** Prepended to a material reference to make the secret's name, e.g. `tether/` + `team/key-1`. */
  readonly secretPrefix: string;
  readonly sessionName: string;
  readonly endpoint?: string;
  readonly stsEndpoint?: string;
}

export type HashiCorpAuthSettings =
  | { readonly method: "token" }
  | {
      readonly method: "aws";
      readonly role: string;
      readonly mount: string;
      readonly serverId?: string;
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
  let settings: VaultSettings;
  switch (provider) {
    case "file":
    case "pkcs11":
      return { provider };
    case "secrets-manager": {
      const s = SecretsManagerVaultEnv;
      const endpoint = url(s.Endpoint, false);
      const stsEndpoint = url(s.StsEndpoint, false);
      settings = {
        provider,
        roleArn: read(s.RoleArn, ROLE_ARN, "an IAM role ARN (arn:aws:iam::<account>:role/<name>)"),
        externalId: read(s.ExternalId, EXTERNAL_ID, "an external id (2 to 1224 characters)"),
        region: read(s.Region, REGION, "an AWS Region such as eu-west-1", env.AWS_REGION),
        secretPrefix: read(s.SecretPrefix, SECRET_PREFIX, "a secret name prefix", "tether/"),
        sessionName: read(s.SessionName, SESSION_NAME, "a role session name", "tether-vault"),
        ...(endpoint === undefined ? {} : { endpoint }),
        ...(stsEndpoint === undefined ? {} : { stsEndpoint }),
      };
      break;
    }
    case "hashicorp": {
      const h = HashiCorpVaultEnv;
      const address = url(h.Address, true) ?? "";
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
        if (env[h.Token] === undefined || env[h.Token] === "") {
          problems.push(`${h.Token} is not set (token auth needs a Vault token)`);
        }
      } else if (method === "aws") {
        const serverId = optional(h.AwsServerId, /^[\x21-\x7e]{1,255}$/, "a header value");
        const stsEndpoint = url(h.AwsStsEndpoint, false);
        auth = {
          method,
          role: read(h.AwsRole, /^[\w.@-]{1,128}$/, "a Vault role name"),
          mount: read(h.AwsAuthMount, KV_PATH, "a mount path", "aws"),
          stsRegion: read(h.AwsStsRegion, REGION, "an AWS Region", "us-east-1"),
          ...(serverId === undefined ? {} : { serverId }),
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
