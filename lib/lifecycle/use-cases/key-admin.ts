/**
 * Operator changes to a managed key that are not imports: its policy and pause state (PATCH), and
 * stopping management (DELETE). Each is audited with the operator's identity as actor.
 */
import { AuditDetailType, buildFactEvent, type FactEvent } from "../../domain/audit-types.js";
import { MANAGED_BY_TAG_KEY, ownershipOf } from "../../domain/deployment.js";
import {
  KmsInvalidStateError,
  KmsNotFoundError,
  ValidationError,
  VersionConflictError,
} from "../../domain/errors.js";
import {
  type ImportPolicyInput,
  parseImportPolicy,
  toImportPolicyInput,
} from "../../domain/import-policy.js";
import { changePolicy, pauseKey, resumeKey } from "../../domain/key-status.js";
import { ExpirationModel } from "../../domain/kms-constants.js";
import { KeyStatusState, type ManagedKey } from "../../domain/managed-key.js";
import type { LifecycleDeps } from "../ports.js";
import { loadKey } from "./operator-actions.js";

export interface KeyAdminRequest {
  /** A Tether id, a key ARN or an alias. */
  readonly key: string;
  readonly actor: string;
  readonly correlationId: string;
}

/** Policy fields to change; `null` removes an optional field (e.g. ends the rotation schedule). */
export type ImportPolicyPatch = { [K in keyof ImportPolicyInput]?: ImportPolicyInput[K] | null | undefined };

export interface ChangeKeyPolicyRequest extends KeyAdminRequest {
  /** Policy fields to change; the rest of the current policy stays. */
  readonly policy?: ImportPolicyPatch | undefined;
  /** true pauses automatic actions, false resumes them; absent leaves the status alone. */
  readonly paused?: boolean | undefined;
  /** Why; required with `paused`, recorded in the audit events. */
  readonly reason?: string | undefined;
}

export interface ChangeKeyPolicyResult {
  readonly key: ManagedKey;
  readonly policyChanged: boolean;
  readonly statusChanged: "paused" | "resumed" | undefined;
}

/** A concurrent writer makes the change read the key again this many times before giving up. */
const MAX_ATTEMPTS = 5;

/**
 * Changes a key's import policy and/or pauses or resumes it, with the store's version check (a concurrent
 * change makes it re-read and re-apply). The fields given replace the current ones; `validityPeriod` and
 * `validTo` replace each other, KEY_MATERIAL_DOES_NOT_EXPIRE drops the expiry settings, and a new validity
 * without `renewBefore` takes the default renew window for it (an old window may not fit the new validity).
 * A policy change makes every Region due now, so it takes effect at the next sweep. Asking for the status
 * the key already has is not a change (no event). Audited: Key Policy Changed, Key Paused, Key Resumed.
 * @throws NotFoundError; ValidationError naming the field; StateConflictError when pausing or resuming a
 *   revoked key; VersionConflictError after repeated concurrent changes
 */
export async function changeKeyPolicy(
  deps: LifecycleDeps,
  request: ChangeKeyPolicyRequest,
): Promise<ChangeKeyPolicyResult> {
  if (request.paused !== undefined && (request.reason === undefined || request.reason.trim() === "")) {
    throw new ValidationError("reason", "must say why the key is paused or resumed");
  }
  for (let attempt = 1; ; attempt++) {
    const current = await loadKey(deps, request.key);
    const now = deps.clock();
    let next = current;
    let policyChanged = false;
    if (request.policy !== undefined && Object.keys(request.policy).length > 0) {
      const before = toImportPolicyInput(current.policy);
      const policy = parseImportPolicy(mergePolicy(before, request.policy));
      if (!samePolicy(before, toImportPolicyInput(policy))) {
        next = changePolicy(next, policy, now);
        policyChanged = true;
      }
    }
    let statusChanged: ChangeKeyPolicyResult["statusChanged"];
    const statusRequest = { actor: request.actor, reason: request.reason ?? "" };
    if (request.paused === true && next.status.state !== KeyStatusState.Paused) {
      next = pauseKey(next, statusRequest, now);
      statusChanged = "paused";
    } else if (request.paused === false && next.status.state !== KeyStatusState.Active) {
      next = resumeKey(next, statusRequest, now);
      statusChanged = "resumed";
    }
    if (next === current) return { key: current, policyChanged, statusChanged };

    let saved: ManagedKey;
    try {
      saved = await deps.keys.saveKey(next);
    } catch (error) {
      if (error instanceof VersionConflictError && attempt < MAX_ATTEMPTS) continue;
      throw error;
    }
    const events: FactEvent[] = [];
    const context = () => ({
      id: deps.newId(),
      time: now,
      actor: request.actor,
      correlationId: request.correlationId,
    });
    const subject = {
      keyId: saved.id,
      keyArn: keyArnOf(saved),
      region: saved.primaryRegion,
      reason: request.reason,
    };
    if (policyChanged) events.push(buildFactEvent(AuditDetailType.KeyPolicyChanged, context(), subject));
    if (statusChanged === "paused")
      events.push(buildFactEvent(AuditDetailType.KeyPaused, context(), subject));
    if (statusChanged === "resumed") {
      events.push(buildFactEvent(AuditDetailType.KeyResumed, context(), subject));
    }
    // The new policy applies from the next run: the saved record alone would leave each Region's next check
    // where the old policy put it (up to a reconcile interval away). A crash before this line leaves that.
    if (policyChanged) await deps.keys.makeRegionsDue(saved.id, now);
    await deps.audit.record(...events);
    return { key: saved, policyChanged, statusChanged };
  }
}

export interface UnmanageKeyRequest extends KeyAdminRequest {
  readonly reason?: string | undefined;
}

/**
 * Stops managing a key: Tether forgets its records and claims (its history stays, under the Tether id).
 * The KMS key and its material are left exactly as they are. The "Key Unmanaged" event is written before the
 * records go, so a failure in between leaves the key managed with the event recorded — retrying finishes it.
 * @throws NotFoundError
 */
export async function unmanageKey(
  deps: LifecycleDeps,
  request: UnmanageKeyRequest,
): Promise<{ id: string; keyArn: string }> {
  const key = await loadKey(deps, request.key);
  const keyArn = keyArnOf(key);
  await removeManagedMark(deps, key);
  await deps.audit.record(
    buildFactEvent(
      AuditDetailType.KeyUnmanaged,
      { id: deps.newId(), time: deps.clock(), actor: request.actor, correlationId: request.correlationId },
      { keyId: key.id, keyArn, region: key.primaryRegion, reason: request.reason },
    ),
  );
  await deps.keys.remove(key.id);
  return { id: key.id, keyArn };
}

/**
 * Takes this deployment's `tether:managed-by` tag off the key in every Region, so its IAM policies no longer
 * reach it (lib/domain/deployment.ts). Before the record goes, so a failure is loud rather than a key left in
 * reach: a throttle leaves the key managed (perhaps without its mark in some Regions, which makes Tether's
 * writes there fail until the call is repeated, and repeating it finishes). A key KMS no longer knows, one
 * pending deletion (KMS refuses to untag it: KMSInvalidStateException), or one whose tag is gone or is another
 * deployment's, is left as it is.
 * https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html
 */
async function removeManagedMark(deps: LifecycleDeps, key: ManagedKey): Promise<void> {
  for (const region of key.regions) {
    try {
      const tags = await deps.kms.listTags(region.region, region.keyArn);
      if (ownershipOf(tags, deps.deployment).kind !== "ours") continue;
      await deps.kms.untagKey(region.region, region.keyArn, [MANAGED_BY_TAG_KEY]);
    } catch (error) {
      if (error instanceof KmsNotFoundError || error instanceof KmsInvalidStateError) continue;
      throw error;
    }
  }
}

/** The primary Region's key ARN. */
export function keyArnOf(key: ManagedKey): string {
  return (key.regions.find((r) => r.region === key.primaryRegion) ?? key.regions[0])?.keyArn ?? key.kmsKeyId;
}

const VALIDITY_FIELDS = ["validityPeriod", "validTo", "expirationModel"] as const;

/** The policy input a PATCH would leave: `patch` merged into `current` (dual control reads it ahead). */
export function mergePolicy(current: ImportPolicyInput, patch: ImportPolicyPatch): ImportPolicyInput {
  const merged: ImportPolicyInput = { ...current };
  if (patch.validityPeriod !== undefined) delete merged.validTo;
  if (patch.validTo !== undefined) delete merged.validityPeriod;
  const validityChanges = VALIDITY_FIELDS.some((f) => patch[f] !== undefined && patch[f] !== current[f]);
  if (validityChanges && patch.renewBefore === undefined) delete merged.renewBefore;
  if (patch.expirationModel === ExpirationModel.KEY_MATERIAL_DOES_NOT_EXPIRE) {
    delete merged.validityPeriod;
    delete merged.validTo;
    delete merged.renewBefore;
  }
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete (merged as Record<string, unknown>)[name];
    else if (value !== undefined) (merged as Record<string, unknown>)[name] = value;
  }
  return merged;
}

function samePolicy(a: ImportPolicyInput, b: ImportPolicyInput): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].every((k) => (a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k]);
}
