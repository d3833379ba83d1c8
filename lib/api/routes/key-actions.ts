/** Imports and the kill switch on one key: re-import now, revoke, restore, rotate. */
import { reimport, restore, revoke } from "../../lifecycle/use-cases/operator-actions.js";
import { rotateKey } from "../../lifecycle/use-cases/rotate.js";
import { Access, defineRoute, type ResponseSchemas } from "../route.js";
import { keyView, materialsView, outcomesView } from "../views.js";

const response = {
  status: 200,
  description: "The key and what happened in each Region",
  schema: (s: ResponseSchemas) => s.KeyActionResponse,
} as const;

export const reimportRoute = defineRoute({
  method: "POST",
  path: "/keys/{id}/reimport",
  operationId: "reimportKey",
  summary: "Re-import the material now in every Region (moves ValidTo forward). Refused for a revoked key.",
  access: Access.Admin,
  body: (s) => s.ReimportBody,
  idempotent: true,
  response,
  errors: [400, 403, 404, 409, 413, 415],
  async handle({ deps, params, caller, requestId }) {
    const result = await reimport(deps, { key: params.id ?? "", actor: caller, correlationId: requestId });
    return { status: 200, body: { key: keyView(result.key), regions: outcomesView(result.regions) } };
  },
});

/** A POST that takes a reason and runs one operator action in every Region (revoke, restore). */
function reasonActionRoute(spec: {
  action: "revoke" | "restore";
  operationId: string;
  summary: string;
  run: typeof revoke;
}) {
  return defineRoute({
    method: "POST",
    path: `/keys/{id}/${spec.action}`,
    operationId: spec.operationId,
    summary: spec.summary,
    access: Access.Admin,
    body: (s) => s.ReasonBody,
    bodyRequired: true,
    idempotent: true,
    response,
    errors: [400, 403, 404, 409, 413, 415],
    async handle({ deps, params, body, caller, requestId }) {
      const result = await spec.run(deps, {
        key: params.id ?? "",
        reason: body.reason,
        actor: caller,
        correlationId: requestId,
      });
      return { status: 200, body: { key: keyView(result.key), regions: outcomesView(result.regions) } };
    },
  });
}

export const revokeRoute = reasonActionRoute({
  action: "revoke",
  operationId: "revokeKey",
  summary: "The kill switch: delete the imported material everywhere and stop automatic re-import.",
  run: revoke,
});

export const restoreRoute = reasonActionRoute({
  action: "restore",
  operationId: "restoreKey",
  summary: "Make a revoked key active again and import missing material in every Region.",
  run: restore,
});

export const rotateRoute = defineRoute({
  method: "POST",
  path: "/keys/{id}/rotate",
  operationId: "rotateKey",
  summary:
    "Rotate the key the way its policy's rotationMethod says. in-key (symmetric keys): new material from " +
    "the vault into every Region, then RotateKeyOnDemand; older material keeps decrypting and keeps being " +
    "renewed; 409 at AWS's limit of 25 rotations. key-swap (the default for asymmetric and HMAC keys): a " +
    "new key with the same spec, usage, tags, key policy and replicas gets new material and takes the alias " +
    "(409 without one); the old key stays managed for decryption until it is retired. Repeating the request " +
    "finishes an interrupted rotation or swap.",
  access: Access.Admin,
  body: (s) => s.ReasonBody,
  bodyRequired: true,
  idempotent: true,
  response: {
    status: 200,
    description: "The key and its materials after the rotation",
    schema: (s) => s.RotateResponse,
  },
  errors: [400, 403, 404, 409, 413, 415],
  async handle({ deps, params, body, caller, requestId }) {
    const result = await rotateKey(deps, {
      key: params.id ?? "",
      reason: body.reason,
      actor: caller,
      correlationId: requestId,
    });
    return {
      status: 200,
      body:
        result.method === "key-swap"
          ? {
              method: result.method,
              key: keyView(result.key),
              successor: keyView(result.successor),
              resumed: result.resumed,
            }
          : {
              method: result.method,
              key: keyView(result.key),
              materials: materialsView(result.materials),
              resumed: result.resumed,
              rotations: result.rotations,
            },
    };
  },
});
