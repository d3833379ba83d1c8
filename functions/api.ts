import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import middy from "@middy/core";
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyResultV2 } from "aws-lambda";
import { createApi } from "../lib/api/app.js";
import { dynamoIdempotency } from "../lib/api/idempotency.js";
import { config, lifecycleDeps, logger } from "./runtime.js";

/** API Gateway (HTTP API, IAM authorization) → the admin API. Clients and the router are built at cold start. */
const api = createApi({
  deps: lifecycleDeps,
  roles: config,
  maxBodyBytes: config.maxBodyBytes,
  log: logger,
  idempotency: dynamoIdempotency({
    client: new DynamoDBClient({
      region: config.region,
      ...(config.endpoints.dynamodb === undefined ? {} : { endpoint: config.endpoints.dynamodb }),
    }),
    tableName: config.tableName,
  }),
});

export const handler = middy<APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyResultV2>()
  .use(injectLambdaContext(logger))
  .handler((event, context) => api(event, context));
