/**
 * Who called: the emulator takes any credentials, so CloudTrail's `userIdentity` comes from the
 * access key id of the SigV4 credential scope, looked up in a table of known callers (an IAM user or
 * an assumed role). A key nobody registered is recorded as the IAM user named after it.
 *
 * Shapes as CloudTrail writes them:
 * https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-user-identity.html
 */

/** A caller the emulator knows by access key id: an IAM user or an assumed-role session. */
export interface CallerIdentity {
  readonly accessKeyId: string;
  /** `arn:aws:iam::<account>:user/<name>` or `arn:aws:sts::<account>:assumed-role/<role>/<session>`. */
  readonly arn: string;
}

const USER_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):user\/(?:.*\/)?([^/]+)$/;
const ASSUMED_ROLE_ARN = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/([^/]+)$/;

/** Thrown for an identity the emulator cannot represent. */
export class CallerIdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CallerIdentityError";
  }
}

/**
 * @throws CallerIdentityError when the ARN is neither an IAM user nor an assumed-role session, or the
 *   access key id is empty
 */
export function checkCallerIdentity(identity: CallerIdentity): CallerIdentity {
  if (typeof identity.accessKeyId !== "string" || identity.accessKeyId.length === 0) {
    throw new CallerIdentityError("accessKeyId must be a non-empty string");
  }
  if (
    typeof identity.arn !== "string" ||
    !(USER_ARN.test(identity.arn) || ASSUMED_ROLE_ARN.test(identity.arn))
  ) {
    throw new CallerIdentityError(
      "arn must be an IAM user (arn:aws:iam::<account>:user/<name>) or an assumed-role session " +
        "(arn:aws:sts::<account>:assumed-role/<role>/<session>)",
    );
  }
  return { accessKeyId: identity.accessKeyId, arn: identity.arn };
}

/** A stable, AWS-looking unique id (`AIDA…` for users, `AROA…` for roles) derived from a name. */
function uniqueId(prefix: "AIDA" | "AROA", name: string): string {
  let hash = 0x811c9dc5;
  let out = "";
  for (let round = 0; out.length < 17; round++) {
    for (const ch of `${round}:${name}`) hash = Math.imul(hash ^ ch.charCodeAt(0), 0x01000193) >>> 0;
    out += hash.toString(36).toUpperCase();
  }
  return `${prefix}${out.replace(/[^A-Z0-9]/g, "").slice(0, 17)}`;
}

/** CloudTrail's `userIdentity` for a caller. */
export function userIdentity(identity: CallerIdentity, sessionIssued?: string): Record<string, unknown> {
  const user = USER_ARN.exec(identity.arn);
  if (user) {
    const [, , accountId, userName] = user as unknown as [string, string, string, string];
    return {
      type: "IAMUser",
      principalId: uniqueId("AIDA", identity.arn),
      arn: identity.arn,
      accountId,
      accessKeyId: identity.accessKeyId,
      userName,
    };
  }
  const role = ASSUMED_ROLE_ARN.exec(identity.arn);
  if (!role) throw new CallerIdentityError(`cannot represent ${identity.arn}`);
  const [, partition, accountId, roleName, session] = role as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  const roleId = uniqueId("AROA", `arn:${partition}:iam::${accountId}:role/${roleName}`);
  return {
    type: "AssumedRole",
    principalId: `${roleId}:${session}`,
    arn: identity.arn,
    accountId,
    accessKeyId: identity.accessKeyId,
    sessionContext: {
      sessionIssuer: {
        type: "Role",
        principalId: roleId,
        arn: `arn:${partition}:iam::${accountId}:role/${roleName}`,
        accountId,
        userName: roleName,
      },
      attributes: { creationDate: sessionIssued ?? new Date(0).toISOString(), mfaAuthenticated: "false" },
    },
  };
}

/** The `Username` LookupEvents shows: the IAM user's name, or the role session's name. */
export function lookupUsername(identity: CallerIdentity): string {
  const user = USER_ARN.exec(identity.arn);
  if (user) return user[3] as string;
  return (ASSUMED_ROLE_ARN.exec(identity.arn)?.[4] as string | undefined) ?? identity.accessKeyId;
}

/** The table of known callers; unknown access keys become IAM users named after the key. */
export class CallerIdentities {
  private readonly byKey = new Map<string, CallerIdentity>();

  constructor(
    private readonly accountId: string,
    initial: readonly CallerIdentity[] = [],
  ) {
    for (const identity of initial) this.register(identity);
  }

  /** @throws CallerIdentityError for an identity the emulator cannot represent */
  register(identity: CallerIdentity): void {
    const checked = checkCallerIdentity(identity);
    this.byKey.set(checked.accessKeyId, checked);
  }

  resolve(accessKeyId: string): CallerIdentity {
    return (
      this.byKey.get(accessKeyId) ?? {
        accessKeyId,
        arn: `arn:aws:iam::${this.accountId}:user/${accessKeyId.replace(/[^\w+=,.@-]/g, "_")}`,
      }
    );
  }

  list(): CallerIdentity[] {
    return [...this.byKey.values()];
  }
}
