import { formatDuration } from "../../domain/duration.js";
import { errorName } from "../../domain/errors.js";
import type { AwsRegion, TetherKeyId } from "../../domain/ids.js";
import type { PartitionWork } from "../../domain/quota-partitions.js";
import type { DueRegion, LifecycleDeps } from "../ports.js";
import { type RegionOutcome, reconcileRegion } from "../region/reconcile-region.js";
import { rotateKey } from "../use-cases/rotate.js";
import {
  DEFAULT_PARTITION_CONCURRENCY,
  drainPartitions,
  type PartitionReport,
  partitionDue,
} from "./partitions.js";
import { ensureSentinels, healthIn, recoverIncidents, type SentinelSnapshot } from "./sentinels.js";
import { type ParametersReport, ParametersWatch, warmParameters } from "./warm-parameters.js";

export interface SweepOptions {
  /** Most regions one run takes from the due-work index. */
  readonly limit?: number;
  /**
   * Regions worked on at once in each account-Region partition (KMS quotas are kept per account-Region by
   * the adapter's rate limiter either way).
   */
  readonly concurrency?: number;
  /**
   * Account-Region partitions drained at once (lib/lifecycle/scheduled/partitions.ts): each with its own
   * `concurrency` workers and its own quota budget. Default DEFAULT_PARTITION_CONCURRENCY.
   */
  readonly partitionConcurrency?: number;
  /** Milliseconds left before the Lambda is stopped (context.getRemainingTimeInMillis). */
  readonly remainingMs?: () => number;
  /** Stop taking new regions when less than this is left: one region's work must fit. */
  readonly reserveMs?: number;
  readonly correlationId: string;
  /**
   * Warm import parameters (lib/lifecycle/scheduled/warm-parameters.ts): at most this many sets fetched at the end of
   * a run that left no due work waiting; the share of warm key-Regions is reported either way. Absent:
   * warming is off and no share is reported.
   */
  readonly warmParametersPerRun?: number;
  /**
   * `events` (TETHER_SWEEP_FANOUT): the run is the dispatcher — it asks for one `sweep-partition` run per
   * account-Region partition (deps.partitionDispatch) instead of draining them itself; a partition the bus
   * refused, or every partition when there is no dispatch port, is drained here as without it. Absent: the
   * run drains every partition itself (tests, the reliability model, drain runs).
   */
  readonly fanout?: "events";
}

export interface SweepReport {
  readonly due: number;
  readonly processed: number;
  /** Due regions left for the next run because time ran out. */
  readonly deferred: number;
  /** Region outcomes by kind, plus scheduled rotations: `rotated` and `rotation-failed`. */
  readonly outcomes: Readonly<Record<string, number>>;
  readonly outbox: { readonly published: number; readonly waiting: number };
  /** Regions whose regional-loss incident this run closed. */
  readonly incidentsClosed?: readonly string[];
  /** Regions whose regional-loss incident is still open after this run (open at its start, not closed). */
  readonly incidentsOpen?: readonly string[];
  /** The run's limit of due regions. */
  readonly limit?: number;
  /** The due work per account-Region partition, most urgent first: how much was due and processed in each. */
  readonly partitions?: readonly PartitionReport[];
  /** Warm import parameters: the share among the Regions looked at, and the sets renewed. */
  readonly parameters?: ParametersReport;
  /**
   * A dispatcher run (fanout `events`): the partitions handed to `sweep-partition` runs (the bus's event ids)
   * and those the bus refused (drained by this run instead).
   */
  readonly dispatched?: {
    readonly accepted: readonly { readonly partition: string; readonly eventId: string }[];
    readonly refused: readonly { readonly partition: string; readonly errorCode: string }[];
    /** Due Regions in the accepted partitions: neither processed nor deferred by this run. */
    readonly regions: number;
  };
}

/** Due regions one run takes when its options give no limit (TETHER_SWEEP_LIMIT's default). */
export const DEFAULT_SWEEP_LIMIT = 500;

export const SWEEP_ACTOR = "tether:sweep";

/**
 * One scheduled run: re-sends audit events waiting in the outbox, then works through the regions whose
 * next check is due — found with the due-work index, never a scan, so the cost follows the work due, not
 * the keys managed — partitioned per account-Region (partitions.ts), the partitions drained in parallel,
 * each within its own KMS quota budget. Periodic reconciliation needs nothing extra: every region's next check is at most one
 * reconcile interval ahead, which is how a regional loss (no event) is found. A key whose rotation
 * schedule is due is rotated after its primary was reconciled (renewals first; a failed rotation is
 * alerted and tried again by a later run, see scheduleRotationCheck). Stops taking work when the
 * Lambda's time runs short; what is left stays due for the next run.
 *
 * First it makes sure every Region has its sentinel (one Query when they exist) and reads the open
 * regional-loss incidents: a key lost in such a Region is a regional loss, restored at once. Last, an
 * incident whose Region has nothing left to restore gets its sentinel back and closes. A drain run
 * (lib/lifecycle/scheduled/drain.ts) is this same run, started by the incident instead of the schedule.
 */
export async function sweep(base: LifecycleDeps, options: SweepOptions): Promise<SweepReport> {
  const snapshot = await readSentinels(base);
  const watch = options.warmParametersPerRun === undefined ? undefined : new ParametersWatch();
  const deps = runDeps(base, snapshot, watch);
  const limit = options.limit ?? DEFAULT_SWEEP_LIMIT;
  const concurrency = Math.max(1, options.concurrency ?? 8);
  const reserveMs = options.reserveMs ?? 15_000;
  const remaining = options.remainingMs ?? (() => Number.POSITIVE_INFINITY);

  const outbox = await deps.audit.flush();
  const due = await deps.keys.due(deps.clock(), limit);
  const work = await partitionDue(deps, due);
  const fannedOut =
    options.fanout === "events" ? await dispatch(deps, work, options.correlationId) : undefined;
  const { partitions, outcomes } = await drainDue(deps, fannedOut?.left ?? work, {
    ...options,
    concurrency,
    mayContinue: () => remaining() >= reserveMs,
  });
  const processed = partitions.reduce((sum, p) => sum + p.processed, 0);
  const handedOver = fannedOut?.report.regions ?? 0;
  const incidentsClosed =
    snapshot.incidents.length === 0 || remaining() < reserveMs
      ? []
      : await recoverIncidents(deps, snapshot, options.correlationId, SWEEP_ACTOR);
  const incidentsOpen = snapshot.incidents
    .map((i) => i.region as string)
    .filter((region) => !incidentsClosed.includes(region));
  // Last, from what quota is left: keep import parameters warm, only when no due work is waiting.
  const parameters =
    watch === undefined
      ? undefined
      : await warmParameters(deps, watch, {
          perRun: options.warmParametersPerRun ?? 0,
          dueWorkWaiting: due.length >= limit || processed < due.length,
          remainingMs: remaining,
          reserveMs,
        }).catch((error: unknown) => {
          // The run's own work is done and recorded; warming waits for the next run.
          deps.log?.("error", "import parameters not kept warm this run", {
            error: errorName(error),
          });
          return undefined;
        });
  return {
    due: due.length,
    processed,
    deferred: due.length - processed - handedOver,
    outcomes,
    outbox,
    incidentsClosed,
    incidentsOpen,
    limit,
    partitions,
    ...(parameters === undefined ? {} : { parameters }),
    ...(fannedOut === undefined ? {} : { dispatched: fannedOut.report }),
  };
}

/**
 * Drains due work partition by partition (partitions.ts): each partition by its own workers within its own
 * quota budget, up to `partitionConcurrency` partitions at once, until the run must stop. The scheduled
 * run's drain, and a `sweep-partition` run's (one partition; sweep-partition.ts).
 */
export async function drainDue(
  deps: LifecycleDeps,
  work: readonly PartitionWork<DueRegion>[],
  options: Pick<SweepOptions, "partitionConcurrency" | "correlationId"> & {
    readonly concurrency: number;
    readonly mayContinue: () => boolean;
  },
): Promise<{ partitions: PartitionReport[]; outcomes: Record<string, number> }> {
  const outcomes: Record<string, number> = {};
  const partitions = await drainPartitions(
    work,
    {
      partitionConcurrency: Math.max(1, options.partitionConcurrency ?? DEFAULT_PARTITION_CONCURRENCY),
      concurrency: options.concurrency,
      mayContinue: options.mayContinue,
    },
    async (item) => {
      for (const kind of await visit(deps, item, options.correlationId)) {
        outcomes[kind] = (outcomes[kind] ?? 0) + 1;
      }
    },
  );
  return { partitions, outcomes };
}

/**
 * The dispatcher's part (fanout `events`): one `Sweep Partition Due` event per partition. What the bus
 * refused — or everything, when there is no dispatch port or PutEvents failed — is `left` for this run to
 * drain itself, so no due work waits a schedule longer for a fan-out that did not happen. A partition
 * asked for twice (the next tick while a run still drains it) is safe: each Region is worked on under its
 * lease (acquireLease), so a second run skips what the first holds, and finds done what it finished.
 */
async function dispatch(
  deps: LifecycleDeps,
  work: readonly PartitionWork<DueRegion>[],
  correlationId: string,
): Promise<{ left: readonly PartitionWork<DueRegion>[]; report: NonNullable<SweepReport["dispatched"]> }> {
  const none = { accepted: [], refused: [], regions: 0 };
  if (work.length === 0) return { left: work, report: none };
  if (deps.partitionDispatch === undefined) {
    deps.log?.("warn", "sweep fan-out asked for, but no dispatch: partitions drained in this run", {});
    return { left: work, report: none };
  }
  try {
    const { accepted, refused } = await deps.partitionDispatch.dispatch(
      work.map((w) => ({
        account: w.partition.account,
        region: w.partition.region as AwsRegion,
        due: w.items.length,
      })),
      { time: deps.clock(), correlationId },
    );
    const handed = new Set(accepted.map((a) => a.partition));
    const left = work.filter((w) => !handed.has(w.label));
    if (refused.length > 0) {
      deps.log?.("error", "partitions not dispatched: drained in this run", {
        partitions: refused.map((r) => `${r.partition} (${r.errorCode})`),
      });
    }
    const regions = work.filter((w) => handed.has(w.label)).reduce((sum, w) => sum + w.items.length, 0);
    return { left, report: { accepted, refused, regions } };
  } catch (error) {
    deps.log?.("error", "partitions not dispatched: drained in this run", { error: errorName(error) });
    return { left: work, report: none };
  }
}

/** The sentinels and open incidents (ensureSentinels); none, logged, when they cannot be read. */
async function readSentinels(base: LifecycleDeps): Promise<SentinelSnapshot> {
  try {
    return await ensureSentinels(base);
  } catch (error) {
    base.log?.("error", "sentinels could not be read; sentinel health unknown this run", {
      error: errorName(error),
    });
    return { sentinels: [], incidents: [] };
  }
}

/** The run's ports: the key store watched for warm parameters, sentinel health from the snapshot. */
export function runDeps(
  base: LifecycleDeps,
  snapshot: SentinelSnapshot,
  watch: ParametersWatch | undefined,
): LifecycleDeps {
  const observed = watch === undefined ? base : { ...base, keys: watch.observe(base.keys) };
  return base.sentinels === undefined
    ? observed
    : { ...observed, sentinelHealth: async (region) => healthIn(snapshot, region) };
}

/**
 * One due Region: reconciled, then rotated when its key's schedule is due. Returns the outcomes to count
 * (the region's, and "rotated" or "rotation-failed").
 */
async function visit(
  deps: LifecycleDeps,
  item: { readonly keyId: TetherKeyId; readonly region: AwsRegion },
  correlationId: string,
): Promise<string[]> {
  let outcome: RegionOutcome;
  try {
    outcome = await reconcileRegion(deps, item.keyId, item.region, { actor: SWEEP_ACTOR, correlationId });
  } catch (error) {
    // A store or bus failure for one region must not stop the others; the region stays due.
    const name = errorName(error);
    deps.log?.("error", "region failed", { keyId: item.keyId, region: item.region, error: name });
    outcome = { kind: "failed", errorName: name };
  }
  if (outcome.rotationDue !== true) return [outcome.kind];
  const rotated = await rotateOnSchedule(deps, item.keyId, item.region, correlationId);
  return [outcome.kind, rotated ? "rotated" : "rotation-failed"];
}

/**
 * The scheduled rotation of one key. A failure is logged, never thrown: the renewals of this run go on, and
 * the region's next check (at most a retry interval ahead) retries it; rotateKey itself alerts (warning).
 */
async function rotateOnSchedule(
  deps: LifecycleDeps,
  keyId: TetherKeyId,
  region: AwsRegion,
  correlationId: string,
): Promise<boolean> {
  try {
    const key = await deps.keys.get(keyId);
    if (key?.policy.rotateEveryMs === undefined) return false;
    await rotateKey(deps, {
      key: keyId,
      reason: `scheduled rotation (every ${formatDuration(key.policy.rotateEveryMs)})`,
      actor: SWEEP_ACTOR,
      correlationId,
      scheduled: true,
    });
    return true;
  } catch (error) {
    const name = errorName(error);
    deps.log?.("warn", "scheduled rotation failed", { keyId, region, error: name });
    return false;
  }
}
