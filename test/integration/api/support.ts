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
import { httpApiEvent, testbedFunctionEnv } from "../../support/deployed-function.js";
import { type LifecycleTestbed, startLifecycleTestbed } from "../../support/lifecycle-testbed.js";

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
    ...testbedFunctionEnv(bed),
    TETHER_ADMIN_PRINCIPALS: `${ADMIN},arn:aws:sts::111122223333:assumed-role/TetherOps/*`,
    TETHER_READER_PRINCIPALS: READER,
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
    const event = httpApiEvent({
      method,
      rawPath,
      caller: options.caller === undefined ? ADMIN : options.caller,
      requestId,
      headers,
      ...(body === undefined ? {} : { body }),
      ...(options.query === undefined ? {} : { query: options.query }),
      ...(options.isBase64Encoded === undefined ? {} : { isBase64Encoded: options.isBase64Encoded }),
    });
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
