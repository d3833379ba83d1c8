import { randomUUID } from "node:crypto";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context, ScheduledEvent } from "aws-lambda";
import { type SweepReport, sweep } from "../lib/lifecycle/sweep.js";
import { config, lifecycleDeps, logger } from "./runtime.js";

/** EventBridge schedule → one sweep: renew what is due, restore what is lost, reconcile. */
async function run(event: ScheduledEvent, context: Context): Promise<SweepReport> {
  const correlationId = event.id ?? randomUUID();
  logger.appendKeys({ correlationId });
  const report = await sweep(lifecycleDeps(), {
    correlationId,
    limit: config.sweepLimit,
    concurrency: config.sweepConcurrency,
    remainingMs: () => context.getRemainingTimeInMillis(),
  });
  logger.info("sweep finished", { ...report });
  return report;
}

export const handler = middy<ScheduledEvent, SweepReport>().use(injectLambdaContext(logger)).handler(run);
