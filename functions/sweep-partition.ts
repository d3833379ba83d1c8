import { randomUUID } from "node:crypto";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { Context, EventBridgeEvent } from "aws-lambda";
import { partitionRequestOf } from "../lib/domain/sweep-partition.js";
import {
  ExpiryWatch,
  METRIC_DIMENSION,
  METRIC_NAMESPACE,
  publishSweepMetrics,
} from "../lib/lifecycle/scheduled/expiry-metric.js";
import { type PartitionRunReport, sweepPartition } from "../lib/lifecycle/scheduled/sweep-partition.js";
import { powertoolsMetrics } from "../lib/metrics/powertools-metrics.js";
import { config, lifecycleDeps, logger } from "./singletons.js";

/** The same metrics as the sweep's (its renewals, restores, shortest time to expiry), per partition run. */
const metrics = powertoolsMetrics(METRIC_NAMESPACE, { [METRIC_DIMENSION]: config.tableName });

/**
 * One account-Region partition of the due work (lib/lifecycle/scheduled/sweep-partition.ts), asked for by
 * the scheduled sweep's `Sweep Partition Due` event (TETHER_SWEEP_FANOUT=events; the rule in serverless.yml).
 * An event that names no partition is logged and ignored.
 */
async function run(
  event: EventBridgeEvent<string, unknown>,
  context: Context,
): Promise<PartitionRunReport | undefined> {
  const correlationId = event.id ?? randomUUID();
  logger.appendKeys({ correlationId });
  const request = partitionRequestOf(event);
  if (request === undefined) {
    logger.warn("not a Sweep Partition Due event: nothing drained", { detailType: event["detail-type"] });
    return undefined;
  }
  // In a member account it acts as the sweep does (session tether-sweep): it does the sweep's work.
  const deps = lifecycleDeps("sweep");
  const watch = new ExpiryWatch();
  const report = await sweepPartition({ ...deps, keys: watch.observe(deps.keys) }, request, {
    correlationId,
    limit: config.sweepLimit,
    concurrency: config.sweepConcurrency,
    remainingMs: () => context.getRemainingTimeInMillis(),
  });
  logger.info("sweep partition finished", { ...report });
  const now = deps.clock();
  // RegionsDue 0: the dispatcher counted them; the partition's outcomes are counted here.
  publishSweepMetrics(metrics, {
    report: { ...report, due: 0, outbox: { published: 0, waiting: 0 } },
    shortestTimeToExpiryMs: watch.shortestTimeToExpiryMs(now),
    time: now,
  });
  return report;
}

export const handler = middy<EventBridgeEvent<string, unknown>, PartitionRunReport | undefined>()
  .use(injectLambdaContext(logger))
  .handler(run);
