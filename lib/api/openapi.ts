/**
 * The OpenAPI 3.1 description, generated from the route table and the same zod schemas that validate
 * requests (zod 4's JSON Schema output is draft 2020-12, the dialect OpenAPI 3.1 uses). docs/openapi.json
 * is this document, written by `npm run openapi`; GET /openapi.json serves it (the API function loads this
 * module, and with it every response schema, on the first such request).
 */
import * as z from "zod";
import type { Route } from "./route.js";
import * as S from "./schemas.js";

export const API_TITLE = "Tether admin API";
export const API_VERSION = "1.0.0";

/** Schemas that become named components (referenced with $ref wherever they appear). */
const NAMED: ReadonlyArray<readonly [z.ZodType, string]> = [
  [S.ImportPolicyInput, "ImportPolicyInput"],
  [S.CreateKeyBody, "CreateKeyBody"],
  [S.AdoptKeyBody, "AdoptKeyBody"],
  [S.RegisterKeyBody, "RegisterKeyBody"],
  [S.ReasonBody, "ReasonBody"],
  [S.ReimportBody, "ReimportBody"],
  [S.UnmanageBody, "UnmanageBody"],
  [S.PolicyPatchBody, "PolicyPatchBody"],
  [S.KeyStatusView, "KeyStatus"],
  [S.RegionView, "Region"],
  [S.KeyView, "Key"],
  [S.RegionOutcomeView, "RegionOutcome"],
  [S.KeyActionResponse, "KeyActionResponse"],
  [S.KeyListResponse, "KeyListResponse"],
  [S.ObservedView, "ObservedKeyState"],
  [S.PlannedActionView, "PlannedAction"],
  [S.KeyDetailResponse, "KeyDetailResponse"],
  [S.AuditEventView, "AuditEvent"],
  [S.HistoryResponse, "HistoryResponse"],
  [S.PolicyResponse, "PolicyResponse"],
  [S.RevokeBody, "RevokeBody"],
  [S.ApprovalView, "Approval"],
  [S.OperationView, "OperationRequest"],
  [S.OperationResponse, "OperationResponse"],
  [S.OperationListResponse, "OperationListResponse"],
  [S.OperationAcceptedResponse, "OperationAcceptedResponse"],
  [S.UnmanageResponse, "UnmanageResponse"],
  [S.HealthResponse, "HealthResponse"],
  [S.AddAccountBody, "AddAccountBody"],
  [S.AccountView, "Account"],
  [S.AgentRequestsResponse, "AgentRequestsResponse"],
  [S.AgentHealthResponse, "AgentHealthResponse"],
  [S.ErrorResponse, "Error"],
  [S.GatewayErrorResponse, "GatewayError"],
];

/**
 * Statuses API Gateway may answer itself on every operation, with its `{"message"}` body
 * (GatewayErrorResponse); 403 only where the route is IAM-authorized. 404 for an unknown route has no
 * operation to hang on: it is the GatewayError404 response component, and the description says so.
 */
const GATEWAY_STATUSES = [413, 500] as const;
const GATEWAY_DESCRIPTIONS: Readonly<Record<number, string>> = {
  403: "API Gateway: no signature, or a signature it refuses (the IAM authorizer)",
  404: "API Gateway: no such route",
  413: "API Gateway: the body is over its 10 MB payload quota",
  500: "API Gateway: the function failed or timed out",
};

const ERROR_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: "Invalid input; `field` names what is wrong (including a material reference the vault refuses, material that cannot serve the keySpec, or a missing checkValue for material the vault already holds)",
  403: "No IAM identity (Unauthorized), or an identity without the needed role (Forbidden)",
  404: "No such key (or path)",
  405: "Method not allowed on this path (see the Allow header)",
  409: "The key's state forbids the action, a concurrent change, an Idempotency-Key reused with another body, or (`field` materialRef) material the vault already holds under a reference to generate, a reference another managed key claims, or a vault that cannot serve the material now",
  413: "Body too large",
  415: "Body is not application/json",
  500: "Internal error: a generic message and the requestId that finds the log line",
};

type Json = Record<string, unknown>;

/** The OpenAPI 3.1 document for these routes. Deterministic: same routes and schemas, same JSON. */
export function openApiDocument(routes: readonly Route[]): Json {
  const schemas = componentSchemas();
  const paths = pathItems(routes);
  return {
    openapi: "3.1.0",
    info: {
      title: API_TITLE,
      version: API_VERSION,
      description:
        'Operate Tether: list, register, re-import, revoke, restore and re-configure KMS keys with imported material. Requests are SigV4-signed (service execute-api); admins may change keys, readers may read.\n\nErrors come in two shapes. Tether\'s own answers have the `Error` body (`{"error":{"code","message","field"?,"requestId"}}`). Answers API Gateway gives itself, before or instead of Tether, have the `GatewayError` body (`{"message": "…"}`): 403 for a missing or refused signature, 404 for a route that does not exist (response GatewayError404), 413 for a body over 10 MB, 431 (or 400) for a request line or header over 10,240 bytes, 500 when the function failed or timed out. A status both can give lists both shapes.',
    },
    paths,
    components: {
      schemas,
      responses: responseComponents(paths),
      securitySchemes: {
        sigv4: {
          type: "apiKey",
          name: "Authorization",
          in: "header",
          description: "AWS Signature Version 4 (API Gateway IAM authorization)",
          "x-amazon-apigateway-authtype": "awsSigv4",
        },
      },
    },
  };
}

type PathItems = Record<string, Record<string, Json>>;

const NAMES = new Map<z.ZodType, string>(NAMED);

/** The named schemas (NAMED) as JSON Schema components, referencing each other with $ref. */
function componentSchemas(): Record<string, Json> {
  const registry = z.registry<{ id: string }>();
  for (const [schema, id] of NAMED) registry.add(schema, { id });
  const generated = z.toJSONSchema(registry, {
    target: "draft-2020-12",
    io: "input",
    uri: (id) => `#/components/schemas/${id}`,
  }) as { schemas: Record<string, Json> };
  return Object.fromEntries(Object.entries(generated.schemas).map(([id, schema]) => [id, clean(schema)]));
}

/** A $ref to the schema's component when it is named, else the schema inline. */
function ref(schema: z.ZodType): Json {
  const name = NAMES.get(schema);
  return name === undefined
    ? clean(z.toJSONSchema(schema, { io: "input" }) as Json)
    : { $ref: `#/components/schemas/${name}` };
}

/** One path item per path, with one operation per route on it (routes sharing a path share the item). */
function pathItems(routes: readonly Route[]): PathItems {
  const paths: PathItems = {};
  for (const route of routes) {
    paths[route.path] = { ...paths[route.path], [route.method.toLowerCase()]: operation(route) };
  }
  return paths;
}

/** The operation object of one route: its identity, access, parameters, request body and responses. */
function operation(route: Route): Json {
  const parameters = routeParameters(route);
  const operation: Json = {
    operationId: route.operationId,
    summary: route.summary,
    "x-tether-access": route.access,
    security: route.access === "public" ? [] : [{ sigv4: [] }],
    ...(parameters.length === 0 ? {} : { parameters }),
  };
  if (route.body !== undefined) {
    operation.requestBody = {
      required: route.bodyRequired === true,
      content: { "application/json": { schema: ref(route.body(S)) } },
    };
  }
  operation.responses = operationResponses(route);
  return operation;
}

/** Path parameters (`{id}`, `{accountId}`), then query parameters, then the Idempotency-Key header. */
function routeParameters(route: Route): Json[] {
  const parameters: Json[] = [];
  if (route.path.includes("{id}")) {
    parameters.push({
      name: "id",
      in: "path",
      required: true,
      description: S.KeyReference.description,
      schema: clean(z.toJSONSchema(S.KeyReference) as Json),
    });
  }
  if (route.path.includes("{accountId}")) {
    parameters.push({
      name: "accountId",
      in: "path",
      required: true,
      description: "A member account's 12-digit id",
      schema: { type: "string", pattern: "^\\d{12}$" },
    });
  }
  const query = route.query?.(S);
  if (query instanceof z.ZodObject) {
    for (const [name, schema] of Object.entries(query.shape as Record<string, z.ZodType>)) {
      parameters.push({
        name,
        in: "query",
        required: !schema.safeParse(undefined).success,
        schema: clean(z.toJSONSchema(schema, { io: "input" }) as Json),
      });
    }
  }
  if (route.idempotent === true) {
    parameters.push({
      name: "Idempotency-Key",
      in: "header",
      required: false,
      description:
        "Retrying with the same key (and the same body) does the work once and returns the first answer.",
      schema: { type: "string", minLength: 1, maxLength: 255, pattern: "^[\\x21-\\x7e]+$" },
    });
  }
  return parameters;
}

/**
 * The route's success answer (and 202 when it may be accepted for later), then a $ref per error status:
 * Tether's own (`Error<n>`), API Gateway's (`GatewayError<n>`) or either (`ErrorOrGatewayError<n>`).
 */
function operationResponses(route: Route): Json {
  const responses: Json = {
    [String(route.response.status)]: {
      description: route.response.description,
      content: { "application/json": { schema: ref(route.response.schema(S)) } },
    },
  };
  if (route.accepted !== undefined) {
    responses["202"] = {
      description: route.accepted.description,
      content: { "application/json": { schema: ref(route.accepted.schema(S)) } },
    };
  }
  const gateway = new Set<number>([...GATEWAY_STATUSES, ...(route.access === "public" ? [] : [403])]);
  const statuses = new Set<number>([...route.errors, 500]);
  for (const status of [...new Set([...statuses, ...gateway])].sort((a, b) => a - b)) {
    const name = !gateway.has(status)
      ? `Error${status}`
      : statuses.has(status)
        ? `ErrorOrGatewayError${status}`
        : `GatewayError${status}`;
    responses[String(status)] = { $ref: `#/components/responses/${name}` };
  }
  return responses;
}

/** The error response components some operation references (and GatewayError404, for unknown routes). */
function responseComponents(paths: PathItems): Json {
  /** The statuses of response components named `<prefix><status>` that some operation references. */
  const used = (prefix: string): number[] => {
    const pattern = new RegExp(`^#/components/responses/${prefix}(\\d+)$`);
    const statuses = Object.values(paths).flatMap((operations) =>
      Object.values(operations).flatMap((operation) =>
        Object.values(operation.responses as Record<string, { $ref?: string }>).flatMap((r) => {
          const match = pattern.exec(r.$ref ?? "");
          return match === null ? [] : [Number(match[1])];
        }),
      ),
    );
    return [...new Set(statuses)].sort((a, b) => a - b);
  };
  return Object.fromEntries([
    ...used("Error").map((status) => [`Error${status}`, tetherError(status)]),
    ...used("ErrorOrGatewayError").map((status) => [`ErrorOrGatewayError${status}`, either(status)]),
    ...[...new Set([...used("GatewayError"), 404])]
      .sort((a, b) => a - b)
      .map((status) => [`GatewayError${status}`, gatewayError(status)]),
  ]);
}

function tetherError(status: number): Json {
  return {
    description: ERROR_DESCRIPTIONS[status] ?? "Error",
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  };
}

function gatewayError(status: number): Json {
  return {
    description: GATEWAY_DESCRIPTIONS[status] ?? "API Gateway",
    content: { "application/json": { schema: { $ref: "#/components/schemas/GatewayError" } } },
  };
}

function either(status: number): Json {
  return {
    description: `${ERROR_DESCRIPTIONS[status] ?? "Error"} (Tether: Error); or ${GATEWAY_DESCRIPTIONS[status] ?? "API Gateway"} (GatewayError)`,
    content: {
      "application/json": {
        schema: {
          oneOf: [{ $ref: "#/components/schemas/Error" }, { $ref: "#/components/schemas/GatewayError" }],
        },
      },
    },
  };
}

/** Drops the per-schema `$schema`/`$id` that zod adds; the document's dialect is OpenAPI 3.1's. */
function clean(schema: Json): Json {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}
