import { errorName, KmsThrottledError } from "../../domain/errors.js";
import type { AwsRegion, TetherKeyId } from "../../domain/ids.js";
import { KeyStatusState, type ManagedKey, type RegionRecord } from "../../domain/managed-key.js";
import { groupByPartition, partitionOfKey } from "../../domain/quota-partitions.js";
import {
  parametersNeedRenewal,
  parametersUsable,
  type StoredParametersInfo,
  warmSharePercent,
} from "../../domain/warm-parameters.js";
import { chooseWrapping, type WrappingChoice } from "../../domain/wrapping.js";
import type { KeyRepository, LifecycleDeps } from "../ports.js";
import { DEFAULT_PARTITION_CONCURRENCY, drainPartitions } from "./partitions.js";

/** What one sweep run saw of warm import parameters and what it renewed. */
export interface ParametersReport {
  /** Key-Regions of active keys the run looked at (each is looked at at least once per reconcile interval). */
  readonly checked: number;
  /** Of those, how many hold a set that serves an import now (after this run's renewals). */
  readonly warm: number;
  /** Sets this run fetched and stored (GetParametersForImport calls it spent on warming). */
  readonly warmed: number;
  /** Key-Regions of active keys without a set that serves an import now (checked - warm). */
  readonly cold: number;
  readonly failed: number;
  /** Why no set was renewed, when none was: due work was waiting, or time ran out. */
  readonly skipped?: "due-work-waiting" | "time" | "throttled" | undefined;
  /** warm / checked in percent; absent when nothing was checked. */
  readonly sharePercent?: number | undefined;
}

interface Seen {
  readonly keyId: TetherKeyId;
  readonly record: RegionRecord;
}

/**
 * Learns, for free, which key-Regions the sweep looked at and what their records and keys say: it watches
 * the Region records the sweep saves anyway (every reconciled Region is saved, to move its next check) and
 * the key records it reads. Costs no read of its own; a Region not visited this run is not in the figures
 * (every Region is visited at least once per reconcile interval, so over that interval all are).
 */
export class ParametersWatch {
  readonly #regions = new Map<string, Seen>();
  readonly #keys = new Map<TetherKeyId, ManagedKey>();

  /** The repository to hand the sweep: every call goes through unchanged; saved Regions and read keys are noted. */
  observe(keys: KeyRepository): KeyRepository {
    return new Proxy(keys, {
      get: (target, property, receiver) => {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== "function") return value;
        if (property === "saveRegion") {
          return async (...args: Parameters<KeyRepository["saveRegion"]>) => {
            await value.apply(target, args);
            this.#regions.set(`${args[0]}\u0000${args[1].region}`, { keyId: args[0], record: args[1] });
          };
        }
        if (property === "get") {
          return async (...args: Parameters<KeyRepository["get"]>) => {
            const key = (await value.apply(target, args)) as ManagedKey | undefined;
            if (key !== undefined) this.#keys.set(key.id, key);
            return key;
          };
        }
        return value.bind(target);
      },
    });
  }

  get regions(): readonly Seen[] {
    return [...this.#regions.values()];
  }

  key(id: TetherKeyId): ManagedKey | undefined {
    return this.#keys.get(id);
  }
}

export interface WarmOptions {
  /**
   * Most sets one run fetches for warming in each account-Region (GetParametersForImport's quota is per
   * account and Region); 0: none (the share is still reported).
   */
  readonly perRun: number;
  /** True when the run left due work for the next one (or took as much as its limit): nothing is warmed. */
  readonly dueWorkWaiting: boolean;
  readonly remainingMs: () => number;
  /** Stop fetching when less than this is left. */
  readonly reserveMs: number;
}

interface Candidate {
  readonly keyId: TetherKeyId;
  readonly region: AwsRegion;
  readonly keyArn: string;
  readonly wrapping: WrappingChoice;
  readonly warmUntil: Date;
  readonly info: StoredParametersInfo | undefined;
}

/**
 * The end of a sweep run: renews the warm import parameters of the key-Regions it looked at whose set would
 * run out before their next check (or whose wrapping changed, or that have none), from the quota left over
 * — only when no due work is waiting, at most `perRun` per account-Region, one at a time per account-Region
 * through the KMS adapter's rate limiter (a budget, not a burst; the account-Regions in parallel, each with
 * its own quota), soonest to run out first, and never past the run's reserve. An account-Region stops at its
 * first throttle: its quota is spoken for (the others go on). Keys that are not active (revoked, paused) are neither warmed nor
 * counted: Tether will not import into them on its own.
 */
export async function warmParameters(
  deps: LifecycleDeps,
  watch: ParametersWatch,
  options: WarmOptions,
): Promise<ParametersReport> {
  const now = deps.clock();
  const { checked, warm, candidates } = await collectCandidates(deps, watch, now);
  const { warmed, failed, renewedWarm, skipped } = await renewCandidates(deps, candidates, options, now);
  const finalWarm = warm + renewedWarm;
  return {
    checked,
    warm: finalWarm,
    warmed,
    cold: checked - finalWarm,
    failed,
    ...(skipped === undefined ? {} : { skipped }),
    ...(warmSharePercent(finalWarm, checked) === undefined
      ? {}
      : { sharePercent: warmSharePercent(finalWarm, checked) }),
  };
}

/**
 * The active key-Regions the run looked at: how many, how many hold a set that lasts until their next
 * check (or is usable now), and those whose set should be renewed, soonest to run out first.
 */
async function collectCandidates(
  deps: LifecycleDeps,
  watch: ParametersWatch,
  now: Date,
): Promise<{ checked: number; warm: number; candidates: Candidate[] }> {
  let checked = 0;
  let warm = 0;
  const candidates: Candidate[] = [];
  // What the vault can wrap with, asked once per key spec a run (an HSM may answer over the wire).
  const supported = new Map<string, readonly WrappingChoice[] | undefined>();
  for (const { keyId, record } of watch.regions) {
    const key = watch.key(keyId) ?? (await deps.keys.get(keyId, { regions: "none" }));
    if (key === undefined || key.status.state !== KeyStatusState.Active) continue;
    checked++;
    if (!supported.has(key.keySpec)) {
      supported.set(key.keySpec, await deps.vault.supportedWrappings?.(key.keySpec));
    }
    const wrapping = chooseWrapping(key.keySpec, key.policy.wrapping, supported.get(key.keySpec));
    const info = record.storedParameters;
    if (!parametersNeedRenewal(info, wrapping, record.nextCheckAt)) {
      warm++;
      continue;
    }
    candidates.push({
      keyId,
      region: record.region,
      keyArn: record.keyArn,
      wrapping,
      warmUntil: record.nextCheckAt,
      info,
    });
    // Usable now though it will not last until the next check: warm today, renewed below if the budget allows.
    if (parametersUsable(info, wrapping, now)) warm++;
  }
  // Soonest to run out first: none at all, then the earliest ParametersValidTo.
  const validToMs = (c: Candidate) => c.info?.validTo.getTime() ?? 0;
  candidates.sort((a, b) => validToMs(a) - validToMs(b));
  return { checked, warm, candidates };
}

/** Renews the candidates' sets within the run's budget (see warmParameters). */
async function renewCandidates(
  deps: LifecycleDeps,
  candidates: readonly Candidate[],
  options: WarmOptions,
  now: Date,
): Promise<{ warmed: number; failed: number; renewedWarm: number; skipped: ParametersReport["skipped"] }> {
  const total = { warmed: 0, failed: 0, renewedWarm: 0, skipped: undefined as ParametersReport["skipped"] };
  const warmPort = deps.kms.warmImportParameters?.bind(deps.kms);
  if (warmPort === undefined || options.perRun <= 0 || candidates.length === 0) return total;
  if (options.dueWorkWaiting) return { ...total, skipped: "due-work-waiting" };
  // Per account-Region, in parallel: each partition has its own GetParametersForImport quota, its own
  // perRun, and stops at its own first throttle.
  const partitions = groupByPartition(candidates, (c) => partitionOfKey(c.keyArn, c.region));
  await drainPartitions(
    partitions.map((p) => ({ ...p, items: [p.items] })),
    { partitionConcurrency: DEFAULT_PARTITION_CONCURRENCY, concurrency: 1, mayContinue: () => true },
    async (items) => {
      const part = await renewPartition(deps, warmPort, items, options, now);
      total.warmed += part.warmed;
      total.failed += part.failed;
      total.renewedWarm += part.renewedWarm;
      // Throttled anywhere says more than time; time more than nothing.
      if (part.skipped === "throttled" || (part.skipped === "time" && total.skipped === undefined)) {
        total.skipped = part.skipped;
      }
    },
  );
  return total;
}

/** One account-Region's candidates, one at a time through the rate limiter, at most perRun fetched. */
async function renewPartition(
  deps: LifecycleDeps,
  warmPort: NonNullable<LifecycleDeps["kms"]["warmImportParameters"]>,
  candidates: readonly Candidate[],
  options: WarmOptions,
  now: Date,
): Promise<{ warmed: number; failed: number; renewedWarm: number; skipped: ParametersReport["skipped"] }> {
  let warmed = 0;
  let failed = 0;
  let renewedWarm = 0;
  let skipped: ParametersReport["skipped"];
  for (const candidate of candidates) {
    if (warmed >= options.perRun) break;
    if (options.remainingMs() < options.reserveMs) {
      skipped = "time";
      break;
    }
    const wasWarm = parametersUsable(candidate.info, candidate.wrapping, now);
    try {
      const result = await warmPort({
        managedKeyId: candidate.keyId,
        region: candidate.region,
        keyId: candidate.keyArn,
        wrapping: candidate.wrapping,
        warmUntil: candidate.warmUntil,
      });
      if (result.fetched) warmed++;
      if (!wasWarm) renewedWarm++;
    } catch (error) {
      deps.log?.("warn", "import parameters not renewed", {
        keyId: candidate.keyId,
        region: candidate.region,
        error: errorName(error),
      });
      failed++;
      if (error instanceof KmsThrottledError) {
        skipped = "throttled";
        break;
      }
    }
  }
  return { warmed, failed, renewedWarm, skipped };
}
