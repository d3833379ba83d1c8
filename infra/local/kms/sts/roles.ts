/**
 * The local IAM roles the local STS may hand out, each with its trust policy, evaluated on AssumeRole the
 * way IAM evaluates a role trust policy, for the subset Tether's templates use (anything else is refused
 * when the role is created, never silently ignored):
 * - statements with `Effect` Allow or Deny (an explicit Deny wins), `Action` sts:AssumeRole (or `sts:*`, `*`);
 * - `Principal.AWS`: an account id or `arn:aws:iam::<account>:root` (any principal of that account), a role
 *   ARN (its sessions), an IAM user ARN;
 * - `Condition` operators StringEquals, StringLike, ArnEquals, ArnLike over `sts:ExternalId`,
 *   `aws:PrincipalArn` (a session's is its role's ARN) and `aws:PrincipalAccount`. A condition key the
 *   request lacks (no ExternalId given) does not match, as IAM evaluates it.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn
 */

const ROLE_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):role\/(?:[\w+=,.@/-]*\/)?([\w+=,.@-]{1,64})$/;
const USER_ARN = /^arn:(aws[a-z-]*):iam::(\d{12}):user\/(?:.*\/)?([^/]+)$/;
const SESSION_ARN = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/([^/]+)$/;
const OPERATORS = ["StringEquals", "StringLike", "ArnEquals", "ArnLike"] as const;
const CONDITION_KEYS = ["sts:externalid", "aws:principalarn", "aws:principalaccount"];

export class RoleDefinitionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RoleDefinitionError";
  }
}

export interface RoleDefinition {
  /** arn:aws:iam::<account>:role/<name> */
  arn: string;
  /** The trust policy document (an object or its JSON). */
  trustPolicy: unknown;
  /** Seconds, 3600..43200 (default 3600, as IAM's). */
  maxSessionDurationSeconds?: number;
  /**
   * The role's permission policy (an IAM document or its JSON), or a list of them. With one, each call its
   * sessions make is evaluated against it (permissions.ts); without, its sessions may do anything in the
   * role's account, as before roles had policies.
   */
  permissionPolicy?: unknown;
}

interface Statement {
  effect: "Allow" | "Deny";
  actions: string[];
  principals: string[];
  conditions: Array<{ operator: (typeof OPERATORS)[number]; key: string; values: string[] }>;
}

export interface LocalRole {
  arn: string;
  accountId: string;
  name: string;
  maxSessionDurationSeconds: number;
  trustPolicy: unknown;
  statements: Statement[];
  /** The permission policy documents, as given (a list); absent: none evaluated. */
  permissionPolicies?: unknown[];
}

/** The caller as the trust policy sees it. */
export interface TrustCaller {
  /** The caller's ARN: an IAM user's or an assumed-role session's. */
  arn: string;
}

const strings = (v: unknown, what: string): string[] => {
  const list = Array.isArray(v) ? v : [v];
  if (list.length === 0 || !list.every((s) => typeof s === "string"))
    throw new RoleDefinitionError(`${what} must be a string or a list of strings`);
  return list as string[];
};

function parseStatement(raw: unknown, index: number): Statement {
  const s = raw as Record<string, unknown>;
  const where = `trustPolicy.Statement[${index}]`;
  if (s.Effect !== "Allow" && s.Effect !== "Deny")
    throw new RoleDefinitionError(`${where}.Effect must be Allow or Deny`);
  const principal = s.Principal as Record<string, unknown> | undefined;
  if (!principal || typeof principal !== "object" || principal.AWS === undefined)
    throw new RoleDefinitionError(
      `${where}.Principal must name AWS principals (the local STS knows no services)`,
    );
  const conditions: Statement["conditions"] = [];
  for (const [operator, block] of Object.entries((s.Condition ?? {}) as Record<string, unknown>)) {
    if (!OPERATORS.includes(operator as (typeof OPERATORS)[number]))
      throw new RoleDefinitionError(`${where}.Condition: operator ${operator} is not evaluated locally`);
    for (const [key, values] of Object.entries(block as Record<string, unknown>)) {
      if (!CONDITION_KEYS.includes(key.toLowerCase()))
        throw new RoleDefinitionError(`${where}.Condition: key ${key} is not evaluated locally`);
      conditions.push({
        operator: operator as Statement["conditions"][number]["operator"],
        key: key.toLowerCase(),
        values: strings(values, `${where}.Condition.${operator}.${key}`),
      });
    }
  }
  return {
    effect: s.Effect,
    actions: strings(s.Action, `${where}.Action`),
    principals: strings(principal.AWS, `${where}.Principal.AWS`),
    conditions,
  };
}

/** @throws RoleDefinitionError naming the bad field */
export function defineRole(definition: RoleDefinition): LocalRole {
  const match = ROLE_ARN.exec(String(definition.arn));
  if (!match) throw new RoleDefinitionError("arn must be arn:aws:iam::<account>:role/<name>");
  const max = definition.maxSessionDurationSeconds ?? 3600;
  if (!Number.isInteger(max) || max < 3600 || max > 43200)
    throw new RoleDefinitionError("maxSessionDurationSeconds must be an integer from 3600 to 43200");
  let policy = definition.trustPolicy;
  if (typeof policy === "string") {
    try {
      policy = JSON.parse(policy);
    } catch {
      throw new RoleDefinitionError("trustPolicy is not valid JSON");
    }
  }
  const raw = (policy as { Statement?: unknown } | null)?.Statement;
  if (raw === undefined) throw new RoleDefinitionError("trustPolicy.Statement is required");
  const statements = (Array.isArray(raw) ? raw : [raw]).map(parseStatement);
  const permissions = definition.permissionPolicy;
  if (
    permissions !== undefined &&
    (permissions === null || !["object", "string"].includes(typeof permissions))
  )
    throw new RoleDefinitionError("permissionPolicy must be an IAM policy document or a list of them");
  if (Array.isArray(permissions) && permissions.length === 0)
    throw new RoleDefinitionError("permissionPolicy must list at least one policy");
  return {
    arn: definition.arn,
    accountId: match[2] as string,
    name: match[3] as string,
    maxSessionDurationSeconds: max,
    trustPolicy: policy,
    statements,
    ...(permissions === undefined
      ? {}
      : { permissionPolicies: Array.isArray(permissions) ? [...permissions] : [permissions] }),
  };
}

/** The caller's account, principal ARN (a session's role) and whether it is a role session. */
export function principalOf(callerArn: string): {
  accountId: string;
  principalArn: string;
  roleSession: boolean;
} {
  const session = SESSION_ARN.exec(callerArn);
  if (session) {
    const [, partition, accountId, role] = session as unknown as [string, string, string, string];
    return { accountId, principalArn: `arn:${partition}:iam::${accountId}:role/${role}`, roleSession: true };
  }
  const user = USER_ARN.exec(callerArn);
  return { accountId: user?.[2] ?? "", principalArn: callerArn, roleSession: false };
}

function principalMatches(entry: string, caller: ReturnType<typeof principalOf>): boolean {
  if (entry === "*") return true;
  if (/^\d{12}$/.test(entry)) return entry === caller.accountId;
  const root = /^arn:aws[a-z-]*:iam::(\d{12}):root$/.exec(entry);
  if (root) return root[1] === caller.accountId;
  const role = ROLE_ARN.exec(entry);
  if (role) return `arn:${role[1]}:iam::${role[2]}:role/${role[3]}` === caller.principalArn;
  return entry === caller.principalArn;
}

/** IAM's wildcard match (`*` any run, `?` one character), case-sensitive. */
function like(pattern: string, value: string): boolean {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${source}$`).test(value);
}

function conditionHolds(
  condition: Statement["conditions"][number],
  context: Record<string, string | undefined>,
): boolean {
  const value = context[condition.key];
  if (value === undefined) return false;
  const exact = condition.operator === "StringEquals" || condition.operator === "ArnEquals";
  return condition.values.some((v) => (exact ? v === value : like(v, value)));
}

/** Whether the role's trust policy lets `caller` AssumeRole with `externalId`. */
export function trustAllows(role: LocalRole, caller: TrustCaller, externalId: string | undefined): boolean {
  const principal = principalOf(caller.arn);
  const context = {
    "sts:externalid": externalId,
    "aws:principalarn": principal.principalArn,
    "aws:principalaccount": principal.accountId,
  };
  const applies = (s: Statement) =>
    s.actions.some((a) => a === "*" || a === "sts:*" || a === "sts:AssumeRole") &&
    s.principals.some((p) => principalMatches(p, principal)) &&
    s.conditions.every((c) => conditionHolds(c, context));
  const matching = role.statements.filter(applies);
  return matching.some((s) => s.effect === "Allow") && !matching.some((s) => s.effect === "Deny");
}
