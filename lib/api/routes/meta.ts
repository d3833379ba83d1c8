/** Routes about the API itself: health and its OpenAPI description (both public). */

import { Access, defineRoute, type Route } from "../route.js";

export const healthRoute = defineRoute({
  method: "GET",
  path: "/health",
  operationId: "health",
  summary: "Liveness: the function is up and configured.",
  access: Access.Public,
  response: { status: 200, description: "Up", schema: (s) => s.HealthResponse },
  errors: [400],
  async handle() {
    return { status: 200, body: { status: "ok" } };
  },
});

/** GET /openapi.json, serving the document built (once, on first request) from the route table. */
export function openApiRoute(document: () => Promise<Record<string, unknown>>): Route {
  return defineRoute({
    method: "GET",
    path: "/openapi.json",
    operationId: "openApi",
    summary: "This API's OpenAPI 3.1 description.",
    access: Access.Public,
    response: { status: 200, description: "The OpenAPI document", schema: (s) => s.OpenApiResponse },
    errors: [400],
    async handle() {
      return { status: 200, body: await document() };
    },
  });
}
