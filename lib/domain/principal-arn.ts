/**
 * Principal lists (who may administer, who may read, which principals are Tether itself) as IAM ARNs,
 * parsed, never globbed: a glob such as `assumed-role/KeyAdmins*` also admits `KeyAdminsReadOnly`, and an
 * entry that names a role (`role/KeyAdmins`) matched nothing, since callers arrive as sessions of it.
 *
 * An entry is one of:
 * - an IAM role, `arn:<partition>:iam::<account>:role/[<path>/]<name>`: any session of that role, that is
 *   `arn:<partition>:sts::<account>:assumed-role/<name>/<session>`. An assumed-role ARN has no path, and a
 *   role name is unique in its account whatever its path
 *   (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns);
 * - an assumed-role session, `arn:<partition>:sts::<account>:assumed-role/<name>/<session>`, or
 *   `…/<name>/*` for any session (the only wildcard there is);
 * - an IAM user, `arn:<partition>:iam::<account>:user/[<path>/]<name>`, matched exactly.
 *
 * Anything else — `*` alone, a wildcard in the partition, account, path or name, the root user, a
 * federated user, a malformed ARN — is refused, so a list cannot admit more than it says.
 */

/** One parsed entry of a principal list. */
export type PrincipalEntry =
  | { readonly kind: "role"; readonly partition: string; readonly account: string; readonly roleName: string }
  | {
      readonly kind: "assumed-role";
      readonly partition: string;
      readonly account: string;
      readonly roleName: string;
      /** `undefined`: any session (`/*`). */
      readonly session: string | undefined;
    }
  | { readonly kind: "user"; readonly arn: string };

/** Why an entry was refused (a sentence to follow the entry in an error message). */
export class PrincipalEntryError extends Error {
  constructor(
    readonly entry: string,
    reason: string,
  ) {
    super(reason);
    this.name = "PrincipalEntryError";
  }
}

const PARTITION = /^aws(-[a-z]+)*$/;
const ACCOUNT = /^\d{12}$/;
// IAM's own character sets: https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html
// (RoleName, Path), API_CreateUser (UserName), and STS's RoleSessionName (API_AssumeRole).
const NAME = /^[\w+=,.@-]{1,64}$/;
const SESSION = /^[\w+=,.@-]{2,64}$/;
const PATH_SEGMENT = /^[\x21-\x7e]+$/;
const WILDCARD = /[*?]/;

const SHAPES =
  "expected arn:<partition>:iam::<account>:role/<name>, arn:<partition>:sts::<account>:assumed-role/<name>/<session or *>, or arn:<partition>:iam::<account>:user/<name>";

/**
 * Parses one entry of a principal list.
 * @throws PrincipalEntryError saying what is wrong with it
 */
export function parsePrincipalEntry(entry: string): PrincipalEntry {
  if (entry === "*") throw new PrincipalEntryError(entry, "a lone * would admit every principal");
  const parts = entry.split(":");
  if (parts.length !== 6 || parts[0] !== "arn")
    throw new PrincipalEntryError(entry, `not an ARN (${SHAPES})`);
  const [, partition = "", service = "", region = "", account = "", resource = ""] = parts;
  if (WILDCARD.test(partition) || WILDCARD.test(account) || WILDCARD.test(service)) {
    throw new PrincipalEntryError(
      entry,
      "wildcards are not allowed in the partition, service or account; name the account",
    );
  }
  if (!PARTITION.test(partition))
    throw new PrincipalEntryError(entry, `"${partition}" is not an AWS partition`);
  if (region !== "") throw new PrincipalEntryError(entry, "IAM and STS principal ARNs have no Region");
  if (!ACCOUNT.test(account)) throw new PrincipalEntryError(entry, "the account must be 12 digits");
  const slash = resource.indexOf("/");
  const type = slash < 0 ? resource : resource.slice(0, slash);
  const rest = slash < 0 ? "" : resource.slice(slash + 1);
  if (service === "iam" && (type === "role" || type === "user")) {
    const segments = rest.split("/");
    const name = segments.pop() ?? "";
    if (WILDCARD.test(rest)) {
      throw new PrincipalEntryError(
        entry,
        `wildcards are not allowed in a ${type} ARN's name or path (only as the whole session of an assumed-role ARN)`,
      );
    }
    if (!NAME.test(name)) throw new PrincipalEntryError(entry, `"${name}" is not an IAM ${type} name`);
    if (!segments.every((s) => PATH_SEGMENT.test(s))) {
      throw new PrincipalEntryError(entry, `the ${type} ARN's path is malformed`);
    }
    return type === "role"
      ? { kind: "role", partition, account, roleName: name }
      : { kind: "user", arn: entry };
  }
  if (service === "sts" && type === "assumed-role") {
    const [roleName = "", session = "", ...extra] = rest.split("/");
    if (extra.length > 0)
      throw new PrincipalEntryError(entry, "an assumed-role ARN is assumed-role/<role>/<session>");
    if (WILDCARD.test(roleName) || (session !== "*" && WILDCARD.test(session))) {
      throw new PrincipalEntryError(
        entry,
        "a wildcard is allowed only as the whole session part (assumed-role/<role>/*); name the role exactly",
      );
    }
    if (!NAME.test(roleName)) throw new PrincipalEntryError(entry, `"${roleName}" is not an IAM role name`);
    if (session !== "*" && !SESSION.test(session)) {
      throw new PrincipalEntryError(entry, `"${session}" is not a role session name (or * for any session)`);
    }
    return {
      kind: "assumed-role",
      partition,
      account,
      roleName,
      session: session === "*" ? undefined : session,
    };
  }
  if (service === "iam" && type === "root") {
    throw new PrincipalEntryError(entry, "the account's root user may not be listed; name a role or a user");
  }
  throw new PrincipalEntryError(entry, `not a role, assumed-role or user ARN (${SHAPES})`);
}

/** `arn:<partition>:sts::<account>:assumed-role/<role>/<session>` as API Gateway and CloudTrail give it. */
const ASSUMED_ROLE_CALLER =
  /^arn:([a-z-]+):sts::(\d{12}):assumed-role\/([\w+=,.@-]{1,64})\/([\w+=,.@-]{2,64})$/;

/** Whether a caller's principal ARN is admitted by one entry. */
export function principalMatches(entry: PrincipalEntry, callerArn: string): boolean {
  if (entry.kind === "user") return callerArn === entry.arn;
  const caller = ASSUMED_ROLE_CALLER.exec(callerArn);
  if (caller === null) return false;
  const [, partition, account, roleName, session] = caller;
  if (partition !== entry.partition || account !== entry.account || roleName !== entry.roleName) return false;
  return entry.kind === "role" || entry.session === undefined || entry.session === session;
}

/**
 * A comma-separated list of entries → a test on a caller's ARN (an empty list admits nobody), or every
 * refused entry.
 */
export function parsePrincipalList(
  list: string,
):
  | { readonly matches: (callerArn: string) => boolean }
  | { readonly refused: readonly PrincipalEntryError[] } {
  const entries: PrincipalEntry[] = [];
  const refused: PrincipalEntryError[] = [];
  for (const text of list.split(",").map((p) => p.trim())) {
    if (text === "") continue;
    try {
      entries.push(parsePrincipalEntry(text));
    } catch (error) {
      if (!(error instanceof PrincipalEntryError)) throw error;
      refused.push(error);
    }
  }
  if (refused.length > 0) return { refused };
  return {
    matches: (callerArn) =>
      typeof callerArn === "string" && entries.some((e) => principalMatches(e, callerArn)),
  };
}
