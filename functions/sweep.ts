import { randomUUID } from "node:crypto";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context, EventBridgeEvent } from "aws-lambda";
import { drainRequestOf } from "../lib/domain/drain.js";
import { type DrainReport, drainRun } from "../lib/lifecycle/scheduled/drain.js";
import {
  ExpiryWatch,
  METRIC_DIMENSION,
  METRIC_NAMESPACE,
  publishSweepMetrics,
} from "../lib/lifecycle/scheduled/expiry-metric.js";
import { type SweepReport, sweep } from "../lib/lifecycle/scheduled/sweep.js";
import { checkAgentHealth, sweepOperationRequests } from "../lib/lifecycle/scheduled/sweep-extras.js";
import type { OperationsSweepReport } from "../lib/lifecycle/use-cases/approvals.js";
import { powertoolsMetrics } from "../lib/metrics/powertools-metrics.js";
import { config, lifecycleDeps, logger } from "./singletons.js";

/** The sweep's metrics, one record per run; the Deployment dimension is the table name (one per stage and Region). */
const metrics = powertoolsMetrics(METRIC_NAMESPACE, { [METRIC_DIMENSION]: config.tableName });

/**
 * One sweep: renew what is due, restore what is lost, reconcile; then its metrics. Started by the
 * schedule, or — a drain run — by a regional-loss incident's alert or a drain's continuation (the rules in
 * serverless.yml; lib/domain/drain.ts tells them apart). Either way one run at a time (reservedConcurrency 1).
 * With TETHER_SWEEP_FANOUT=events a scheduled run is the dispatcher: each account-Region partition of its
 * due work is drained by a sweep-partition run of its own (functions/sweep-partition.ts).
 */
async function run(
  event: EventBridgeEvent<string, unknown>,
  context: Context,
): Promise<SweepReport & { operations?: OperationsSweepReport }> {
  const correlationId = event.id ?? randomUUID();
  logger.appendKeys({ correlationId });
  const deps = lifecycleDeps("sweep");
  const watch = new ExpiryWatch();
  const observed = { ...deps, keys: watch.observe(deps.keys) };
  const options = {
    correlationId,
    limit: config.sweepLimit,
    concurrency: config.sweepConcurrency,
    partitionConcurrency: config.sweepPartitions,
    remainingMs: () => context.getRemainingTimeInMillis(),
    ...(config.warmParametersPerRun === undefined
      ? {}
      : { warmParametersPerRun: config.warmParametersPerRun }),
  };
  const drain = drainRequestOf(event);
  // A scheduled run fans out with TETHER_SWEEP_FANOUT=events (one sweep-partition run per account-Region);
  // a drain run drains itself, its continuation depending on what it did.
  const swept: SweepReport | DrainReport =
    drain === undefined
      ? await sweep(observed, config.sweepFanout === undefined ? options : { ...options, fanout: "events" })
      : await drainRun(observed, drain, options);
  // Dual control's part of a scheduled run, not a drain's (lib/lifecycle/scheduled/sweep-extras.ts).
  const report =
    drain === undefined ? { ...swept, operations: await sweepOperationRequests(deps, correlationId) } : swept;
  logger.info(drain === undefined ? "sweep finished" : "drain run finished", { ...report });
  const agents =
    config.vault === "agent" ? { health: await checkAgentHealth(deps, correlationId) } : undefined;
  const now = deps.clock();
  // An embedded-metric-format line: CloudWatch Logs turns it into the metrics the alarms and dashboard read.
  publishSweepMetrics(metrics, {
    report,
    shortestTimeToExpiryMs: watch.shortestTimeToExpiryMs(now),
    time: now,
    agents,
  });
  return report;
}

export const handler = middy<
  EventBridgeEvent<string, unknown>,
  SweepReport & { operations?: OperationsSweepReport }
>()
  .use(injectLambdaContext(logger))
  .handler(run);
