/**
 * Dual control at the route level: wraps the destructive routes (revoke, unmanage, rotate, policy) so a
 * request the deployment's rules hold back answers 202 with an operation request and does nothing else;
 * the route's own handler runs unchanged otherwise (quorum 1, the default: no extra read). The use cases
 * stay as they are; approval later runs the same use case (lib/lifecycle/use-cases/operation-runner.ts).
 */
import type { OperationKind } from "../domain/approvals.js";
import { ValidationError } from "../domain/errors.js";
import {
  approvalRulesOf,
  type OperationExecutor,
  requestOperation,
} from "../lifecycle/use-cases/approvals.js";
import { type GateRequest, heldOperation } from "../lifecycle/use-cases/approvals-gate.js";
import { type ImportPolicyPatch, keyArnOf } from "../lifecycle/use-cases/key-admin.js";
import { runOperation } from "../lifecycle/use-cases/operation-runner.js";
import { loadKey, type OperatorResult, revoke } from "../lifecycle/use-cases/operator-actions.js";
import type { ResponseSchemas, Route, RouteContext, RouteResult } from "./route.js";
import { keyView, operationView, outcomesView } from "./views.js";

/** What a guarded route was asked, read from its validated input. */
type Classify = (context: RouteContext) => GateRequest;

const ACCEPTED = {
  description: "Dual control: held for approval; the operation request and how to approve it",
  schema: (s: ResponseSchemas) => s.OperationAcceptedResponse,
} as const;

/** The route, answering 202 with an operation request when the rules need more than one person. */
export function dualControl(route: Route, classify: Classify, extra: Partial<Route> = {}): Route {
  return {
    ...route,
    ...extra,
    accepted: ACCEPTED,
    async handle(context) {
      const body = (context.body ?? {}) as Record<string, unknown>;
      const emergency = body.emergency === true;
      const { emergency: _flag, ...input } = body;
      if (emergency) return emergencyRevoke(context, input);
      const held = await heldOperation(context.deps, classify(context));
      if (held === undefined) return route.handle({ ...context, body: input });
      const reason = typeof body.reason === "string" ? body.reason : "";
      if (reason.trim() === "") {
        throw new ValidationError("reason", `is required: ${held.operation} needs approval and must say why`);
      }
      const request = await requestOperation(
        context.deps,
        {
          operation: held.operation,
          keyId: held.key.id,
          keyArn: held.keyArn,
          input,
          weakenings: held.weakenings,
          requestedBy: context.caller,
          reason,
          quorum: held.quorum,
          emergency: false,
          correlationId: context.requestId,
        },
        runOperation,
      );
      return {
        status: 202,
        body: { operation: operationView(request), approve: `POST /operations/${request.id}/approve` },
      };
    },
  };
}

/** A break-glass revoke: runs now, answers as a revoke does, with the request awaiting confirmation. */
async function emergencyRevoke(context: RouteContext, input: Record<string, unknown>): Promise<RouteResult> {
  const { deps } = context;
  const rule = approvalRulesOf(deps).operations.revoke;
  if (!rule.breakGlass) {
    throw new ValidationError(
      "emergency",
      "this deployment allows no break-glass revoke (approvals.revoke.breakGlass)",
    );
  }
  const key = await loadKey(deps, context.params.id ?? "");
  let outcomes: OperatorResult["regions"] = {};
  // The revoke the runner would run, keeping what it did in each Region for the answer.
  const execute: OperationExecutor = async (d, request) => {
    outcomes = (
      await revoke(d, {
        key: request.keyId,
        reason: request.reason,
        actor: request.requestedBy,
        correlationId: request.id,
      })
    ).regions;
  };
  const request = await requestOperation(
    deps,
    {
      operation: "revoke" satisfies OperationKind,
      keyId: key.id,
      keyArn: keyArnOf(key),
      input,
      requestedBy: context.caller,
      reason: String(input.reason ?? ""),
      quorum: rule.quorum,
      emergency: true,
      correlationId: context.requestId,
    },
    execute,
  );
  const after = await loadKey(deps, key.id);
  return {
    status: 200,
    body: { key: keyView(after), regions: outcomesView(outcomes), operation: operationView(request) },
  };
}

/** The classifiers of the guarded routes. */
export const classifyKeyAction =
  (kind: "revoke" | "unmanage" | "rotate"): Classify =>
  (context) => ({ kind, key: context.params.id ?? "" });

export const classifyPolicy: Classify = (context) => {
  const { paused, reason: _reason, ...policy } = (context.body ?? {}) as Record<string, unknown>;
  return {
    kind: "policy",
    key: context.params.id ?? "",
    policy: policy as ImportPolicyPatch,
    paused: typeof paused === "boolean" ? paused : undefined,
  };
};
