import type { Route } from "../route.js";
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
  unmanageKeyRoute,
  historyRoute,
  reimportRoute,
  revokeRoute,
  restoreRoute,
  rotateRoute,
  changePolicyRoute,
  sentinelsRoute,
];
