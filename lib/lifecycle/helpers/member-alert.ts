/**
 * One alert per member account the hub cannot act in (README, "Member accounts"): every key of that member
 * fails with the same MemberAccessError, so the alert names the member, not each key, and is raised at most
 * once per MEMBER_ALERT_QUIET_MS by all functions together (the registry's conditional write decides who).
 */
import { AuditDetailType, buildAlertEvent } from "../../domain/audit-types.js";
import {
  MEMBER_ALERT_QUIET_MS,
  type MemberAccessError,
  memberAccessFinding,
} from "../../domain/member-account.js";
import type { LifecycleDeps } from "../ports.js";

/**
 * Raises the member's alert unless it was raised within the quiet period; the account's history keeps it
 * (under the account id, as Member Account Added does).
 * @returns whether this call raised it
 */
export async function alertMemberAccess(
  deps: LifecycleDeps,
  error: MemberAccessError,
  by: { readonly actor: string; readonly correlationId: string },
): Promise<boolean> {
  const now = deps.clock();
  const first =
    deps.accounts?.noteAccessFailure === undefined
      ? true
      : await deps.accounts.noteAccessFailure(error.accountId, error.code, now, MEMBER_ALERT_QUIET_MS);
  if (!first) return false;
  deps.log?.("error", "cannot act in a member account", { account: error.accountId, code: error.code });
  await deps.audit.record(
    buildAlertEvent(
      AuditDetailType.TetherAlert,
      { id: deps.newId(), time: now, actor: by.actor, correlationId: by.correlationId },
      { keyId: error.accountId, reason: error.code },
      memberAccessFinding(error),
    ),
  );
  return true;
}
