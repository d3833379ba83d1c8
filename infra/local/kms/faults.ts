/**
 * Injected trouble and request quotas, per operation, account and Region, plus the call statistics that
 * benchmarks read. Quotas follow AWS's defaults (requests per second, per account and Region,
 * https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html: "Each quota is calculated
 * independently for each Region of each AWS account", https://docs.aws.amazon.com/kms/latest/developerguide/limits.html)
 * and are off until asked for: each account-Region has its own window per operation.
 */
import { KmsErrorType, kmsError } from "./errors.js";

export const FAULT_ERRORS = [
  "ThrottlingException",
  "KMSInternalException",
  "DependencyTimeoutException",
] as const;
export type FaultError = (typeof FAULT_ERRORS)[number];

export interface FaultSpec {
  /** Operation name (e.g. "ImportKeyMaterial") or "*" for all. Default "*". */
  operation?: string;
  /** Region, or "*" for all. Default "*". */
  region?: string;
  /** The caller's account (as the emulator takes it from the credentials), or "*" for all. Default "*". */
  account?: string;
  /** Error to answer with. Omit for a latency-only fault. */
  error?: FaultError;
  /** Answer the error for the next `count` matching calls. */
  count?: number;
  /** Or answer it with this probability (0..1) on each matching call. */
  probability?: number;
  /** Delay every matching call by this many milliseconds. */
  latencyMs?: number;
}

export interface QuotaConfig {
  /** Requests per window, per operation. Merged over AWS's defaults. */
  limits?: Record<string, number>;
  /** Window length; 1000 ms (per second) unless a test wants a wider, timing-proof window. */
  windowMs?: number;
}

/** AWS's default quotas for the operations Tether cares about; others get a generous shared quota. */
export const DEFAULT_QUOTAS: Readonly<Record<string, number>> = {
  GetParametersForImport: 1,
  ImportKeyMaterial: 15,
  DeleteImportedKeyMaterial: 15,
  RotateKeyOnDemand: 5,
  DescribeKey: 2000,
  /** CloudTrail's, served by the emulator too: "two per second, per account, per Region"
   * (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html). */
  LookupEvents: 2,
};
const GENEROUS_QUOTA = 10_000;

const THROTTLE_MESSAGE =
  "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.";

export interface KmsStats {
  calls: Record<string, Record<string, number>>;
  throttles: Record<string, Record<string, number>>;
  injectedErrors: Record<string, Record<string, number>>;
}

interface ActiveFault extends FaultSpec {
  remaining?: number;
}

function bump(table: Record<string, Record<string, number>>, region: string, operation: string): void {
  const row = table[region] ?? {};
  row[operation] = (row[operation] ?? 0) + 1;
  table[region] = row;
}

export class FaultInjector {
  private faults: ActiveFault[] = [];
  private quotas: { limits: Record<string, number>; windowMs: number } | undefined;
  private readonly windows = new Map<string, number[]>();
  private stats: KmsStats = { calls: {}, throttles: {}, injectedErrors: {} };

  constructor(private readonly random: () => number = Math.random) {}

  inject(spec: FaultSpec): void {
    this.faults.push({ ...spec, remaining: spec.count });
  }

  clearFaults(): void {
    this.faults = [];
  }

  setQuotas(config: QuotaConfig | false): void {
    this.windows.clear();
    this.quotas =
      config === false
        ? undefined
        : { limits: { ...DEFAULT_QUOTAS, ...(config.limits ?? {}) }, windowMs: config.windowMs ?? 1000 };
  }

  getStats(): KmsStats {
    return structuredClone(this.stats);
  }

  resetStats(): void {
    this.stats = { calls: {}, throttles: {}, injectedErrors: {} };
  }

  reset(): void {
    this.clearFaults();
    this.setQuotas(false);
    this.resetStats();
  }

  /**
   * Runs before an operation: counts it, waits injected latency, then applies quotas and injected errors.
   * @throws KmsApiError ThrottlingException, KMSInternalException or DependencyTimeoutException.
   */
  async before(operation: string, region: string, accountId: string): Promise<void> {
    bump(this.stats.calls, region, operation);
    const matching = this.faults.filter(
      (f) =>
        ((f.operation ?? "*") === "*" || f.operation === operation) &&
        ((f.region ?? "*") === "*" || f.region === region) &&
        ((f.account ?? "*") === "*" || f.account === accountId),
    );
    const latency = matching.reduce((sum, f) => sum + (f.latencyMs ?? 0), 0);
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency));

    if (this.quotas) {
      const limit = this.quotas.limits[operation] ?? GENEROUS_QUOTA;
      const now = Date.now();
      const bucket = `${accountId}/${region}/${operation}`;
      const recent = (this.windows.get(bucket) ?? []).filter(
        (t) => t > now - (this.quotas?.windowMs ?? 1000),
      );
      if (recent.length >= limit) {
        this.windows.set(bucket, recent);
        bump(this.stats.throttles, region, operation);
        throw kmsError(KmsErrorType.Throttling, THROTTLE_MESSAGE);
      }
      recent.push(now);
      this.windows.set(bucket, recent);
    }

    for (const fault of matching) {
      if (!fault.error) continue;
      let fire = false;
      if (fault.remaining !== undefined) {
        if (fault.remaining > 0) {
          fault.remaining -= 1;
          fire = true;
        }
      } else if (fault.probability !== undefined) {
        fire = this.random() < fault.probability;
      }
      if (!fire) continue;
      bump(this.stats.injectedErrors, region, operation);
      if (fault.error === "ThrottlingException") bump(this.stats.throttles, region, operation);
      throw kmsError(
        fault.error,
        fault.error === "ThrottlingException" ? THROTTLE_MESSAGE : "Injected fault (local KMS emulator).",
      );
    }
    this.faults = this.faults.filter((f) => f.remaining === undefined || f.remaining > 0 || !f.error);
  }
}
