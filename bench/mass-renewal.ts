/**
 * Benchmark 2: N keys due for renewal at once, the emulator enforcing AWS's default request quotas.
 *
 * Keys are registered (quotas off, no limiter) by deps that share their ImportParametersCache with the
 * measured deps — as one warm Lambda keeps parameters between invocations — so the measured rounds reuse
 * each key's parameters and ImportKeyMaterial (15/s) is the bound. The "cold" row measures a few keys with
 * an empty cache: every key then needs its own GetParametersForImport (1/s), which is the bound instead.
 */
import { ImportParametersCache } from "../lib/kms/import-parameters.js";
import { sweep } from "../lib/lifecycle/scheduled/sweep.js";
import type { Bed } from "./lib/bed.js";
import { field, repeat, type Summary } from "./lib/stats.js";

/** AWS's default quotas (https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html). */
const IMPORT_QUOTA = 15;
const PARAMETERS_QUOTA = 1;
const POLICY = { validityPeriod: "PT2H", renewBefore: "PT1H" };
/** Past the renew window of POLICY (validTo - 1 h), short of expiry. */
const ADVANCE_MS = 61 * 60 * 1000;

export interface MassRenewalOptions {
  readonly keys: number;
  readonly runs: number;
  readonly shares: readonly number[];
  readonly log?: (line: string) => void;
}

export interface RenewalRow {
  readonly label: string;
  readonly quotaShare: number;
  readonly keys: number;
  readonly importsPerSecond: Summary;
  /** Quota-bound ideal imports/s for this scenario (AWS's quota, not Tether's share of it). */
  readonly idealPerSecond: number;
  /** importsPerSecond.median / idealPerSecond. */
  readonly shareOfIdeal: number;
  /**
   * importsPerSecond.median / (idealPerSecond × quotaShare): how much of the rate Tether allows itself
   * (TETHER_KMS_QUOTA_SHARE leaves the rest of the account's quota to its other callers) it achieves.
   */
  readonly shareOfAllowed: number;
  readonly wallMs: Summary;
  readonly renewed: Summary;
  readonly failed: Summary;
  readonly throttlesAbsorbed: Summary;
  readonly parametersCalls: Summary;
  readonly importCalls: Summary;
}

export async function benchMassRenewal(bed: Bed, options: MassRenewalOptions): Promise<RenewalRow[]> {
  const log = options.log ?? (() => {});
  const cache = new ImportParametersCache();
  const setup = bed.deps({ unlimited: true, parametersCache: cache });
  const rows: RenewalRow[] = [];
  try {
    await bed.aws.kms.admin.setQuotas(false);
    const started = performance.now();
    const keys = await bed.registerMany(options.keys, POLICY, setup);
    log(
      `mass-renewal: ${keys.length} keys registered in ${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    for (const share of options.shares) {
      const runs = await repeat(options.runs, () => renewRound(bed, share, cache, options.keys));
      rows.push(row(`warm parameters, share ${share}`, share, options.keys, IMPORT_QUOTA, runs));
      log(
        `mass-renewal: share ${share}: ${rows[rows.length - 1]?.importsPerSecond.median.toFixed(2)} imports/s`,
      );
    }
  } finally {
    await bed.aws.kms.admin.setQuotas(false);
    setup.close();
  }
  return rows;
}

/**
 * Renewal by a process that holds no import parameters (a cold Lambda renewing keys imported days ago):
 * run on a bed of its own, so that only these keys are due.
 */
export async function benchColdRenewal(
  bed: Bed,
  keys: number,
  log: (line: string) => void = () => {},
): Promise<RenewalRow> {
  const setup = bed.deps({ unlimited: true });
  try {
    await bed.aws.kms.admin.setQuotas(false);
    await bed.registerMany(keys, POLICY, setup);
    const result = await renewRound(bed, 1, new ImportParametersCache(), keys);
    const cold = row("cold parameters, share 1", 1, keys, PARAMETERS_QUOTA, [result]);
    log(`mass-renewal: cold: ${cold.importsPerSecond.median.toFixed(2)} imports/s`);
    return cold;
  } finally {
    await bed.aws.kms.admin.setQuotas(false);
    setup.close();
  }
}

interface RoundResult {
  wallMs: number;
  renewed: number;
  failed: number;
  throttles: number;
  parametersCalls: number;
  importCalls: number;
}

async function renewRound(
  bed: Bed,
  share: number,
  cache: ImportParametersCache,
  keys: number,
): Promise<RoundResult> {
  await bed.aws.kms.admin.setQuotas(false);
  await bed.advance(ADVANCE_MS);
  // The quota windows start empty, as after a quiet minute.
  await bed.aws.kms.admin.setQuotas({});
  await bed.aws.kms.admin.resetStats();
  const measured = bed.deps({ quotaShare: share, parametersCache: cache });
  try {
    const started = performance.now();
    const report = await sweep(measured.deps, {
      correlationId: `bench-renewal-${share}`,
      limit: keys,
      concurrency: measured.config.sweepConcurrency,
    });
    const wallMs = performance.now() - started;
    const stats = await bed.aws.kms.admin.stats();
    const sum = (table: Record<string, Record<string, number>>, operation: string) =>
      Object.values(table).reduce((total, byOperation) => total + (byOperation[operation] ?? 0), 0);
    return {
      wallMs,
      renewed: report.outcomes.renewed ?? 0,
      failed: report.processed - (report.outcomes.renewed ?? 0),
      throttles: Object.values(stats.throttles).reduce(
        (total, byOperation) => total + Object.values(byOperation).reduce((a, b) => a + b, 0),
        0,
      ),
      parametersCalls: sum(stats.calls, "GetParametersForImport"),
      importCalls: sum(stats.calls, "ImportKeyMaterial"),
    };
  } finally {
    measured.close();
  }
}

function row(label: string, share: number, keys: number, ideal: number, runs: RoundResult[]): RenewalRow {
  const importsPerSecond = field(runs, (r) => r.renewed / (r.wallMs / 1000));
  return {
    label,
    quotaShare: share,
    keys,
    importsPerSecond,
    idealPerSecond: ideal,
    shareOfIdeal: importsPerSecond.median / ideal,
    shareOfAllowed: importsPerSecond.median / (ideal * share),
    wallMs: field(runs, (r) => r.wallMs),
    renewed: field(runs, (r) => r.renewed),
    failed: field(runs, (r) => r.failed),
    throttlesAbsorbed: field(runs, (r) => r.throttles),
    parametersCalls: field(runs, (r) => r.parametersCalls),
    importCalls: field(runs, (r) => r.importCalls),
  };
}
