import { type DrainRequest, type DrainVerdict, nextDrainStep } from "../../domain/drain.js";
import { errorName } from "../../domain/errors.js";
import type { LifecycleDeps } from "../ports.js";
import { DEFAULT_SWEEP_LIMIT, type SweepOptions, type SweepReport, sweep } from "./sweep.js";

export interface DrainReport extends SweepReport {
  readonly drain: {
    readonly region: string;
    readonly run: number;
    readonly verdict: DrainVerdict["kind"];
    readonly why?: string;
    /** The next run was asked for and the bus accepted the request. */
    readonly continued: boolean;
  };
}

/**
 * One run of a regional-loss drain: an ordinary sweep run (the due-work index across every Region, so
 * other Regions' scheduled work is served as it would be, within the quota budget and stopping in time),
 * started by the incident's alert instead of the schedule; then, while the Region's incident is open and
 * work was left due, it asks for the next run (deps.drains: an event the sweep's rule delivers). A
 * request the bus refuses is logged, not thrown: the work is done and the scheduled sweep goes on.
 */
export async function drainRun(
  deps: LifecycleDeps,
  request: DrainRequest,
  options: SweepOptions,
): Promise<DrainReport> {
  const report = await sweep(deps, options);
  const verdict = nextDrainStep(request, {
    incidentOpen: (report.incidentsOpen ?? []).includes(request.region),
    due: report.due,
    limit: report.limit ?? options.limit ?? DEFAULT_SWEEP_LIMIT,
    deferred: report.deferred,
  });
  let continued = false;
  if (verdict.kind === "continue") {
    if (deps.drains === undefined) {
      deps.log?.("warn", "drain cannot continue: no way to ask for the next run", { region: request.region });
    } else {
      try {
        await deps.drains.request(verdict.next, {
          id: deps.newId(),
          time: deps.clock(),
          correlationId: options.correlationId,
        });
        continued = true;
      } catch (error) {
        deps.log?.("error", "drain continuation not accepted; the scheduled sweep goes on", {
          region: request.region,
          run: request.run,
          error: errorName(error),
        });
      }
    }
  } else if (verdict.kind === "stopped") {
    deps.log?.("error", "drain stopped after its last allowed run; the scheduled sweep goes on", {
      region: request.region,
      run: request.run,
    });
  }
  return {
    ...report,
    drain: {
      region: request.region,
      run: request.run,
      verdict: verdict.kind,
      ...(verdict.kind === "continue" ? {} : { why: verdict.why }),
      continued,
    },
  };
}
