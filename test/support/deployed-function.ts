/**
 * Tether's deployed functions (functions/*.ts) run as Lambda runs them against a lifecycle testbed: the
 * environment they read at cold start, the events API Gateway's HTTP API sends, and a function in a child
 * process of its own (its own cold start, SDK clients and rate limiter). Shared by the API, kms-events and
 * shared-budget tests and the bundle test, so each says only what it changes.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { APIGatewayProxyEventV2WithIAMAuthorizer } from "aws-lambda";
import { CREDENTIALS, type LifecycleTestbed, TESTBED_PASSPHRASE } from "./lifecycle-testbed.js";

/** What a function needs to find the testbed's local AWS, table, audit bus and file vault. */
export function testbedFunctionEnv(bed: LifecycleTestbed): Record<string, string> {
  return {
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    TETHER_TABLE_NAME: bed.config.tableName,
    TETHER_AUDIT_BUS_NAME: bed.config.auditBusName,
    TETHER_KMS_ENDPOINT: bed.aws.endpoints.kms,
    TETHER_DYNAMODB_ENDPOINT: bed.aws.endpoints.dynamodb,
    TETHER_EVENTS_ENDPOINT: bed.aws.endpoints.events,
    TETHER_FILE_VAULT_DIR: bed.vault.directory,
    TETHER_FILE_VAULT_PASSPHRASE: TESTBED_PASSPHRASE,
    POWERTOOLS_LOG_LEVEL: "ERROR",
  };
}

export interface HttpApiRequest {
  readonly method: string;
  readonly rawPath: string;
  /** The caller's ARN (the IAM authorizer's userArn); null sends no authorizer context at all. */
  readonly caller: string | null;
  readonly requestId: string;
  readonly body?: string;
  readonly headers?: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly isBase64Encoded?: boolean;
}

/** What API Gateway's HTTP API (payload 2.0, IAM authorizer) sends to the api function. */
export function httpApiEvent(request: HttpApiRequest): APIGatewayProxyEventV2WithIAMAuthorizer {
  const query = request.query ?? {};
  const { method, rawPath, caller } = request;
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString: new URLSearchParams(query).toString(),
    headers: request.headers ?? {},
    ...(Object.keys(query).length === 0 ? {} : { queryStringParameters: query }),
    requestContext: {
      accountId: "111122223333",
      apiId: "local",
      domainName: "127.0.0.1",
      domainPrefix: "127",
      http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "vitest" },
      requestId: `gw-${request.requestId}`,
      routeKey: "$default",
      stage: "$default",
      time: new Date().toUTCString(),
      timeEpoch: Date.now(),
      ...(caller === null
        ? {}
        : {
            authorizer: {
              iam: {
                accessKey: "AKIA",
                accountId: "111122223333",
                callerId: "AIDA",
                cognitoIdentity: null,
                principalOrgId: null,
                userArn: caller,
                userId: "AIDA",
              },
            },
          }),
    },
    ...(request.body === undefined ? {} : { body: request.body }),
    isBase64Encoded: request.isBase64Encoded ?? false,
  } as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
}

const CHILD = fileURLToPath(new URL("./function-child.ts", import.meta.url));

/**
 * Runs one function's handler (`api`, `sweep`, `kms-events`) in a child process of its own with `env`, one
 * invocation per event, all at once; resolves with each invocation's outcome.
 * @param clockOffsetMs the functions' clock: real time plus this (the emulator's offset)
 */
export async function runFunctionProcess(
  name: string,
  events: readonly unknown[],
  env: Record<string, string>,
  clockOffsetMs = 0,
): Promise<unknown[]> {
  return (await runFunctionProcessWithOutput(name, events, env, clockOffsetMs)).results;
}

/** runFunctionProcess, with what the function wrote on stdout (its logs and embedded-metric records). */
export function runFunctionProcessWithOutput(
  name: string,
  events: readonly unknown[],
  env: Record<string, string>,
  clockOffsetMs = 0,
): Promise<{ results: unknown[]; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", CHILD, name], {
      env: {
        ...process.env,
        ...env,
        TEST_EVENTS: JSON.stringify(events),
        TEST_CLOCK_OFFSET_MS: String(clockOffsetMs),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
    });
    child.stderr.on("data", (chunk) => {
      err += chunk;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      if (code !== 0 || line === undefined) {
        reject(new Error(`${name} exited ${code}: ${err.slice(-2000)}`));
        return;
      }
      resolve({ results: JSON.parse(line.slice("RESULT ".length)) as unknown[], stdout: out });
    });
  });
}
