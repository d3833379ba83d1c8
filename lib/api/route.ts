import type { z } from "zod";
import type { LifecycleDeps } from "../lifecycle/ports.js";

/** Who may call a route: anyone (health, the API description), readers and admins, or admins only. */
export const Access = { Public: "public", Read: "read", Admin: "admin" } as const;
export type Access = (typeof Access)[keyof typeof Access];

export type HttpMethod = "GET" | "POST" | "PATCH" | "DELETE";

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

/** One route: where it lives, who may call it, its schemas (validation and OpenAPI), and what it does. */
export interface Route {
  readonly method: HttpMethod;
  /** `/keys/{id}/history`: literal segments and `{name}` parameters, one segment each. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly access: Access;
  readonly query?: z.ZodType | undefined;
  readonly body?: z.ZodType | undefined;
  /** Whether a body must be sent (otherwise an absent body is parsed as `{}`). */
  readonly bodyRequired?: boolean | undefined;
  readonly response: { readonly status: number; readonly description: string; readonly schema: z.ZodType };
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
    readonly query?: Q;
    readonly body?: B;
    handle(context: RouteContext<z.output<Q>, z.output<B>>): Promise<RouteResult>;
  },
): Route {
  return route as Route;
}
