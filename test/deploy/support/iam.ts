import type { CfnResource, CfnTemplate } from "./packaged-service.js";

/** One IAM policy statement as the template has it (Action/Resource as string or list, intrinsics kept). */
export interface Statement {
  readonly Sid?: string;
  readonly Effect: "Allow" | "Deny";
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** Every statement of a role's inline policies. */
export function roleStatements(role: CfnResource): Statement[] {
  const policies = (role.Properties?.Policies ?? []) as Array<{ PolicyDocument: { Statement: Statement[] } }>;
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

export function actions(statement: Statement): string[] {
  return ([] as string[]).concat(statement.Action);
}

export function resources(statement: Statement): unknown[] {
  return ([] as unknown[]).concat(statement.Resource);
}

/** The logical id of the role a function resource uses (`Role: {Fn::GetAtt: [id, Arn]}`). */
export function roleIdOf(fn: CfnResource): string {
  const role = fn.Properties?.Role as { "Fn::GetAtt"?: [string, string] } | undefined;
  const id = role?.["Fn::GetAtt"]?.[0];
  if (id === undefined) throw new Error(`function has no role reference: ${JSON.stringify(role)}`);
  return id;
}

/** Read-only KMS actions: everything else Tether could call is a write. */
const KMS_READ_ACTIONS = new Set([
  "kms:DescribeKey",
  "kms:ListResourceTags",
  "kms:ListKeyRotations",
  "kms:ListAliases",
  "kms:GetKeyPolicy",
]);

export function isKmsWrite(action: string): boolean {
  return action.startsWith("kms:") && !KMS_READ_ACTIONS.has(action);
}

/** A resource that names no particular thing: "*" or an ARN ending in a bare wildcard over a whole service. */
export function isWildcardResource(resource: unknown): boolean {
  return resource === "*";
}

/** The conditions of a statement flattened to `operator:key → value` pairs. */
export function conditionValue(statement: Statement, operator: string, key: string): unknown {
  return statement.Condition?.[operator]?.[key];
}

/** The Lambda functions and their roles. */
export function rolesByFunction(
  template: CfnTemplate,
  functions: Map<string, CfnResource>,
): Map<string, { id: string; role: CfnResource }> {
  const result = new Map<string, { id: string; role: CfnResource }>();
  for (const [name, fn] of functions) {
    const id = roleIdOf(fn);
    const role = template.Resources[id];
    if (role === undefined) throw new Error(`${name}: role ${id} is not in the template`);
    result.set(name, { id, role });
  }
  return result;
}
