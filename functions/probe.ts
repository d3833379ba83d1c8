import { randomUUID } from "node:crypto";
import { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { ScheduledEvent } from "aws-lambda";
import { createProbeDeps, type ProbeDeps } from "../lib/composition-root.js";
import { loadConfig } from "../lib/config.js";
import { type ProbeReport, probeSentinels } from "../lib/lifecycle/scheduled/sentinels.js";
import { functionsClock } from "./clock.js";

/**
 * EventBridge schedule (every minute) → one DescribeKey per sentinel. A sentinel without its material opens
 * a regional-loss incident (lib/lifecycle/scheduled/sentinels.ts). Its own composition root: no vault, no secret.
 */
const logger = new Logger({ serviceName: "tether" });
const config = loadConfig();
let deps: ProbeDeps | undefined;

async function run(event: ScheduledEvent): Promise<ProbeReport> {
  const correlationId = event.id ?? randomUUID();
  logger.appendKeys({ correlationId });
  const clock = functionsClock();
  deps ??= createProbeDeps(config, {
    ...(clock === undefined ? {} : { clock }),
    log: (level, message, fields) => logger[level](message, fields),
  });
  const report = await probeSentinels(deps, correlationId);
  logger.info("probe finished", { ...report });
  return report;
}

export const handler = middy<ScheduledEvent, ProbeReport>().use(injectLambdaContext(logger)).handler(run);
