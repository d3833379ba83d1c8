/** Dual control's operation requests: list, show, approve, deny (lib/lifecycle/use-cases/approvals.ts). */
import { approve, deny, listOperations, showOperation } from "../../lifecycle/use-cases/approvals.js";
import { runOperation } from "../../lifecycle/use-cases/operation-runner.js";
import { Access, defineRoute } from "../route.js";
import { operationView } from "../views.js";

export const listOperationsRoute = defineRoute({
  method: "GET",
  path: "/operations",
  operationId: "listOperations",
  summary:
    "Operation requests (dual control), newest first: pending ones and recent ones. The state filter applies to each page read, so a filtered page may be short and still carry a nextToken.",
  access: Access.Read,
  query: (s) => s.OperationsQuery,
  response: { status: 200, description: "A page of requests", schema: (s) => s.OperationListResponse },
  errors: [400, 403],
  async handle({ deps, query }) {
    const page = await listOperations(deps, {
      limit: query.limit,
      nextToken: query.nextToken,
      states: query.state === undefined ? undefined : [query.state],
    });
    return {
      status: 200,
      body: {
        items: page.items.map(operationView),
        ...(page.nextToken === undefined ? {} : { nextToken: page.nextToken }),
      },
    };
  },
});

export const showOperationRoute = defineRoute({
  method: "GET",
  path: "/operations/{id}",
  operationId: "showOperation",
  summary: "One operation request: what, who asked and why, its approvals, and where it stands.",
  access: Access.Read,
  response: { status: 200, description: "The request", schema: (s) => s.OperationResponse },
  errors: [400, 403, 404],
  async handle({ deps, params }) {
    return { status: 200, body: { operation: operationView(await showOperation(deps, params.id ?? "")) } };
  },
});

export const approveOperationRoute = defineRoute({
  method: "POST",
  path: "/operations/{id}/approve",
  operationId: "approveOperation",
  summary:
    "Approve a pending request (another admin than the requester; one approval per person, the sessions of one IAM role being one person unless the deployment maps them). The approval that makes the quorum runs the operation, once. On an unconfirmed emergency revoke it confirms it.",
  access: Access.Admin,
  body: (s) => s.ReasonBody,
  bodyRequired: true,
  response: {
    status: 200,
    description: "The request after the approval",
    schema: (s) => s.OperationResponse,
  },
  errors: [400, 403, 404, 409, 413, 415],
  async handle({ deps, params, body, caller, requestId }) {
    const request = await approve(
      deps,
      { id: params.id ?? "", actor: caller, reason: body.reason, correlationId: requestId },
      runOperation,
    );
    return { status: 200, body: { operation: operationView(request) } };
  },
});

export const denyOperationRoute = defineRoute({
  method: "POST",
  path: "/operations/{id}/deny",
  operationId: "denyOperation",
  summary: "Deny a pending request (any admin, the requester too): it never runs.",
  access: Access.Admin,
  body: (s) => s.ReasonBody,
  bodyRequired: true,
  response: { status: 200, description: "The request, denied", schema: (s) => s.OperationResponse },
  errors: [400, 403, 404, 409, 413, 415],
  async handle({ deps, params, body, caller, requestId }) {
    const request = await deny(deps, {
      id: params.id ?? "",
      actor: caller,
      reason: body.reason,
      correlationId: requestId,
    });
    return { status: 200, body: { operation: operationView(request) } };
  },
});
