import { randomUUID } from "node:crypto";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context, ScheduledEvent } from "aws-lambda";
import { ExpiryWatch, sweepMetricsRecord } from "../lib/lifecycle/expiry-metric.js";
import { type SweepReport, sweep } from "../lib/lifecycle/sweep.js";
import { config, lifecycleDeps, logger } from "./runtime.js";

/** EventBridge schedule → one sweep: renew what is due, restore what is lost, reconcile; then its metrics. */
async function run(event: ScheduledEvent, context: Context): Promise<SweepReport> {
  const correlationId = event.id ?? randomUUID();
  logger.appendKeys({ correlationId });
  const deps = lifecycleDeps();
  const watch = new ExpiryWatch();
  const report = await sweep(
    { ...deps, keys: watch.observe(deps.keys) },
    {
      correlationId,
      limit: config.sweepLimit,
      concurrency: config.sweepConcurrency,
      remainingMs: () => context.getRemainingTimeInMillis(),
      ...(config.warmParametersPerRun === undefined
        ? {}
        : { warmParametersPerRun: config.warmParametersPerRun }),
    },
  );
  logger.info("sweep finished", { ...report });
  const now = deps.clock();
  // An embedded-metric-format line: CloudWatch Logs turns it into the metrics the alarms and dashboard read.
  logger.info(
    "sweep metrics",
    sweepMetricsRecord({
      report,
      shortestTimeToExpiryMs: watch.shortestTimeToExpiryMs(now),
      deployment: config.tableName,
      time: now,
    }),
  );
  return report;
}

export const handler = middy<ScheduledEvent, SweepReport>().use(injectLambdaContext(logger)).handler(run);
