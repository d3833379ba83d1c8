import { AlertReason } from "./alerts.js";
import { AuditDetailType } from "./audit-types.js";
import { type AwsRegion, parseAwsRegion } from "./ids.js";

/**
 * One drain per incident: when a regional-loss incident opens, the sweep runs at once (the incident's alert
 * on the audit bus triggers it) and keeps running, one run after another, while the Region has restore
 * work due, instead of waiting for the next scheduled sweep. Each run is an ordinary sweep (the due-work
 * index, the quota budget, the time reserve): a drain changes when runs happen, not what a run does.
 * These rules decide what starts a drain and when it goes on. Pure: no clock, no I/O.
 */

/** The detail-type of the event a drain run publishes to ask for the next run. */
export const DRAIN_CONTINUED_DETAIL_TYPE = "Regional Loss Drain Continued";

/**
 * Runs of one drain at most, beyond the first: a guard against a loop, never the expected end (a drain
 * ends when its Region has nothing due). 200 runs of a 5-minute sweep restore about 45,000 keys at
 * GetParametersForImport's 0.8/s; beyond that the scheduled sweep goes on alone.
 */
export const MAX_DRAIN_RUNS = 200;

/** A request to drain one Region: the `run` it will be (0: the incident's own alert started it). */
export interface DrainRequest {
  readonly region: AwsRegion;
  readonly run: number;
}

/**
 * What an event given to the sweep asks for: a drain of one Region (the `Regional Loss Detected` alert, or
 * a drain run's continuation), or undefined for anything else (the schedule's `Scheduled Event`), which is
 * a scheduled sweep. An event that names a drain but is malformed is undefined too: the run still sweeps.
 */
export function drainRequestOf(event: unknown): DrainRequest | undefined {
  if (event === null || typeof event !== "object") return undefined;
  const e = event as Record<string, unknown>;
  if (e.source !== "tether") return undefined;
  const detail = e.detail;
  if (detail === null || typeof detail !== "object") return undefined;
  const d = detail as Record<string, unknown>;
  let run: unknown = 0;
  if (e["detail-type"] === AuditDetailType.TetherAlert) {
    if (d.reasonCode !== AlertReason.RegionalLossDetected) return undefined;
  } else if (e["detail-type"] === DRAIN_CONTINUED_DETAIL_TYPE) {
    run = d.run;
  } else {
    return undefined;
  }
  if (typeof run !== "number" || !Number.isInteger(run) || run < 0 || run > MAX_DRAIN_RUNS) return undefined;
  try {
    return { region: parseAwsRegion(d.region), run };
  } catch {
    return undefined;
  }
}

/** What one drain run saw, for deciding whether another follows. */
export interface DrainRunOutcome {
  /** The Region's incident is still open after the run (not closed by it, not closed before it). */
  readonly incidentOpen: boolean;
  /** Due Regions the run took from the due-work index. */
  readonly due: number;
  /** The run's limit of due Regions. */
  readonly limit: number;
  /** Due Regions the run left because its time ran short. */
  readonly deferred: number;
}

export type DrainVerdict =
  | { readonly kind: "continue"; readonly next: DrainRequest }
  | { readonly kind: "done"; readonly why: "region-whole" | "nothing-due" }
  | { readonly kind: "stopped"; readonly why: "run-limit" };

/**
 * After a drain run: another run follows while the incident is open and work may be left due now — the
 * run deferred some (its time ran short) or took a full `limit` (more may wait behind it). It ends when the
 * incident closed (the Region is whole) or nothing more is due now: what a failed attempt rescheduled for
 * later is the scheduled sweep's, which stays the safety net. A drain never runs more than MAX_DRAIN_RUNS.
 */
export function nextDrainStep(request: DrainRequest, outcome: DrainRunOutcome): DrainVerdict {
  if (!outcome.incidentOpen) return { kind: "done", why: "region-whole" };
  const workLeft = outcome.deferred > 0 || outcome.due >= outcome.limit;
  if (!workLeft) return { kind: "done", why: "nothing-due" };
  if (request.run >= MAX_DRAIN_RUNS) return { kind: "stopped", why: "run-limit" };
  return { kind: "continue", next: { region: request.region, run: request.run + 1 } };
}
