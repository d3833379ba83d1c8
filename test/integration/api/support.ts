/**
 * The API handler as Lambda loads it (configuration from the environment at cold start) against the local
 * AWS, and a way to call it with the events API Gateway's HTTP API (payload 2.0, IAM authorizer) sends.
 */
import type {
  APIGatewayProxyEventV2WithIAMAuthorizer,
  APIGatewayProxyResultV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";
import { LOCAL_ADMIN, LOCAL_READER } from "../../../infra/local/runner/identities.js";
import {
  CREDENTIALS,
  type LifecycleTestbed,
  startLifecycleTestbed,
} from "../../support/lifecycle-testbed.js";

export const ADMIN = LOCAL_ADMIN.principalArn;
export const SECOND_ADMIN = "arn:aws:sts::111122223333:assumed-role/TetherOps/bob";
export const READER = LOCAL_READER.principalArn;
export const STRANGER = "arn:aws:iam::111122223333:user/mallory";

export type Handler = (
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
  context: Context,
) => Promise<APIGatewayProxyResultV2>;

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: answers are JSON read by assertions.
  readonly body: any;
  readonly raw: string;
}

export interface CallOptions {
  /** The caller's ARN; null sends no authorizer context at all. */
  readonly caller?: string | null;
  /** An object is sent as JSON; a string as it is. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
  readonly query?: Record<string, string>;
  readonly isBase64Encoded?: boolean;
}

export interface ApiBed {
  readonly bed: LifecycleTestbed;
  readonly handler: Handler;
  call(method: string, rawPath: string, options?: CallOptions): Promise<Answer>;
  /** A fresh key registered through the API (mode create, fresh vault material). */
  register(policy?: Record<string, unknown>): Promise<Answer>;
  close(): Promise<void>;
}

let requestCounter = 0;

/** Starts the local AWS, points the environment at it, and imports functions/api.js (a cold start). */
export async function startApiBed(env: Record<string, string> = {}): Promise<ApiBed> {
  const bed = await startLifecycleTestbed();
  Object.assign(process.env, {
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    TETHER_TABLE_NAME: bed.config.tableName,
    TETHER_AUDIT_BUS_NAME: bed.config.auditBusName,
    TETHER_KMS_ENDPOINT: bed.aws.endpoints.kms,
    TETHER_DYNAMODB_ENDPOINT: bed.aws.endpoints.dynamodb,
    TETHER_EVENTS_ENDPOINT: bed.aws.endpoints.events,
    TETHER_FILE_VAULT_DIR: bed.vault.directory,
    TETHER_FILE_VAULT_PASSPHRASE: "lifecycle-test-passphrase",
    TETHER_ADMIN_PRINCIPALS: `${ADMIN},arn:aws:sts::111122223333:assumed-role/TetherOps/*`,
    TETHER_READER_PRINCIPALS: READER,
    POWERTOOLS_LOG_LEVEL: "ERROR",
    ...env,
  });
  const { handler } = (await import("../../../functions/api.js")) as unknown as { handler: Handler };

  async function call(method: string, rawPath: string, options: CallOptions = {}): Promise<Answer> {
    const requestId = `req-${++requestCounter}-${Date.now()}`;
    const body =
      options.body === undefined
        ? undefined
        : typeof options.body === "string"
          ? options.body
          : JSON.stringify(options.body);
    const headers: Record<string, string> = {
      ...(body === undefined || typeof options.body === "string"
        ? {}
        : { "content-type": "application/json" }),
      ...options.headers,
    };
    const caller = options.caller === undefined ? ADMIN : options.caller;
    const query = options.query ?? {};
    const event = {
      version: "2.0",
      routeKey: "$default",
      rawPath,
      rawQueryString: new URLSearchParams(query).toString(),
      headers,
      ...(Object.keys(query).length === 0 ? {} : { queryStringParameters: query }),
      requestContext: {
        accountId: "111122223333",
        apiId: "local",
        domainName: "127.0.0.1",
        domainPrefix: "127",
        http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "vitest" },
        requestId: `gw-${requestId}`,
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
      ...(body === undefined ? {} : { body }),
      isBase64Encoded: options.isBase64Encoded ?? false,
    } as unknown as APIGatewayProxyEventV2WithIAMAuthorizer;
    const context = {
      functionName: "tether-api",
      functionVersion: "$LATEST",
      invokedFunctionArn: "arn:aws:lambda:eu-west-1:111122223333:function:tether-api",
      memoryLimitInMB: "512",
      awsRequestId: requestId,
      logGroupName: "/aws/lambda/tether-api",
      logStreamName: "local",
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => 29_000,
    } as unknown as Context;
    const result = (await handler(event, context)) as APIGatewayProxyStructuredResultV2;
    const raw = String(result.body ?? "");
    return {
      status: result.statusCode ?? 0,
      headers: Object.fromEntries(
        Object.entries(result.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]),
      ),
      body: raw === "" ? undefined : JSON.parse(raw),
      raw,
    };
  }

  return {
    bed,
    handler,
    call,
    async register(policy = { validityPeriod: "P30D" }) {
      const { ref, checkValue } = await bed.putMaterial();
      return call("POST", "/keys", {
        body: {
          mode: "create",
          region: "eu-west-1",
          keySpec: "SYMMETRIC_DEFAULT",
          materialRef: ref,
          checkValue,
          policy,
        },
      });
    },
    async close() {
      await bed.close();
    },
  };
}

/** `/keys/<encoded reference>` + suffix. */
export function keyPath(reference: string, suffix = ""): string {
  return `/keys/${encodeURIComponent(reference)}${suffix}`;
}
