import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyResultV2 } from "aws-lambda";
import { createApi } from "../lib/api/app.js";
import { dynamoIdempotency, type IdempotencyGuard } from "../lib/api/idempotency.js";
import { config, lifecycleDeps, logger } from "./runtime.js";

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

export const handler = middy<APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyResultV2>()
  .use(injectLambdaContext(logger))
  .handler((event, context) => api(event, context));
