/**
 * One `sweep-partition` run (TETHER_SWEEP_FANOUT=events; lib/domain/sweep-partition.ts): the due work of
 * ONE account-Region partition, drained with the sweep's own per-partition drain (sweep.ts drainDue) within
 * that partition's quota budget, while other partitions run in other invocations. The run reads the
 * due-work index again (a Query, never a Scan: the dispatcher's list is not carried in the event, which
 * names the partition only) and keeps that partition's Regions: first by Region (the index's sort key names
 * it), then by the account their key ARNs name (partitions.ts, as the dispatcher grouped them).
 *
 * Duplicate or overlapping runs of a partition (the next schedule's dispatch while this one still drains,
 * or EventBridge delivering an event twice) are safe: each Region is worked on under its lease
 * (reconcileRegion → acquireLease), so a second run skips what the first holds and finds done what it
 * finished. They only cost index reads and quota for nothing.
 */
import { errorName } from "../../domain/errors.js";
import { isRequested, type PartitionRequest } from "../../domain/sweep-partition.js";
import type { LifecycleDeps } from "../ports.js";
import { type PartitionReport, partitionDue } from "./partitions.js";
import { listSentinels, type SentinelSnapshot } from "./sentinels.js";
import { DEFAULT_SWEEP_LIMIT, drainDue, runDeps, type SweepOptions } from "./sweep.js";

export interface PartitionRunReport {
  readonly partition: string;
  /** The partition's Regions due now (at most the run's limit taken from the index). */
  readonly due: number;
  readonly processed: number;
  /** Left for a later run because time ran short. */
  readonly deferred: number;
  readonly outcomes: Readonly<Record<string, number>>;
  readonly partitions: readonly PartitionReport[];
}

/** Drains the one partition `request` names. */
export async function sweepPartition(
  base: LifecycleDeps,
  request: PartitionRequest,
  options: Omit<SweepOptions, "fanout" | "warmParametersPerRun" | "partitionConcurrency">,
): Promise<PartitionRunReport> {
  const deps = runDeps(base, await readSentinels(base), undefined);
  const limit = options.limit ?? DEFAULT_SWEEP_LIMIT;
  const reserveMs = options.reserveMs ?? 15_000;
  const remaining = options.remainingMs ?? (() => Number.POSITIVE_INFINITY);
  const inRegion = (await deps.keys.due(deps.clock(), limit)).filter((d) => d.region === request.region);
  const work = (await partitionDue(deps, inRegion)).filter((w) => isRequested(w.partition, request));
  const { partitions, outcomes } = await drainDue(deps, work, {
    correlationId: options.correlationId,
    partitionConcurrency: 1,
    concurrency: Math.max(1, options.concurrency ?? 8),
    mayContinue: () => remaining() >= reserveMs,
  });
  const due = work.reduce((sum, w) => sum + w.items.length, 0);
  const processed = partitions.reduce((sum, p) => sum + p.processed, 0);
  return {
    partition: work[0]?.label ?? `${request.account ?? "self"}/${request.region}`,
    due,
    processed,
    deferred: due - processed,
    outcomes,
    partitions,
  };
}

/** The sentinels and open incidents, read only (the dispatcher makes missing ones); none when unreadable. */
async function readSentinels(base: LifecycleDeps): Promise<SentinelSnapshot> {
  try {
    return await listSentinels(base);
  } catch (error) {
    base.log?.("error", "sentinels could not be read; sentinel health unknown this run", {
      error: errorName(error),
    });
    return { sentinels: [], incidents: [] };
  }
}
