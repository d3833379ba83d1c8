/**
 * Which destructive requests dual control holds back, decided before anything runs: the admin API asks
 * this for revoke, unmanage, rotate (a key swap), and policy changes (a pause, a weakening). Nothing here
 * writes; when the deployment's rules need one person only, the key is not even read.
 */
import { OperationKind as Kind, type OperationKind, policyWeakenings } from "../../domain/approvals.js";
import {
  parseImportPolicy,
  RotationMethod,
  rotationMethodOf,
  toImportPolicyInput,
} from "../../domain/import-policy.js";
import { KeyStatusState, type ManagedKey } from "../../domain/managed-key.js";
import type { LifecycleDeps } from "../ports.js";
import { approvalRulesOf } from "./approvals.js";
import { type ImportPolicyPatch, keyArnOf, mergePolicy } from "./key-admin.js";
import { loadKey } from "./operator-actions.js";

/** A request that needs more than one person: what it is, on which key, and how many people. */
export interface HeldOperation {
  readonly operation: OperationKind;
  readonly quorum: number;
  readonly key: ManagedKey;
  readonly keyArn: string;
  readonly weakenings?: readonly string[] | undefined;
}

/** What the route was asked to do. */
export type GateRequest =
  | { readonly kind: "revoke" | "unmanage" | "rotate"; readonly key: string }
  | {
      readonly kind: "policy";
      readonly key: string;
      readonly policy?: ImportPolicyPatch | undefined;
      readonly paused?: boolean | undefined;
    };

/**
 * The held operation, or undefined when the request may run at once (quorum 1, an in-key rotation, a
 * policy change that weakens nothing, a resume).
 * @throws NotFoundError when the key is not managed (only when the key had to be read);
 *   ValidationError when a policy patch is invalid
 */
export async function heldOperation(
  deps: LifecycleDeps,
  request: GateRequest,
): Promise<HeldOperation | undefined> {
  const rules = approvalRulesOf(deps).operations;
  const quorumOf = (kind: OperationKind) => rules[kind].quorum;
  const candidates: OperationKind[] =
    request.kind === "revoke"
      ? [Kind.Revoke]
      : request.kind === "unmanage"
        ? [Kind.Unmanage]
        : request.kind === "rotate"
          ? [Kind.Swap]
          : [Kind.Pause, Kind.PolicyWeaken];
  if (candidates.every((kind) => quorumOf(kind) <= 1)) return undefined;
  const key = await loadKey(deps, request.key);
  const found = kindsOf(key, request);
  const held = found.kinds.filter((kind) => quorumOf(kind) > 1);
  if (held.length === 0) return undefined;
  const operation = held.reduce((a, b) => (quorumOf(b) > quorumOf(a) ? b : a));
  return {
    operation,
    quorum: Math.max(...held.map(quorumOf)),
    key,
    keyArn: keyArnOf(key),
    ...(found.weakenings.length === 0 ? {} : { weakenings: found.weakenings }),
  };
}

function kindsOf(key: ManagedKey, request: GateRequest): { kinds: OperationKind[]; weakenings: string[] } {
  if (request.kind === "revoke") return { kinds: [Kind.Revoke], weakenings: [] };
  if (request.kind === "unmanage") return { kinds: [Kind.Unmanage], weakenings: [] };
  if (request.kind === "rotate") {
    const swap = rotationMethodOf(key.keySpec, key.policy) === RotationMethod.KeySwap;
    return { kinds: swap ? [Kind.Swap] : [], weakenings: [] };
  }
  if (request.kind !== "policy") return { kinds: [], weakenings: [] };
  const kinds: OperationKind[] = [];
  let weakenings: string[] = [];
  if (request.policy !== undefined && Object.keys(request.policy).length > 0) {
    const after = parseImportPolicy(mergePolicy(toImportPolicyInput(key.policy), request.policy));
    weakenings = policyWeakenings(key.policy, after);
    if (weakenings.length > 0) kinds.push(Kind.PolicyWeaken);
  }
  if (request.paused === true && key.status.state === KeyStatusState.Active) kinds.push(Kind.Pause);
  return { kinds, weakenings };
}
