import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyResultV2 } from "aws-lambda";
import { createApi } from "../lib/api/app.js";
import { dynamoIdempotency, type IdempotencyGuard } from "../lib/api/idempotency.js";
import { withDeadline } from "../lib/kms/deadline.js";
import { config, lifecycleDeps, logger } from "./singletons.js";

let guard: IdempotencyGuard | undefined;

/**
 * Powertools idempotency (its persistence layer and DynamoDB client), built on the first request that
 * carries an Idempotency-Key: reads and POSTs without the header, most of the traffic, never need it.
 */
const idempotency: IdempotencyGuard = {
  run(request, context, execute) {
    guard ??= dynamoIdempotency({
      client: new DynamoDBClient({
        region: config.region,
        ...(config.endpoints.dynamodb === undefined ? {} : { endpoint: config.endpoints.dynamodb }),
      }),
      tableName: config.tableName,
    });
    return guard.run(request, context, execute);
  },
};

/** API Gateway (HTTP API, IAM authorization) → the admin API. The router is built at cold start. */
const api = createApi({
  deps: lifecycleDeps,
  roles: config,
  maxBodyBytes: config.maxBodyBytes,
  log: logger,
  idempotency,
});

/** Left for answering after the last KMS turn the limiter grants: writing the records and the response. */
const ANSWER_RESERVE_MS = 3_000;

export const handler = middy<APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyResultV2>()
  .use(injectLambdaContext(logger))
  .handler((event, context) =>
    // A KMS turn that would come too late is refused as a throttle, so the request ends in time with
    // the Regions it could not reach reported as failed (and due again), rather than in API Gateway's 500.
    withDeadline(Date.now() + context.getRemainingTimeInMillis() - ANSWER_RESERVE_MS, () =>
      api(event, context),
    ),
  );
