/**
 * The sweep's fan-out (issue 20, item 4): with TETHER_SWEEP_FANOUT=events the scheduled sweep is a
 * dispatcher — it reads the due-work index, groups the due Regions per account-Region (quota-partitions.ts),
 * and asks for one run per partition with a `Sweep Partition Due` event on Tether's own bus; each event
 * starts one `sweep-partition` invocation, which drains that partition alone. Partitions then run in
 * parallel Lambda invocations (up to the function's reserved concurrency), each within its own quota budget,
 * instead of sharing one invocation's CPU and 15 minutes. What the event says, and how it is read back.
 * Pure: no clock, no I/O.
 */
import { type AwsRegion, parseAwsRegion } from "./ids.js";
import { partitionLabel, type QuotaPartition } from "./quota-partitions.js";

/** The detail-type of the event that asks for one partition's run. */
export const SWEEP_PARTITION_DUE_DETAIL_TYPE = "Sweep Partition Due";

/** An account id as KMS ARNs spell it. */
const ACCOUNT_ID = /^\d{12}$/;

/**
 * One partition's run as asked for: its account (undefined: the deployment's own, `self`), its Region and
 * how many of its Regions were due when the dispatcher looked. Nothing of a key, nothing secret.
 */
export interface PartitionRequest {
  readonly account: string | undefined;
  readonly region: AwsRegion;
  readonly due: number;
}

/** The event's detail: `{ account, region, due, partition }` (`account` "self" for the deployment's own). */
export function partitionRequestDetail(request: PartitionRequest): Record<string, string | number> {
  return {
    account: request.account ?? "self",
    region: request.region,
    due: request.due,
    partition: partitionLabel(request),
  };
}

/**
 * The partition an event given to `sweep-partition` asks for; undefined when it is not a well-formed
 * `Sweep Partition Due` event from Tether (the function then does nothing: it never drains a guess).
 */
export function partitionRequestOf(event: unknown): PartitionRequest | undefined {
  if (event === null || typeof event !== "object") return undefined;
  const e = event as Record<string, unknown>;
  if (e.source !== "tether" || e["detail-type"] !== SWEEP_PARTITION_DUE_DETAIL_TYPE) return undefined;
  const detail = e.detail;
  if (detail === null || typeof detail !== "object") return undefined;
  const d = detail as Record<string, unknown>;
  const account = d.account === "self" ? undefined : d.account;
  if (account !== undefined && (typeof account !== "string" || !ACCOUNT_ID.test(account))) return undefined;
  if (typeof d.due !== "number" || !Number.isInteger(d.due) || d.due < 0) return undefined;
  try {
    return { account, region: parseAwsRegion(d.region), due: d.due };
  } catch {
    return undefined;
  }
}

/** Whether a partition is the one asked for. */
export function isRequested(partition: QuotaPartition, request: PartitionRequest): boolean {
  return partition.account === request.account && partition.region === request.region;
}
