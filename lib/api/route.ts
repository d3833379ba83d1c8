import type { z } from "zod";
import type { LifecycleDeps } from "../lifecycle/ports.js";
import type { requestSchemas } from "./request-schemas.js";
import type * as ResponseSchemaModule from "./response-schemas.js";

/**
 * Who may call a route: anyone (health, the API description), readers and admins, admins only, or vault
 * agents only (TETHER_AGENT_PRINCIPALS: not admins, whose identities have no business answering for a vault).
 */
export const Access = { Public: "public", Read: "read", Admin: "admin", Agent: "agent" } as const;
export type Access = (typeof Access)[keyof typeof Access];

export type HttpMethod = "GET" | "POST" | "PATCH" | "DELETE";

/**
 * The request schemas (lib/api/request-schemas.ts): the API loads them on its first request, and reading
 * one builds it, so each route's schemas are built on the first request to that route.
 */
export type RequestSchemas = typeof requestSchemas;
/** The response schemas module (lib/api/response-schemas.ts), loaded only for the OpenAPI document. */
export type ResponseSchemas = typeof ResponseSchemaModule;

/** What a route's handler gets: inputs already validated against the route's schemas. */
export interface RouteContext<Query = unknown, Body = unknown> {
  readonly deps: LifecycleDeps;
  /** The caller's IAM principal ARN (from the authorizer); `anonymous` on public routes. */
  readonly caller: string;
  /** The Lambda request id: in every error body and log line, and the audit correlation id. */
  readonly requestId: string;
  /** Path parameters, URL-decoded and validated. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: Query;
  readonly body: Body;
}

/** A route's answer before it becomes an API Gateway result; `body` is a JSON object. */
export interface RouteResult {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * One route: where it lives, who may call it, its schemas (validation and OpenAPI), and what it does.
 * Schemas are named by a function of where they live, not held, so a route table costs no zod at cold
 * start: the API reads a route's request schemas when a request to it comes, the OpenAPI document reads
 * the response schemas when it is written.
 */
export interface Route {
  readonly method: HttpMethod;
  /** `/keys/{id}/history`: literal segments and `{name}` parameters, one segment each. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly access: Access;
  readonly query?: ((schemas: RequestSchemas) => z.ZodType) | undefined;
  readonly body?: ((schemas: RequestSchemas) => z.ZodType) | undefined;
  /** Whether a body must be sent (otherwise an absent body is parsed as `{}`). */
  readonly bodyRequired?: boolean | undefined;
  readonly response: {
    readonly status: number;
    readonly description: string;
    readonly schema: (schemas: ResponseSchemas) => z.ZodType;
  };
  /**
   * A second success status: 202 when dual control holds the request back for approval
   * (lib/api/dual-control.ts).
   */
  readonly accepted?:
    | { readonly description: string; readonly schema: (schemas: ResponseSchemas) => z.ZodType }
    | undefined;
  /** Error statuses this route can answer with, for the API description. */
  readonly errors: readonly number[];
  /** A POST that honours the Idempotency-Key header. */
  readonly idempotent?: boolean | undefined;
  handle(context: RouteContext): Promise<RouteResult>;
}

/** Declares a route with its handler typed by its schemas. */
export function defineRoute<
  Q extends z.ZodType = z.ZodType<undefined>,
  B extends z.ZodType = z.ZodType<undefined>,
>(
  route: Omit<Route, "handle" | "query" | "body"> & {
    readonly query?: (schemas: RequestSchemas) => Q;
    readonly body?: (schemas: RequestSchemas) => B;
    handle(context: RouteContext<z.output<Q>, z.output<B>>): Promise<RouteResult>;
  },
): Route {
  return route as Route;
}
