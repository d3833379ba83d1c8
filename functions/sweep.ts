import { randomUUID } from "node:crypto";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context, EventBridgeEvent } from "aws-lambda";
import { drainRequestOf } from "../lib/domain/drain.js";
import { watchAgents } from "../lib/lifecycle/agent.js";
import { type DrainReport, drainRun } from "../lib/lifecycle/drain.js";
import {
  ExpiryWatch,
  METRIC_DIMENSION,
  METRIC_NAMESPACE,
  publishSweepMetrics,
} from "../lib/lifecycle/expiry-metric.js";
import { type SweepReport, sweep } from "../lib/lifecycle/sweep.js";
import { powertoolsMetrics } from "../lib/metrics/powertools-metrics.js";
import { config, lifecycleDeps, logger } from "./runtime.js";

/** The sweep's metrics, one record per run; the Deployment dimension is the table name (one per stage and Region). */
const metrics = powertoolsMetrics(METRIC_NAMESPACE, { [METRIC_DIMENSION]: config.tableName });

/**
 * One sweep: renew what is due, restore what is lost, reconcile; then its metrics. Started by the
 * schedule, or — a drain run — by a regional-loss incident's alert or a drain's continuation (the rules in
 * serverless.yml; lib/domain/drain.ts tells them apart). Either way one run at a time (reservedConcurrency 1).
 */
async function run(event: EventBridgeEvent<string, unknown>, context: Context): Promise<SweepReport> {
  const correlationId = event.id ?? randomUUID();
  logger.appendKeys({ correlationId });
  const deps = lifecycleDeps();
  const watch = new ExpiryWatch();
  const observed = { ...deps, keys: watch.observe(deps.keys) };
  const options = {
    correlationId,
    limit: config.sweepLimit,
    concurrency: config.sweepConcurrency,
    remainingMs: () => context.getRemainingTimeInMillis(),
    ...(config.warmParametersPerRun === undefined
      ? {}
      : { warmParametersPerRun: config.warmParametersPerRun }),
  };
  const drain = drainRequestOf(event);
  const report: SweepReport | DrainReport =
    drain === undefined ? await sweep(observed, options) : await drainRun(observed, drain, options);
  logger.info(drain === undefined ? "sweep finished" : "drain run finished", { ...report });
  if (config.vault === "agent") {
    // The vault agents' health: an alert when they go down or fall behind, and when they recover (docs/agent.md).
    try {
      const health = await watchAgents(deps, { correlationId });
      if (health.state !== "healthy") logger.warn("vault agents not healthy", { summary: health.summary });
    } catch (error) {
      logger.error("the vault agents' health could not be checked", { error });
    }
  }
  const now = deps.clock();
  // An embedded-metric-format line: CloudWatch Logs turns it into the metrics the alarms and dashboard read.
  publishSweepMetrics(metrics, {
    report,
    shortestTimeToExpiryMs: watch.shortestTimeToExpiryMs(now),
    time: now,
  });
  return report;
}

export const handler = middy<EventBridgeEvent<string, unknown>, SweepReport>()
  .use(injectLambdaContext(logger))
  .handler(run);
