/**
 * Registering member accounts (README, "Member accounts"): add (checked first: the member role is assumed with its external
 * id, then the probe key described or the keys listed, and what is missing reported), list, show, remove.
 * Nothing is written when the input is invalid; a member whose check fails is still registered (the check says
 * what to fix) unless the caller asks for `requireCheck`.
 */

import { AuditDetailType, buildFactEvent } from "../../domain/audit-types.js";
import { NotFoundError, StateConflictError, ValidationError } from "../../domain/errors.js";
import {
  type AccountCheck,
  type MemberAccount,
  type MemberAccountInput,
  missingFromCheck,
  parseAccountId,
  parseMemberAccountInput,
} from "../../domain/member-account.js";
import type { AccountRegistry, MemberAccess } from "../account-ports.js";
import type { AuditRecorder } from "../ports.js";

export interface AccountDeps {
  readonly accounts?: AccountRegistry | undefined;
  readonly memberAccess?: MemberAccess | undefined;
  readonly clock: () => Date;
  readonly audit: AuditRecorder;
  readonly newId: () => string;
  /** The Regions Tether acts in; the check's ListKeys runs in the first. */
  readonly allowedRegions?: readonly string[] | undefined;
}

function registryOf(deps: AccountDeps): AccountRegistry {
  if (deps.accounts === undefined) throw new NotFoundError("Member accounts", "(not enabled here)");
  return deps.accounts;
}

/** The check on add: assume, then DescribeKey (the probe's Region) or ListKeys (the home Region). */
export async function checkMemberAccount(
  deps: AccountDeps,
  input: MemberAccountInput & { accountId: string },
): Promise<AccountCheck> {
  const checkedAt = deps.clock().toISOString();
  if (deps.memberAccess === undefined) {
    return { checkedAt, assumeRole: { ok: false, code: "NotChecked", message: "no STS here" }, missing: [] };
  }
  const probeRegion = input.probeKeyArn?.split(":")[3];
  const steps = await deps.memberAccess.check(input, {
    keyArn: input.probeKeyArn,
    region: probeRegion ?? deps.allowedRegions?.[0],
  });
  return { checkedAt, ...steps, missing: missingFromCheck(steps, input.probeKeyArn) };
}

/**
 * @throws ValidationError naming the bad field; StateConflictError (409, roleArn) when the account is registered
 *   already, or (requireCheck) when the check found something missing
 */
export async function addMemberAccount(
  deps: AccountDeps,
  raw: MemberAccountInput & { requireCheck?: boolean | undefined },
  actor: string,
  correlationId: string,
): Promise<MemberAccount> {
  const registry = registryOf(deps);
  const input = parseMemberAccountInput(raw);
  if ((await registry.get(input.accountId)) !== undefined) {
    throw new StateConflictError(`Account ${input.accountId} is registered already; remove it first.`, {
      keyId: input.accountId,
      state: "registered",
      field: "roleArn",
    });
  }
  const check = await checkMemberAccount(deps, input);
  if (raw.requireCheck === true && (check.missing.length > 0 || !check.assumeRole.ok)) {
    throw new ValidationError(
      "roleArn",
      `the check on add failed: ${check.missing.join("; ") || "the member role was not checked"}`,
    );
  }
  const account: MemberAccount = {
    accountId: input.accountId,
    roleArn: input.roleArn,
    externalId: input.externalId,
    ...(input.name === undefined ? {} : { name: input.name }),
    addedAt: deps.clock().toISOString(),
    addedBy: actor,
    check,
  };
  await registry.add(account);
  await recordAccountEvent(deps, AuditDetailType.MemberAccountAdded, account.accountId, actor, correlationId);
  return account;
}

export async function listMemberAccounts(deps: AccountDeps): Promise<MemberAccount[]> {
  return registryOf(deps).list();
}

/** @throws NotFoundError (404) for an account that is not registered */
export async function showMemberAccount(deps: AccountDeps, accountId: string): Promise<MemberAccount> {
  const account = await registryOf(deps).get(parseAccountId(accountId));
  if (account === undefined) throw new NotFoundError("Account", accountId);
  return account;
}

/** @throws NotFoundError (404) for an account that is not registered */
export async function removeMemberAccount(
  deps: AccountDeps,
  accountId: string,
  actor: string,
  correlationId: string,
): Promise<void> {
  if (!(await registryOf(deps).remove(parseAccountId(accountId))))
    throw new NotFoundError("Account", accountId);
  await recordAccountEvent(deps, AuditDetailType.MemberAccountRemoved, accountId, actor, correlationId);
}

/** An account's audit event: its history is under the account id (the store's SYSTEM# partition). */
async function recordAccountEvent(
  deps: AccountDeps,
  detailType: typeof AuditDetailType.MemberAccountAdded | typeof AuditDetailType.MemberAccountRemoved,
  accountId: string,
  actor: string,
  correlationId: string,
): Promise<void> {
  await deps.audit.record(
    buildFactEvent(
      detailType,
      { id: deps.newId(), time: deps.clock(), actor, correlationId },
      { keyId: accountId },
    ),
  );
}
