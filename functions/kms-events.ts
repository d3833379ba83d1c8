import { randomUUID } from "node:crypto";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import middy from "@middy/core";
import type { EventBridgeEvent } from "aws-lambda";
import { parseKmsEvent, UnusableKmsEventError } from "../lib/kms/kms-events.js";
import { handleKmsSignal, type SignalOutcome } from "../lib/lifecycle/region/kms-signal.js";
import { config, lifecycleDeps, logger } from "./singletons.js";

type Outcome =
  | SignalOutcome
  | { readonly kind: "ignored" }
  | { readonly kind: "dropped"; readonly reason: string };

/**
 * EventBridge rule → act on a KMS event now. Malformed or unknown events are logged with the reason and
 * dropped (returning normally, so EventBridge does not retry them forever).
 */
async function run(event: EventBridgeEvent<string, unknown>): Promise<Outcome> {
  const correlationId = typeof event?.id === "string" ? event.id : randomUUID();
  logger.appendKeys({ correlationId });
  let signal: ReturnType<typeof parseKmsEvent>;
  try {
    signal = parseKmsEvent(event);
  } catch (error) {
    if (error instanceof UnusableKmsEventError) {
      logger.warn("dropped an unusable KMS event", { reason: error.message });
      return { kind: "dropped", reason: error.message };
    }
    throw error;
  }
  if (signal === null) {
    logger.info("ignored a KMS event Tether does not act on", { detailType: event?.["detail-type"] });
    return { kind: "ignored" };
  }
  logger.appendKeys({ keyArn: signal.keyArn, region: signal.region });
  const outcome = await handleKmsSignal(lifecycleDeps("kms-events"), signal, {
    correlationId,
    isTether: config.isTether,
  });
  if (outcome.kind === "account-unregistered") {
    // Another account's events reach the bus (the Organization's, or a member removed since): not an error.
    logger.info("ignored a KMS event from an account that is neither this deployment's nor a member's", {
      account: outcome.account,
      signal: signal.kind,
    });
    return outcome;
  }
  logger.info("KMS event handled", { signal: signal.kind, outcome });
  return outcome;
}

export const handler = middy<EventBridgeEvent<string, unknown>, Outcome>()
  .use(injectLambdaContext(logger))
  .handler(run);
