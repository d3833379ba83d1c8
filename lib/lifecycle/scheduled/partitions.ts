/**
 * The sweep's due work, partitioned per account-Region: KMS counts its request quotas per account
 * and Region (https://docs.aws.amazon.com/kms/latest/developerguide/limits.html), and the rate limiter keeps
 * one budget per account-Region, so a run drains each partition with its own workers. One partition waiting
 * on its quota (or throttled, or slow) never holds up another's: with one global list, every worker could be
 * queued behind the first account's budget while the others' sat unused. The total rate grows with the
 * number of accounts, up to `partitionConcurrency` partitions at once.
 */
import { errorName } from "../../domain/errors.js";
import {
  groupByPartition,
  type PartitionWork,
  partitionOfKey,
  type QuotaPartition,
} from "../../domain/quota-partitions.js";
import type { DueRegion, LifecycleDeps } from "../ports.js";

/** What one partition's drain did, for the run's report. */
export interface PartitionReport {
  /** `<account>/<region>` (`self/<region>`: the account is not known, the deployment's own). */
  readonly partition: string;
  readonly due: number;
  readonly processed: number;
}

export interface DrainOptions {
  /** Partitions drained at once. */
  readonly partitionConcurrency: number;
  /** Workers per partition (due Regions of one partition visited at once). */
  readonly concurrency: number;
  /** Whether the run may take another item (its Lambda time). */
  readonly mayContinue: () => boolean;
}

/** Partitions drained at once when the run's options give no number (TETHER_SWEEP_PARTITIONS' default). */
export const DEFAULT_PARTITION_CONCURRENCY = 10;

/**
 * Groups the due Regions by account-Region: the account is the one the Region's key ARN names (read in
 * batches, KeyRepository.regionArns; per key when the repository cannot). Only when member accounts are
 * registered (deps.accounts): without members every key is the deployment's own, the Regions alone partition
 * the work, and nothing more is read (a single-account sweep reads what it read before). A Region whose ARN
 * cannot be read goes to its Region's partition of the deployment's own account, and is visited as before.
 */
export async function partitionDue(
  deps: LifecycleDeps,
  due: readonly DueRegion[],
): Promise<PartitionWork<DueRegion>[]> {
  if (due.length === 0) return [];
  let arns: (string | undefined)[] = due.map(() => undefined);
  try {
    if (await hasMembers(deps)) {
      arns =
        deps.keys.regionArns === undefined ? await arnsPerKey(deps, due) : await deps.keys.regionArns(due);
    }
  } catch (error) {
    deps.log?.("warn", "due work not partitioned by account this run: key ARNs unreadable", {
      error: errorName(error),
    });
  }
  const partitionOf = new Map<DueRegion, QuotaPartition>(
    due.map((item, i) => [item, partitionOfKey(arns[i], item.region)]),
  );
  return groupByPartition(due, (item) => partitionOf.get(item) ?? partitionOfKey(undefined, item.region));
}

/** Whether any member account is registered (one Query); none without a registry. */
async function hasMembers(deps: LifecycleDeps): Promise<boolean> {
  return deps.accounts !== undefined && (await deps.accounts.list()).length > 0;
}

async function arnsPerKey(deps: LifecycleDeps, due: readonly DueRegion[]): Promise<(string | undefined)[]> {
  const keys = new Map<string, Awaited<ReturnType<LifecycleDeps["keys"]["get"]>>>();
  for (const item of due) {
    if (!keys.has(item.keyId)) keys.set(item.keyId, await deps.keys.get(item.keyId));
  }
  return due.map((item) => keys.get(item.keyId)?.regions.find((r) => r.region === item.region)?.keyArn);
}

/**
 * Drains the partitions, up to `partitionConcurrency` at once (most urgent first), each with
 * `concurrency` workers taking its items in order, until it is empty or the run must stop.
 * @param visit one item's work (a due Region's visit); must not throw (a failure is an outcome)
 */
export async function drainPartitions<T>(
  partitions: readonly PartitionWork<T>[],
  options: DrainOptions,
  visit: (item: T) => Promise<void>,
): Promise<PartitionReport[]> {
  const reports: PartitionReport[] = partitions.map((p) => ({
    partition: p.label,
    due: p.items.length,
    processed: 0,
  }));
  const drain = async (index: number): Promise<void> => {
    const work = partitions[index];
    if (work === undefined) return;
    let next = 0;
    let processed = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        if (!options.mayContinue()) return;
        const item = work.items[next++];
        if (item === undefined) return;
        await visit(item);
        processed++;
      }
    };
    const workers = Math.max(1, Math.min(options.concurrency, work.items.length));
    await Promise.all(Array.from({ length: workers }, worker));
    reports[index] = { partition: work.label, due: work.items.length, processed };
  };
  let nextPartition = 0;
  const lane = async (): Promise<void> => {
    for (let i = nextPartition++; i < partitions.length; i = nextPartition++) await drain(i);
  };
  const lanes = Math.max(1, Math.min(options.partitionConcurrency, partitions.length));
  await Promise.all(Array.from({ length: lanes }, lane));
  return reports;
}
