/**
 * Member accounts of a hub deployment (README, "Member accounts"): the accounts whose KMS keys the hub reaches by assuming a
 * member role (infra/member-account.yml) with an external id. Pure rules: what a registration must carry,
 * the session a function opens in a member, when cached credentials must be refreshed, and what a check on
 * add found missing. No SDK, no clock (callers pass `now`).
 */
import { type AlertFinding, AlertReason, AlertSeverity } from "./alerts.js";
import { TetherError, ValidationError } from "./errors.js";

/** A member account as the registry keeps it. */
export interface MemberAccount {
  /** The 12-digit account id, from the role ARN. */
  readonly accountId: string;
  /** arn:aws:iam::<accountId>:role/<name>: the member role the hub assumes. */
  readonly roleArn: string;
  /**
   * The external id the member role's trust requires. Not a secret: it keeps another customer of the hub
   * from pointing it at this member (the confused deputy), it is not a password.
   */
  readonly externalId: string;
  /** An operator's label ("payments-prod"). */
  readonly name?: string | undefined;
  /** When and by whom it was registered (ISO 8601; a principal ARN). */
  readonly addedAt: string;
  readonly addedBy: string;
  /** The check made on add. */
  readonly check: AccountCheck;
}

/** What `tether accounts add` / `POST /accounts` gives. */
export interface MemberAccountInput {
  readonly roleArn: string;
  readonly externalId: string;
  readonly name?: string | undefined;
  /** A key ARN in the member account to DescribeKey on add; without it the check lists keys instead. */
  readonly probeKeyArn?: string | undefined;
}

/** The functions that act in member accounts; each opens sessions of its own. */
export type MemberActor = "api" | "sweep" | "kms-events";

/** The outcome of one step of the check on add. */
export type CheckStep =
  | { readonly ok: true; readonly detail?: string | undefined }
  | { readonly ok: false; readonly code: string; readonly message: string };

/** What the check on add found (every step; `missing` says in words what the member lacks). */
export interface AccountCheck {
  readonly checkedAt: string;
  readonly assumeRole: CheckStep;
  /** DescribeKey of the probe key, or ListKeys without one; absent when the role could not be assumed. */
  readonly kms?: CheckStep | undefined;
  readonly missing: readonly string[];
}

const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:[\w+=,.@/-]*\/)?[\w+=,.@-]{1,64}$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z]{2}(?:-[a-z]+)+-\d:(\d{12}):key\/[\w-]+$/;
const NAME = /^[\w .@+=,:/-]{1,64}$/;
const ACCOUNT_ID = /^\d{12}$/;

/** Role sessions are at most an hour when a role assumes another (role chaining), as Lambda's roles do. */
export const MEMBER_SESSION_SECONDS = 3600;
/** Cached member credentials are renewed this long before they expire. */
export const MEMBER_REFRESH_MARGIN_MS = 5 * 60_000;

/**
 * @throws ValidationError naming the field: roleArn (an IAM role ARN), externalId (2..1224 characters of
 *   [\w+=,.@:/-], STS's rule), name, probeKeyArn (a key ARN in the role's account)
 */
export function parseMemberAccountInput(raw: MemberAccountInput): MemberAccountInput & { accountId: string } {
  const role = ROLE_ARN.exec(raw.roleArn);
  if (!role)
    throw new ValidationError("roleArn", "must be an IAM role ARN, arn:aws:iam::<account>:role/<name>");
  const accountId = role[1] as string;
  if (!EXTERNAL_ID.test(raw.externalId)) {
    throw new ValidationError("externalId", "must be 2 to 1224 characters of letters, digits and +=,.@:/-_");
  }
  if (raw.name !== undefined && !NAME.test(raw.name)) {
    throw new ValidationError("name", "must be 1 to 64 letters, digits, spaces or .@+=,:/-_");
  }
  if (raw.probeKeyArn !== undefined) {
    const key = KEY_ARN.exec(raw.probeKeyArn);
    if (!key)
      throw new ValidationError(
        "probeKeyArn",
        "must be a KMS key ARN, arn:aws:kms:<region>:<account>:key/<id>",
      );
    if (key[1] !== accountId) {
      throw new ValidationError(
        "probeKeyArn",
        `must be a key of the member account ${accountId}, not of ${key[1]}`,
      );
    }
  }
  return { ...raw, accountId };
}

/** @throws ValidationError naming `field` unless `value` is a 12-digit account id */
export function parseAccountId(value: string, field = "accountId"): string {
  if (!ACCOUNT_ID.test(value)) throw new ValidationError(field, "must be a 12-digit AWS account id");
  return value;
}

/**
 * The role session name a function uses in a member, so the member's CloudTrail says which of the hub's
 * functions acted: `tether-<function>` (STS allows 2..64 of [\w+=,.@-]).
 */
export function memberSessionName(actor: MemberActor): string {
  return `tether-${actor}`;
}

const SESSION_ARN = /^arn:aws[a-z-]*:sts::(\d{12}):assumed-role\/([^/]+)\/([^/]+)$/;
const ACTORS: readonly MemberActor[] = ["api", "sweep", "kms-events"];

/**
 * Whether `principalArn` (a CloudTrail record's caller) is one of the hub's functions acting in `member`: a
 * session of its member role named by memberSessionName. A member's CloudTrail names the member role's
 * session, not the hub's role, so TETHER_SELF_PRINCIPALS cannot recognise Tether's own calls there.
 */
export function isMemberSession(
  principalArn: string,
  member: Pick<MemberAccount, "accountId" | "roleArn">,
): boolean {
  const session = SESSION_ARN.exec(principalArn);
  if (session === null || session[1] !== member.accountId) return false;
  const roleName = member.roleArn.slice(member.roleArn.lastIndexOf("/") + 1);
  return session[2] === roleName && ACTORS.some((actor) => session[3] === memberSessionName(actor));
}

/** Whether cached credentials expiring at `expiration` must be renewed at `now`. */
export function credentialsNeedRefresh(
  expiration: Date | undefined,
  now: Date,
  marginMs = MEMBER_REFRESH_MARGIN_MS,
): boolean {
  return expiration === undefined || expiration.getTime() - marginMs <= now.getTime();
}

/** What a check's failed steps mean for the operator, in words (empty: nothing missing). */
export function missingFromCheck(
  check: Pick<AccountCheck, "assumeRole" | "kms">,
  probeKeyArn?: string,
): string[] {
  if (!check.assumeRole.ok) {
    return [
      `sts:AssumeRole on the member role refused (${check.assumeRole.code}): deploy infra/member-account.yml in the ` +
        "member account with this hub's role prefix and this external id, or check both",
    ];
  }
  if (check.kms === undefined || check.kms.ok) return [];
  const what = probeKeyArn === undefined ? "kms:ListKeys" : `kms:DescribeKey on ${probeKeyArn}`;
  return [
    `${what} refused (${check.kms.code}): the member role lacks the template's KMS rights in this Region`,
  ];
}

/** A member whose access fails is alerted at most once in this long (one alert per member, not per key). */
export const MEMBER_ALERT_QUIET_MS = 60 * 60_000;

/**
 * The one alert for a member the hub cannot act in, naming the member and STS's code. Throttling of STS is a
 * warning (it passes); a refusal (AccessDenied: the role missing, the trust or external id changed) is
 * critical: nothing in the member is renewed or restored until someone fixes it.
 */
export function memberAccessFinding(error: MemberAccessError): AlertFinding {
  const throttled = /thrott|limitexceeded|requestlimit/i.test(error.code);
  return {
    severity: throttled ? AlertSeverity.Warning : AlertSeverity.Critical,
    reason: AlertReason.MemberAccessFailing,
    summary:
      `Member account ${error.accountId}: the hub cannot assume its member role (${error.code}); ` +
      "its keys are not renewed or restored until it can, and are retried; other accounts are not affected" +
      (throttled ? "" : ". Check the member role (infra/member-account.yml), its trust and the external id"),
  };
}

/** A member role that could not be assumed (missing, trust changed, external id wrong): names the member. */
export class MemberAccessError extends TetherError {
  readonly accountId: string;
  /** STS's error code (AccessDenied, ...). */
  readonly code: string;

  constructor(context: { accountId: string; code: string }, options?: ErrorOptions) {
    super(`Cannot assume the member role of account ${context.accountId} (${context.code}).`, options);
    this.name = "MemberAccessError";
    this.accountId = context.accountId;
    this.code = context.code;
  }
}

/**
 * A key of an account that is neither the deployment's own nor a registered member: Tether has no way in (no
 * credentials of its own there, no member role to assume), so nothing is sent to KMS. A ValidationError of
 * `keyArn`, so the API answers 400 naming it.
 */
export class AccountNotRegisteredError extends ValidationError {
  readonly accountId: string;

  constructor(context: { accountId: string; hubAccountId: string }, options?: ErrorOptions) {
    super(
      "keyArn",
      `names account ${context.accountId}, which is neither this deployment's account (${context.hubAccountId}) ` +
        "nor a registered member account: register it first (tether accounts add, POST /accounts)",
      options,
    );
    this.name = "AccountNotRegisteredError";
    this.accountId = context.accountId;
  }
}
