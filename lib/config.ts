import { type ApprovalRules, parseApprovalRules } from "./domain/approvals.js";
import { parseAliasPrefix, parseDeployment } from "./domain/deployment.js";
import { ValidationError } from "./domain/errors.js";
import { parseImportPolicy } from "./domain/import-policy.js";
import { DefaultKmsQuotas } from "./domain/kms-constants.js";
import { parsePrincipalList } from "./domain/principal-arn.js";
import {
  ConfigError,
  normalizeUrl,
  refuseEndpointOverrides,
  SERVICE_ENDPOINT_OVERRIDES,
} from "./domain/settings.js";
import type { PolicyDefaults } from "./lifecycle/ports.js";
import {
  assertVaultSecretSource,
  isVaultProvider,
  loadVaultSettings,
  VAULT_ENDPOINT_OVERRIDES,
  VaultProvider,
  type VaultProviderName,
  type VaultSettings,
} from "./vault/settings.js";

// The vault's settings live with the vault adapters (lib/vault/settings.ts and each adapter's settings.ts);
// these names stay importable from here, where the rest of the configuration is read.
export { ConfigError } from "./domain/settings.js";
export type { HashiCorpAuthSettings, HashiCorpVaultSettings } from "./vault/hashicorp/settings.js";
export { HashiCorpVaultEnv } from "./vault/hashicorp/settings.js";
export type {
  SecretsManagerVaultAccess,
  SecretsManagerVaultSettings,
} from "./vault/secrets-manager/settings.js";
export { LOCAL_VAULT_IDENTITY, SecretsManagerVaultEnv } from "./vault/secrets-manager/settings.js";
export {
  assertVaultBuild,
  assertVaultSecretSource,
  loadVaultSettings,
  parseVaultSecretReference,
  VAULT_SECRET_REF,
  VAULT_SECRET_VARIABLE,
  VaultProvider,
  type VaultProviderName,
  type VaultSecretReference,
  type VaultSettings,
} from "./vault/settings.js";

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
  /** Who may serve as a vault agent (GET /agent/requests, POST /agent/requests/{id}/answer): not admins. */
  readonly TETHER_AGENT_PRINCIPALS: string;
  /** Largest request body the admin API accepts (bytes); larger is a 413. */
  readonly TETHER_MAX_BODY_BYTES: number;
  /** Endpoint overrides for the local AWS; refused by a bundle built for AWS (assertNoEndpointOverrides). */
  readonly TETHER_KMS_ENDPOINT: string | undefined;
  readonly TETHER_DYNAMODB_ENDPOINT: string | undefined;
  readonly TETHER_EVENTS_ENDPOINT: string | undefined;
  /** CloudTrail LookupEvents (locally the KMS emulator serves it on its own port). */
  readonly TETHER_CLOUDTRAIL_ENDPOINT: string | undefined;
  /** STS, for member accounts' roles (locally the KMS emulator serves it on its own port). */
  readonly TETHER_STS_ENDPOINT: string | undefined;
  /**
   * The deployment's (the hub's) 12-digit account id: keys of this account are reached with the functions'
   * own credentials, keys of a registered member through its role. serverless.yml sets it
   * (`${AWS::AccountId}`); unset, it is asked of STS (GetCallerIdentity) once, on first need.
   */
  readonly TETHER_ACCOUNT_ID: string | undefined;
  /**
   * Share of AWS's default KMS request quotas Tether may use, all its functions and Lambda instances together
   * (other clients share the account's quota).
   */
  readonly TETHER_KMS_QUOTA_SHARE: number;
  /** Requests per second per Region that override the share for some operations (`Operation=rate,...`). */
  readonly TETHER_KMS_RATES: string;
  /** `shared` (default): one budget per Region in the table for SHARED_KMS_OPERATIONS; `local`: per process. */
  readonly TETHER_KMS_BUDGET: "shared" | "local";
  /** Fraction of a shared rate one process keeps to while the shared budget cannot be reached. */
  readonly TETHER_KMS_FALLBACK_SHARE: number;
  readonly TETHER_LEASE_TTL_SECONDS: number;
  readonly TETHER_SWEEP_LIMIT: number;
  readonly TETHER_SWEEP_CONCURRENCY: number;
  /** Account-Region partitions of the due work a sweep drains at once (each with TETHER_SWEEP_CONCURRENCY workers). */
  readonly TETHER_SWEEP_PARTITIONS: number;
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
   * `on` (default): the sweep keeps a sentinel key in each Region (lib/lifecycle/scheduled/sentinels.ts) and losses
   * read their Region's sentinel health; `off`: no sentinels, every loss before ValidTo waits out the
   * attribution grace.
   */
  readonly TETHER_SENTINELS: "on" | "off";
  /**
   * `on` (default): each managed key-Region's import parameters are stored with its Region record and kept
   * warm by the sweep (lib/lifecycle/scheduled/warm-parameters.ts); `off`: parameters are cached in memory only, as
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
    TETHER_AGENT_PRINCIPALS: env.TETHER_AGENT_PRINCIPALS ?? "",
    TETHER_MAX_BODY_BYTES: number(
      "TETHER_MAX_BODY_BYTES",
      64 * 1024,
      (n) => Number.isSafeInteger(n) && n >= 256 && n <= 6 * 1024 * 1024,
      "an integer from 256 to 6291456",
    ),
    ...endpoints(optionalUrl),
    TETHER_ACCOUNT_ID: accountId(env, problems),
    TETHER_KMS_QUOTA_SHARE: number(
      "TETHER_KMS_QUOTA_SHARE",
      0.8,
      (n) => n > 0 && n <= 1,
      "a number greater than 0 and at most 1",
    ),
    TETHER_KMS_RATES: env.TETHER_KMS_RATES ?? "",
    TETHER_KMS_BUDGET: kmsBudget(env, problems),
    TETHER_KMS_FALLBACK_SHARE: number(
      "TETHER_KMS_FALLBACK_SHARE",
      0.1,
      (n) => n > 0 && n <= 1,
      "a number greater than 0 and at most 1",
    ),
    TETHER_LEASE_TTL_SECONDS: positiveInt("TETHER_LEASE_TTL_SECONDS", 120),
    TETHER_SWEEP_LIMIT: positiveInt("TETHER_SWEEP_LIMIT", 500),
    TETHER_SWEEP_CONCURRENCY: positiveInt("TETHER_SWEEP_CONCURRENCY", 8),
    TETHER_SWEEP_PARTITIONS: positiveInt("TETHER_SWEEP_PARTITIONS", 10),
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

/** The service endpoints (the local stack's; absent in AWS). */
function endpoints(optionalUrl: (name: string) => string | undefined) {
  return {
    TETHER_KMS_ENDPOINT: optionalUrl("TETHER_KMS_ENDPOINT"),
    TETHER_DYNAMODB_ENDPOINT: optionalUrl("TETHER_DYNAMODB_ENDPOINT"),
    TETHER_EVENTS_ENDPOINT: optionalUrl("TETHER_EVENTS_ENDPOINT"),
    TETHER_CLOUDTRAIL_ENDPOINT: optionalUrl("TETHER_CLOUDTRAIL_ENDPOINT"),
    TETHER_STS_ENDPOINT: optionalUrl("TETHER_STS_ENDPOINT"),
  };
}

function accountId(
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
): string | undefined {
  const value = env.TETHER_ACCOUNT_ID;
  if (value === undefined || value === "") return undefined;
  if (!/^\d{12}$/.test(value)) problems.push("TETHER_ACCOUNT_ID: must be a 12-digit AWS account id");
  return value;
}

function kmsBudget(
  env: Readonly<Record<string, string | undefined>>,
  problems: string[],
): "shared" | "local" {
  const value = env.TETHER_KMS_BUDGET ?? "shared";
  if (value === "shared" || value === "local") return value;
  problems.push(`TETHER_KMS_BUDGET must be "shared" or "local", not "${value}"`);
  return "shared";
}

/**
 * The client-side rate per KMS operation: the share of AWS's default quota, or TETHER_KMS_RATES's own
 * requests per second (an account whose quota was raised, or a deployment given less).
 * @throws ConfigError naming TETHER_KMS_RATES on an unknown operation or a rate that is not positive
 */
function kmsRates(share: number, overrides: string): Record<string, number> {
  const rates: Record<string, number> = Object.fromEntries(
    Object.entries(DefaultKmsQuotas).map(([operation, rate]) => [operation, rate * share]),
  );
  for (const part of overrides.split(",")) {
    if (part.trim() === "") continue;
    const [operation = "", value = "", ...rest] = part.split("=").map((p) => p.trim());
    const rate = Number(value);
    if (
      rest.length > 0 ||
      !(operation in DefaultKmsQuotas) ||
      value === "" ||
      !(Number.isFinite(rate) && rate > 0)
    ) {
      throw new ConfigError(
        `TETHER_KMS_RATES: "${part.trim()}" is not <operation>=<requests per second> with operation one of ${Object.keys(DefaultKmsQuotas).join(", ")} and a positive rate`,
      );
    }
    rates[operation] = rate;
  }
  return rates;
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
  /** Whether a caller may serve as a vault agent (only that: an agent is neither admin nor reader). */
  readonly isAgent: (principalArn: string) => boolean;
  readonly maxBodyBytes: number;
  readonly endpoints: {
    readonly kms?: string;
    readonly dynamodb?: string;
    readonly events?: string;
    readonly cloudtrail?: string;
    readonly sts?: string;
  };
  /** The deployment's own account (TETHER_ACCOUNT_ID); undefined: asked of STS on first need. */
  readonly accountId?: string | undefined;
  /** Requests per second per Region for the KMS operations Tether paces: the whole deployment's, not one process's. */
  readonly kmsQuotas: Readonly<Record<string, number>>;
  /** Whether SHARED_KMS_OPERATIONS are paced by one budget in the table (`shared`) or per process (`local`). */
  readonly kmsBudget: "shared" | "local";
  /** Fraction of a shared rate one process keeps to while the shared budget cannot be reached. */
  readonly kmsFallbackShare: number;
  readonly leaseTtlMs: number;
  readonly sweepLimit: number;
  readonly sweepConcurrency: number;
  /** Account-Region partitions drained at once (lib/lifecycle/scheduled/partitions.ts). */
  readonly sweepPartitions: number;
  /**
   * `events` (TETHER_SWEEP_FANOUT): the scheduled sweep is a dispatcher, one `sweep-partition` run per
   * account-Region partition (lib/domain/sweep-partition.ts); undefined: it drains the partitions itself.
   */
  readonly sweepFanout: "events" | undefined;
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
  /** Dual control's rules (TETHER_APPROVALS, lib/domain/approvals.ts); default: one admin does everything. */
  readonly approvals: ApprovalRules;
}

/**
 * Variables that send an AWS client somewhere other than AWS: Tether's own for its services and for each
 * vault adapter (its settings.ts), and the AWS SDK's (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`,
 * honoured by SDK v3 clients: https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
 */
export const ENDPOINT_OVERRIDES: readonly string[] = [
  ...SERVICE_ENDPOINT_OVERRIDES,
  ...VAULT_ENDPOINT_OVERRIDES,
];

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
  refuseEndpointOverrides(env, ENDPOINT_OVERRIDES, builtFor);
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
  const kmsQuotas = kmsRates(e.TETHER_KMS_QUOTA_SHARE, e.TETHER_KMS_RATES);
  return {
    region: e.AWS_REGION,
    tableName: e.TETHER_TABLE_NAME,
    auditBusName: e.TETHER_AUDIT_BUS_NAME,
    vault: e.TETHER_VAULT,
    vaultSettings,
    isTether,
    isAdmin: principalMatcher("TETHER_ADMIN_PRINCIPALS", e.TETHER_ADMIN_PRINCIPALS),
    isReader: principalMatcher("TETHER_READER_PRINCIPALS", e.TETHER_READER_PRINCIPALS),
    isAgent: principalMatcher("TETHER_AGENT_PRINCIPALS", e.TETHER_AGENT_PRINCIPALS),
    maxBodyBytes: e.TETHER_MAX_BODY_BYTES,
    endpoints: {
      ...(e.TETHER_KMS_ENDPOINT === undefined ? {} : { kms: e.TETHER_KMS_ENDPOINT }),
      ...(e.TETHER_DYNAMODB_ENDPOINT === undefined ? {} : { dynamodb: e.TETHER_DYNAMODB_ENDPOINT }),
      ...(e.TETHER_EVENTS_ENDPOINT === undefined ? {} : { events: e.TETHER_EVENTS_ENDPOINT }),
      ...(e.TETHER_CLOUDTRAIL_ENDPOINT === undefined ? {} : { cloudtrail: e.TETHER_CLOUDTRAIL_ENDPOINT }),
      ...(e.TETHER_STS_ENDPOINT === undefined ? {} : { sts: e.TETHER_STS_ENDPOINT }),
    },
    accountId: e.TETHER_ACCOUNT_ID,
    kmsQuotas,
    kmsBudget: e.TETHER_KMS_BUDGET,
    kmsFallbackShare: e.TETHER_KMS_FALLBACK_SHARE,
    leaseTtlMs: e.TETHER_LEASE_TTL_SECONDS * 1000,
    sweepLimit: e.TETHER_SWEEP_LIMIT,
    sweepConcurrency: e.TETHER_SWEEP_CONCURRENCY,
    sweepPartitions: e.TETHER_SWEEP_PARTITIONS,
    sweepFanout: sweepFanout(env),
    policyDefaults: parsePolicyDefaults(e.TETHER_DEFAULT_VALIDITY_PERIOD, e.TETHER_DEFAULT_RENEW_BEFORE),
    allowedRegions: e.TETHER_REGIONS.split(",")
      .map((r) => r.trim())
      .filter((r) => r.length > 0),
    deployment: e.TETHER_DEPLOYMENT,
    aliasPrefix: e.TETHER_ALIAS_PREFIX,
    sentinelRegions: sentinelRegions(e),
    warmParametersPerRun:
      e.TETHER_WARM_IMPORT_PARAMETERS === "off" ? undefined : e.TETHER_WARM_PARAMETERS_PER_RUN,
    approvals: approvalRules(env.TETHER_APPROVALS),
  };
}

/**
 * TETHER_APPROVALS (serverless.yml's `approvals` parameter): dual control's rules as JSON, checked at cold
 * start. @throws ConfigError naming the field
 */
function approvalRules(text: string | undefined): ApprovalRules {
  try {
    return parseApprovalRules(text);
  } catch (error) {
    throw new ConfigError(
      `Tether is misconfigured: TETHER_APPROVALS: ${error instanceof Error ? error.message : "invalid"}.`,
    );
  }
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
 * TETHER_SWEEP_FANOUT: `events` (the scheduled sweep dispatches one sweep-partition run per partition), or
 * empty / unset (the sweep drains its partitions itself).
 * @throws ConfigError naming the variable
 */
function sweepFanout(env: Readonly<Record<string, string | undefined>>): "events" | undefined {
  const value = env.TETHER_SWEEP_FANOUT ?? "";
  if (value === "events") return value;
  if (value === "") return undefined;
  throw new ConfigError(
    `Tether is misconfigured: TETHER_SWEEP_FANOUT must be "events" or empty, not "${value}".`,
  );
}
