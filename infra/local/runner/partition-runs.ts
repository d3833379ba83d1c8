/**
 * The local stack's view of the sweep's fan-out (TETHER_SWEEP_FANOUT=events, as serverless.yml sets it):
 * a scheduled sweep run only dispatches one `Sweep Partition Due` event per account-Region partition, and
 * the bus's rule starts one sweep-partition run per event, asynchronously as in AWS. `sweepNow()` is
 * "run a sweep and let its work finish" for the tests, the demo and the benches, so it waits for the
 * partition runs its sweep dispatched (by the event ids PutEvents answered) and adds their work to the
 * sweep's report. Only the first attempt of each run is waited for; Lambda's retries go on behind it.
 */

import type { SweepReport } from "../../../lib/lifecycle/scheduled/sweep.js";
import type { PartitionRunReport } from "../../../lib/lifecycle/scheduled/sweep-partition.js";

type Outcome = { readonly result: unknown } | { readonly error: unknown };

/** Finished runs kept for a sweepNow() that has not asked yet; older ones are dropped. */
const KEPT = 1000;

export class PartitionRuns {
  readonly #done = new Map<string, Outcome>();
  readonly #waiting = new Map<string, (outcome: Outcome) => void>();

  /** A sweep-partition run started by the event `eventId` ended (its first attempt). */
  ended(eventId: string, outcome: Outcome): void {
    const waiter = this.#waiting.get(eventId);
    if (waiter !== undefined) {
      this.#waiting.delete(eventId);
      waiter(outcome);
      return;
    }
    if (this.#done.has(eventId)) return;
    this.#done.set(eventId, outcome);
    if (this.#done.size > KEPT) this.#done.delete(this.#done.keys().next().value as string);
  }

  /** The outcome of the run the event `eventId` started, once it ended. */
  async outcome(eventId: string): Promise<Outcome> {
    const done = this.#done.get(eventId);
    if (done !== undefined) {
      this.#done.delete(eventId);
      return done;
    }
    return new Promise((resolve) => this.#waiting.set(eventId, resolve));
  }

  /**
   * The sweep's report with the work of the partition runs it dispatched added: processed, deferred,
   * outcomes and the per-partition reports. A run that failed counts its partition's Regions as deferred.
   */
  async settle(report: SweepReport): Promise<SweepReport> {
    const accepted = report.dispatched?.accepted ?? [];
    if (accepted.length === 0) return report;
    const runs = await Promise.all(accepted.map((a) => this.outcome(a.eventId)));
    let processed = report.processed;
    let deferred = report.deferred;
    const outcomes: Record<string, number> = { ...report.outcomes };
    const partitions = [...(report.partitions ?? [])];
    for (const run of runs) {
      if (!("result" in run) || run.result === undefined) continue;
      const r = run.result as PartitionRunReport;
      processed += r.processed;
      deferred += r.deferred;
      partitions.push(...r.partitions);
      for (const [kind, n] of Object.entries(r.outcomes)) outcomes[kind] = (outcomes[kind] ?? 0) + n;
    }
    return { ...report, processed, deferred, outcomes, partitions };
  }
}
