/** A Lambda-like invocation context for handlers run in-process by the local runner. */
import { randomUUID } from "node:crypto";
import type { Context } from "aws-lambda";
import type { FunctionDefinition } from "./serverless-definition.js";

/**
 * Builds the context Lambda would pass: request id, names, memory, and a deadline from the function's
 * timeout in serverless.yml (the runner does not stop a handler at the deadline; it only reports it).
 */
export function lambdaContext(fn: FunctionDefinition, region: string, accountId: string): Context {
  const deadline = Date.now() + fn.timeoutSeconds * 1000;
  const awsRequestId = randomUUID();
  const unsupported = (name: string) => () => {
    throw new Error(`context.${name} is not supported locally; return a value or a promise instead`);
  };
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.deployedName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${region}:${accountId}:function:${fn.deployedName}`,
    memoryLimitInMB: String(fn.memorySize),
    awsRequestId,
    logGroupName: `/aws/lambda/${fn.deployedName}`,
    logStreamName: `local/[$LATEST]${awsRequestId.replace(/-/g, "")}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported("done"),
    fail: unsupported("fail"),
    succeed: unsupported("succeed"),
  };
}
