/**
 * The admin API as one function of (event, context): route, authorize, validate, run the route (once, with
 * an Idempotency-Key), answer — and every error through one boundary. functions/api.ts wraps it in middy.
 */
import { randomUUID } from "node:crypto";
import type { APIGatewayProxyEventV2WithIAMAuthorizer, APIGatewayProxyResultV2, Context } from "aws-lambda";
import type { LifecycleDeps } from "../lifecycle/ports.js";
import { authorize, callerArnOf, type Roles } from "./authorization.js";
import { type BoundaryLog, errorResult } from "./error-boundary.js";
import { ErrorCode } from "./error-code.js";
import { HttpError } from "./http-error.js";
import { IDEMPOTENCY_HEADER, type IdempotencyGuard, parseIdempotencyKey } from "./idempotency.js";
import { header, readBody, readParams, readQuery } from "./request.js";
import type { RequestSchemas, Route, RouteResult } from "./route.js";
import { Router } from "./router.js";
import { apiRoutes } from "./routes/index.js";

export interface ApiOptions {
  /** The use cases' ports (built on first use). */
  readonly deps: () => LifecycleDeps;
  readonly roles: Roles;
  readonly maxBodyBytes: number;
  readonly log: BoundaryLog;
  /** Absent: the Idempotency-Key header is refused with a 400 rather than silently ignored. */
  readonly idempotency?: IdempotencyGuard | undefined;
  readonly routes?: readonly Route[] | undefined;
}

export type ApiHandler = (
  event: APIGatewayProxyEventV2WithIAMAuthorizer,
  context: Context,
) => Promise<APIGatewayProxyResultV2>;

/**
 * Builds the API handler (once, at cold start). It never throws: every failure is an HTTP answer.
 * zod and the request schemas are loaded on the first request that reaches validation, and each route's
 * schemas are built on the first request to that route: a cold start builds none of them.
 */
export function createApi(options: ApiOptions): ApiHandler {
  const router = new Router(options.routes ?? apiRoutes);
  let requestSchemas: RequestSchemas | undefined;
  return async function api(event, context) {
    const requestId = requestIdOf(event, context);
    let result: RouteResult;
    try {
      result = await dispatch(event, context, requestId);
    } catch (error) {
      result = errorResult(error, requestId, options.log);
    }
    return {
      statusCode: result.status,
      headers: { ...result.headers, "content-type": "application/json", "x-request-id": requestId },
      body: JSON.stringify(result.body),
    };
  };

  async function dispatch(
    event: APIGatewayProxyEventV2WithIAMAuthorizer,
    context: Context,
    requestId: string,
  ): Promise<RouteResult> {
    const method = String(event?.requestContext?.http?.method ?? "").toUpperCase();
    const rawPath =
      typeof event?.rawPath === "string" ? event.rawPath : String(event?.requestContext?.http?.path ?? "");
    const match = router.match(method, rawPath);
    if (match.kind === "not-found") throw new HttpError(404, ErrorCode.NotFound, "No such path.");
    if (match.kind === "method-not-allowed") {
      throw new HttpError(405, ErrorCode.MethodNotAllowed, `Use ${match.allow.join(", ")} on this path.`, {
        headers: { allow: match.allow.join(", ") },
      });
    }
    const { route } = match;
    let caller: string;
    try {
      caller = authorize(event, route.access, options.roles);
    } catch (error) {
      // Who was turned away, for whoever investigates: the ARN API Gateway verified (or none).
      options.log.info("access refused", {
        requestId,
        callerArn: callerArnOf(event) ?? "none",
        route: `${route.method} ${route.path}`,
      });
      throw error;
    }
    requestSchemas ??= (await import("./request-schemas.js")).requestSchemas;
    const params = readParams(match.params, requestSchemas);
    const query = readQuery(event, route, requestSchemas);
    const body = readBody(event, route, options.maxBodyBytes, requestSchemas);
    const execute = () => route.handle({ deps: options.deps(), caller, requestId, params, query, body });

    const idempotencyKey = header(event, IDEMPOTENCY_HEADER);
    if (idempotencyKey === undefined) return execute();
    if (route.idempotent !== true || options.idempotency === undefined) {
      throw new HttpError(400, ErrorCode.ValidationError, "This route does not take an Idempotency-Key.", {
        field: IDEMPOTENCY_HEADER,
      });
    }
    return options.idempotency.run(
      {
        key: parseIdempotencyKey(idempotencyKey),
        caller,
        route: `${route.method} ${route.path}`,
        params,
        body: body ?? null,
      },
      context,
      execute,
    );
  }
}

/** The Lambda request id (in the log line too); API Gateway's when run outside Lambda. */
function requestIdOf(event: APIGatewayProxyEventV2WithIAMAuthorizer, context: Context | undefined): string {
  const fromLambda = context?.awsRequestId;
  if (typeof fromLambda === "string" && fromLambda !== "") return fromLambda;
  const fromGateway = event?.requestContext?.requestId;
  return typeof fromGateway === "string" && fromGateway !== "" ? fromGateway : randomUUID();
}
