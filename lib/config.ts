import { z } from "zod";
import { DefaultKmsQuotas } from "./domain/kms-constants.js";

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
  /** Endpoint overrides for the local AWS; absent on AWS. */
  TETHER_KMS_ENDPOINT: optionalUrl,
  TETHER_DYNAMODB_ENDPOINT: optionalUrl,
  TETHER_EVENTS_ENDPOINT: optionalUrl,
  /** Share of AWS's default KMS request quotas Tether may use (other clients share the account's quota). */
  TETHER_KMS_QUOTA_SHARE: z.coerce.number().gt(0).max(1).default(0.8),
  TETHER_LEASE_TTL_SECONDS: positiveInt(120),
  TETHER_SWEEP_LIMIT: positiveInt(500),
  TETHER_SWEEP_CONCURRENCY: positiveInt(8),
});

export interface TetherConfig {
  readonly region: string;
  readonly tableName: string;
  readonly auditBusName: string;
  readonly vault: "file";
  readonly isTether: (principalArn: string) => boolean;
  readonly endpoints: { readonly kms?: string; readonly dynamodb?: string; readonly events?: string };
  readonly kmsQuotas: Readonly<Record<string, number>>;
  readonly leaseTtlMs: number;
  readonly sweepLimit: number;
  readonly sweepConcurrency: number;
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
  const patterns = e.TETHER_SELF_PRINCIPALS.split(",")
    .map((p) => p.trim())
    .filter((p) => p.length > 0)
    .map(globToRegExp);
  const kmsQuotas = Object.fromEntries(
    Object.entries(DefaultKmsQuotas).map(([operation, rate]) => [operation, rate * e.TETHER_KMS_QUOTA_SHARE]),
  );
  return {
    region: e.AWS_REGION,
    tableName: e.TETHER_TABLE_NAME,
    auditBusName: e.TETHER_AUDIT_BUS_NAME,
    vault: e.TETHER_VAULT,
    isTether: (arn) => patterns.some((pattern) => pattern.test(arn)),
    endpoints: {
      ...(e.TETHER_KMS_ENDPOINT === undefined ? {} : { kms: e.TETHER_KMS_ENDPOINT }),
      ...(e.TETHER_DYNAMODB_ENDPOINT === undefined ? {} : { dynamodb: e.TETHER_DYNAMODB_ENDPOINT }),
      ...(e.TETHER_EVENTS_ENDPOINT === undefined ? {} : { events: e.TETHER_EVENTS_ENDPOINT }),
    },
    kmsQuotas,
    leaseTtlMs: e.TETHER_LEASE_TTL_SECONDS * 1000,
    sweepLimit: e.TETHER_SWEEP_LIMIT,
    sweepConcurrency: e.TETHER_SWEEP_CONCURRENCY,
  };
}

/** `arn:aws:sts::*:assumed-role/tether-*` → an anchored RegExp; only `*` is special. */
function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`);
}
