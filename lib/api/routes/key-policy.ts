/** A key's policy and pause state, and its history. */
import { changeKeyPolicy } from "../../lifecycle/use-cases/key-admin.js";
import { keyHistory } from "../../lifecycle/use-cases/queries.js";
import { Access, defineRoute } from "../route.js";
import { auditEventView, keyView } from "../views.js";

export const changePolicyRoute = defineRoute({
  method: "PATCH",
  path: "/keys/{id}/policy",
  operationId: "changeKeyPolicy",
  summary:
    "Change the import policy (validity, renew window, automatic restore, reconcile interval, priority) and/or pause or resume automatic actions.",
  access: Access.Admin,
  body: (s) => s.PolicyPatchBody,
  bodyRequired: true,
  response: { status: 200, description: "The key after the change", schema: (s) => s.PolicyResponse },
  errors: [400, 403, 404, 409, 413, 415],
  async handle({ deps, params, body, caller, requestId }) {
    const { paused, reason, ...policy } = body;
    const result = await changeKeyPolicy(deps, {
      key: params.id ?? "",
      policy,
      paused,
      reason,
      actor: caller,
      correlationId: requestId,
    });
    return { status: 200, body: { key: keyView(result.key) } };
  },
});

export const historyRoute = defineRoute({
  method: "GET",
  path: "/keys/{id}/history",
  operationId: "keyHistory",
  summary: "A key's audit history, newest first (also after the key is no longer managed, by its Tether id).",
  access: Access.Read,
  query: (s) => s.HistoryQuery,
  response: { status: 200, description: "A page of audit events", schema: (s) => s.HistoryResponse },
  errors: [400, 403, 404],
  async handle({ deps, params, query }) {
    const page = await keyHistory(deps, params.id ?? "", { limit: query.limit, nextToken: query.nextToken });
    return {
      status: 200,
      body: {
        items: page.items.map(auditEventView),
        ...(page.nextToken === undefined ? {} : { nextToken: page.nextToken }),
      },
    };
  },
});
