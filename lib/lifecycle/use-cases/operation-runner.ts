/**
 * What an approved operation request runs: the same use case the route would have run at once, with the
 * requester as actor and the request id as correlation id. Each is idempotent, so a run the sweep repeats
 * after a crash finishes the first rather than doing it twice.
 */
import { OperationKind, type OperationRequest } from "../../domain/approvals.js";
import type { LifecycleDeps } from "../ports.js";
import type { OperationExecutor } from "./approvals.js";
import { changeKeyPolicy, type ImportPolicyPatch, unmanageKey } from "./key-admin.js";
import { revoke } from "./operator-actions.js";
import { rotateKey } from "./rotate.js";

export const runOperation: OperationExecutor = async (deps: LifecycleDeps, request: OperationRequest) => {
  const common = { key: request.keyId, actor: request.requestedBy, correlationId: request.id };
  const reason = typeof request.input.reason === "string" ? request.input.reason : request.reason;
  switch (request.operation) {
    case OperationKind.Revoke:
      await revoke(deps, { ...common, reason });
      return;
    case OperationKind.Unmanage:
      await unmanageKey(deps, { ...common, reason });
      return;
    case OperationKind.Swap:
      await rotateKey(deps, { ...common, reason });
      return;
    case OperationKind.Pause:
    case OperationKind.PolicyWeaken:
      await changeKeyPolicy(deps, {
        ...common,
        reason: typeof request.input.reason === "string" ? request.input.reason : undefined,
        policy: request.input.policy as ImportPolicyPatch | undefined,
        paused: typeof request.input.paused === "boolean" ? request.input.paused : undefined,
      });
      return;
  }
};
