/**
 * KMS counts its request quotas per account and per Region ("Each quota is calculated independently for each
 * Region of each AWS account", https://docs.aws.amazon.com/kms/latest/developerguide/limits.html; the rates:
 * https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html), so Tether keeps one budget,
 * and drains one partition of its due work, per account-Region: a key's account is the one its key ARN names.
 * Pure: what a partition is, and how due work is grouped into partitions.
 */
import { accountOfKeyId } from "./key-arn.js";

/** One account-Region: the unit of a quota budget and of the sweep's due work. */
export interface QuotaPartition {
  /** The 12-digit account id, or undefined when not known (the deployment's own, by default). */
  readonly account: string | undefined;
  readonly region: string;
}

/** The label of a partition: `<account>/<region>`, `self/<region>` for the deployment's own account when unknown. */
export function partitionLabel(partition: QuotaPartition): string {
  return `${partition.account ?? "self"}/${partition.region}`;
}

/** The partition a key-Region belongs to: its Region, and the account its key ARN names (undefined: none). */
export function partitionOfKey(keyArn: string | undefined, region: string): QuotaPartition {
  return { account: accountOfKeyId(keyArn), region };
}

/** Items of one partition, in the order they were given. */
export interface PartitionWork<T> {
  readonly partition: QuotaPartition;
  readonly label: string;
  readonly items: readonly T[];
}

/**
 * Groups work by partition, keeping the given order within each partition (the due-work index's: priority,
 * then earliest due) and ordering partitions by their first item (the partition holding the most urgent work
 * first), so a run that can drain only some partitions at once starts with the most urgent.
 */
export function groupByPartition<T>(
  items: readonly T[],
  partitionOf: (item: T) => QuotaPartition,
): PartitionWork<T>[] {
  const groups = new Map<string, { partition: QuotaPartition; items: T[] }>();
  for (const item of items) {
    const partition = partitionOf(item);
    const label = partitionLabel(partition);
    let group = groups.get(label);
    if (group === undefined) {
      group = { partition, items: [] };
      groups.set(label, group);
    }
    group.items.push(item);
  }
  return [...groups].map(([label, group]) => ({ label, partition: group.partition, items: group.items }));
}
