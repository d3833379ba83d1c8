import { classifyKeyAction, classifyPolicy, dualControl } from "../dual-control.js";
import type { Route } from "../route.js";
import { addAccountRoute, listAccountsRoute, removeAccountRoute, showAccountRoute } from "./accounts.js";
import { agentAnswerRoute, agentHealthRoute, agentRequestsRoute } from "./agent.js";
import { reimportRoute, restoreRoute, revokeRoute, rotateRoute } from "./key-actions.js";
import { changePolicyRoute, historyRoute } from "./key-policy.js";
import {
  checkAdoptionRoute,
  listKeysRoute,
  registerKeyRoute,
  showKeyRoute,
  unmanageKeyRoute,
} from "./keys.js";
import { healthRoute, openApiRoute, sentinelsRoute } from "./meta.js";
import {
  approveOperationRoute,
  denyOperationRoute,
  listOperationsRoute,
  showOperationRoute,
} from "./operations.js";

let document: Record<string, unknown> | undefined;

/** Every route of the admin API, in the order of serverless.yml. */
export const apiRoutes: readonly Route[] = [
  healthRoute,
  // The generator and every response schema are loaded on the first GET /openapi.json, not at cold start.
  openApiRoute(async () => {
    document ??= (await import("../openapi.js")).openApiDocument(apiRoutes);
    return document;
  }),
  listKeysRoute,
  registerKeyRoute,
  checkAdoptionRoute,
  showKeyRoute,
  // Dual control wraps the destructive routes: 202 with an operation request when the rules hold them back.
  dualControl(unmanageKeyRoute, classifyKeyAction("unmanage")),
  historyRoute,
  reimportRoute,
  dualControl(revokeRoute, classifyKeyAction("revoke"), { body: (s) => s.RevokeBody }),
  restoreRoute,
  dualControl(rotateRoute, classifyKeyAction("rotate")),
  dualControl(changePolicyRoute, classifyPolicy),
  sentinelsRoute,
  listOperationsRoute,
  showOperationRoute,
  approveOperationRoute,
  denyOperationRoute,
  listAccountsRoute,
  addAccountRoute,
  showAccountRoute,
  removeAccountRoute,
  agentRequestsRoute,
  agentAnswerRoute,
  agentHealthRoute,
];
