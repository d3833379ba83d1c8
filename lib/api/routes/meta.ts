/** Routes about the API itself: health and its OpenAPI description (both public). */

import { listSentinels } from "../../lifecycle/scheduled/sentinels.js";
import { Access, defineRoute, type Route } from "../route.js";
import { sentinelsView } from "../views.js";

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

export const sentinelsRoute = defineRoute({
  method: "GET",
  path: "/sentinels",
  operationId: "listSentinels",
  summary:
    "Each Region's sentinel key (the proof of a region-wide loss) as the last probe saw it, with its open regional-loss incident.",
  access: Access.Read,
  response: { status: 200, description: "The sentinels", schema: (s) => s.SentinelsResponse },
  errors: [400, 403],
  async handle({ deps }) {
    return { status: 200, body: sentinelsView(await listSentinels(deps)) };
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
