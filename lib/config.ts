import { z } from "zod";
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

const optionalUrl = z.string().url().optional();
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const schema = z.object({
  AWS_REGION: z.string().min(1),
  TETHER_TABLE_NAME: z.string().min(3).max(255),
  TETHER_AUDIT_BUS_NAME: z.string().min(1).max(256),
  TETHER_VAULT: z.enum(["file"]).default("file"),
  /** ARN patterns (`*` matches any run of characters) of Tether's own roles, comma-separated. */
  TETHER_SELF_PRINCIPALS: z.string().default(""),
  /** Admin API roles: IAM principal ARN patterns, comma-separated. Admins may change keys and read. */
  TETHER_ADMIN_PRINCIPALS: z.string().default(""),
  /** Principals that may only read (list, show, history). */
  TETHER_READER_PRINCIPALS: z.string().default(""),
  /** Largest request body the admin API accepts (bytes); larger is a 413. */
  TETHER_MAX_BODY_BYTES: z.coerce
    .number()
    .int()
    .min(256)
    .max(6 * 1024 * 1024)
    .default(64 * 1024),
  /** Endpoint overrides for the local AWS; absent on AWS. */
  TETHER_KMS_ENDPOINT: optionalUrl,
  TETHER_DYNAMODB_ENDPOINT: optionalUrl,
  TETHER_EVENTS_ENDPOINT: optionalUrl,
  /** Share of AWS's default KMS request quotas Tether may use (other clients share the account's quota). */
  TETHER_KMS_QUOTA_SHARE: z.coerce.number().gt(0).max(1).default(0.8),
  TETHER_LEASE_TTL_SECONDS: positiveInt(120),
  TETHER_SWEEP_LIMIT: positiveInt(500),
  TETHER_SWEEP_CONCURRENCY: positiveInt(8),
  /** Stage defaults for new keys' import policies (ISO 8601 durations); a request's own policy wins. */
  TETHER_DEFAULT_VALIDITY_PERIOD: z.string().optional(),
  TETHER_DEFAULT_RENEW_BEFORE: z.string().optional(),
  /** The Regions keys may live in (primary and replicas), comma-separated; empty = any. */
  TETHER_REGIONS: z.string().default(""),
});

export interface TetherConfig {
  readonly region: string;
  readonly tableName: string;
  readonly auditBusName: string;
  readonly vault: "file";
  readonly isTether: (principalArn: string) => boolean;
  /** Whether a caller of the admin API may change state (and read). */
  readonly isAdmin: (principalArn: string) => boolean;
  /** Whether a caller of the admin API may read. Admins are not necessarily listed here. */
  readonly isReader: (principalArn: string) => boolean;
  readonly maxBodyBytes: number;
  readonly endpoints: { readonly kms?: string; readonly dynamodb?: string; readonly events?: string };
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
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? "environment");
      return env[name] === undefined ? `${name} is not set` : `${name}: ${issue.message}`;
    });
    throw new ConfigError(`Tether is misconfigured: ${problems.join("; ")}.`);
  }
  const e = parsed.data;
  const isTether = principalMatcher(e.TETHER_SELF_PRINCIPALS);
  const kmsQuotas = Object.fromEntries(
    Object.entries(DefaultKmsQuotas).map(([operation, rate]) => [operation, rate * e.TETHER_KMS_QUOTA_SHARE]),
  );
  return {
    region: e.AWS_REGION,
    tableName: e.TETHER_TABLE_NAME,
    auditBusName: e.TETHER_AUDIT_BUS_NAME,
    vault: e.TETHER_VAULT,
    isTether,
    isAdmin: principalMatcher(e.TETHER_ADMIN_PRINCIPALS),
    isReader: principalMatcher(e.TETHER_READER_PRINCIPALS),
    maxBodyBytes: e.TETHER_MAX_BODY_BYTES,
    endpoints: {
      ...(e.TETHER_KMS_ENDPOINT === undefined ? {} : { kms: e.TETHER_KMS_ENDPOINT }),
      ...(e.TETHER_DYNAMODB_ENDPOINT === undefined ? {} : { dynamodb: e.TETHER_DYNAMODB_ENDPOINT }),
      ...(e.TETHER_EVENTS_ENDPOINT === undefined ? {} : { events: e.TETHER_EVENTS_ENDPOINT }),
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
