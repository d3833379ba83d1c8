/**
 * Evaluates the CloudFormation intrinsics of an IAM policy document as CloudFormation would for a stack in
 * a given account and Region: Ref and Fn::GetAtt of the template's resources become the ARNs those resources
 * would have, Fn::Sub, Fn::Join, Fn::Split and Fn::If (with the template's default parameters) are computed,
 * and AWS::NoValue drops the property. What comes out is a plain policy an IAM simulator evaluates. Anything
 * it does not know is refused, rather than guessed.
 *
 * Shared by the deploy tests (test/deploy/support/resolve-policy.ts) and the local STS, which puts the member
 * template's own role policy on the local member roles (member-role.ts).
 */

/** The part of a CloudFormation template the resolver reads. */
export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Parameters?: Record<string, { Default?: unknown }>;
  readonly Conditions?: Record<string, unknown>;
  readonly Outputs?: Record<string, unknown>;
}
export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Condition?: string;
  readonly DependsOn?: unknown;
}

/** Where the stack is: what AWS::AccountId, AWS::Region and the ARNs of its resources say. */
export interface StackPlace {
  readonly accountId: string;
  readonly region: string;
}

interface Scope extends StackPlace {
  readonly template: CfnTemplate;
}

export function resolvePolicy(template: CfnTemplate, value: unknown, place: StackPlace): unknown {
  return resolve({ template, ...place }, value, "policy");
}

const NO_VALUE = Symbol("AWS::NoValue");

function resolve(template: Scope, value: unknown, where: string): unknown {
  if (Array.isArray(value)) {
    return value.map((v, i) => resolve(template, v, `${where}[${i}]`)).filter((v) => v !== NO_VALUE);
  }
  if (value === null || typeof value !== "object") return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1) {
    const [fn] = keys as [string];
    const arg = record[fn];
    switch (fn) {
      case "Ref":
        return ref(template, String(arg), where);
      case "Fn::GetAtt": {
        const [id, attribute] = (Array.isArray(arg) ? arg : String(arg).split(".")) as [string, string];
        return getAtt(template, id, attribute, where);
      }
      case "Fn::Sub": {
        const [text, variables] = Array.isArray(arg)
          ? (arg as [string, Record<string, unknown>])
          : [String(arg), {}];
        return text.replace(/\$\{([^}]+)\}/g, (_m, name: string) => {
          if (name in variables) return String(resolve(template, variables[name], where));
          const dot = name.indexOf(".");
          if (dot > 0 && !name.startsWith("AWS::")) {
            return String(getAtt(template, name.slice(0, dot), name.slice(dot + 1), where));
          }
          return String(ref(template, name, where));
        });
      }
      case "Fn::Join": {
        const [separator, parts] = arg as [string, unknown[]];
        return (resolve(template, parts, where) as unknown[]).map(String).join(separator);
      }
      case "Fn::Split": {
        const [separator, text] = arg as [string, unknown];
        return String(resolve(template, text, where)).split(separator);
      }
      case "Fn::If": {
        const [condition, whenTrue, whenFalse] = arg as [string, unknown, unknown];
        return resolve(template, isTrue(template, condition, where) ? whenTrue : whenFalse, where);
      }
    }
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    const resolved = resolve(template, v, `${where}.${k}`);
    if (resolved !== NO_VALUE) out[k] = resolved;
  }
  return out;
}

function ref(template: Scope, name: string, where: string): unknown {
  if (name === "AWS::NoValue") return NO_VALUE;
  const pseudo: Readonly<Record<string, string>> = {
    "AWS::Partition": "aws",
    "AWS::AccountId": template.accountId,
    "AWS::Region": template.region,
    "AWS::URLSuffix": "amazonaws.com",
  };
  if (name in pseudo) return pseudo[name];
  const parameter = template.template.Parameters?.[name];
  if (parameter !== undefined) return parameter.Default;
  const resource = template.template.Resources[name];
  if (resource !== undefined) return physicalName(template, name);
  throw new Error(`${where}: Ref ${name} is neither a pseudo parameter, a parameter nor a resource`);
}

function physicalName(template: Scope, id: string): string {
  const p = template.template.Resources[id]?.Properties ?? {};
  const named = p.TableName ?? p.Name ?? p.RoleName ?? p.QueueName ?? p.FunctionName;
  return typeof named === "string" ? named : `${id.toLowerCase()}-physical-id`;
}

/** The ARN a resource of the template would have. */
function getAtt(template: Scope, id: string, attribute: string, where: string): string {
  const resource = template.template.Resources[id];
  if (resource === undefined) throw new Error(`${where}: GetAtt of ${id}, which is not in the template`);
  const name = physicalName(template, id);
  if (attribute !== "Arn") return `${name}-${attribute}`;
  switch (resource.Type) {
    case "AWS::DynamoDB::Table":
      return `arn:aws:dynamodb:${template.region}:${template.accountId}:table/${name}`;
    case "AWS::Events::EventBus":
      return `arn:aws:events:${template.region}:${template.accountId}:event-bus/${name}`;
    case "AWS::SQS::Queue":
      return `arn:aws:sqs:${template.region}:${template.accountId}:${name}`;
    case "AWS::IAM::Role":
      return `arn:aws:iam::${template.accountId}:role/${name}`;
    case "AWS::KMS::Key":
      return `arn:aws:kms:${template.region}:${template.accountId}:key/00000000-0000-0000-0000-${id.length.toString().padStart(12, "0")}`;
    default:
      throw new Error(`${where}: no ARN known for ${resource.Type} ${id}`);
  }
}

function isTrue(template: Scope, condition: string, where: string): boolean {
  const definition = template.template.Conditions?.[condition];
  if (definition === undefined) throw new Error(`${where}: condition ${condition} is not in the template`);
  return evaluateCondition(template, definition, where);
}

function evaluateCondition(template: Scope, value: unknown, where: string): boolean {
  const record = value as Record<string, unknown>;
  if ("Fn::Equals" in record) {
    const [a, b] = resolve(template, record["Fn::Equals"], where) as [unknown, unknown];
    return a === b;
  }
  if ("Fn::Not" in record) {
    return !evaluateCondition(template, (record["Fn::Not"] as unknown[])[0], where);
  }
  if ("Fn::And" in record) {
    return (record["Fn::And"] as unknown[]).every((c) => evaluateCondition(template, c, where));
  }
  if ("Condition" in record) return isTrue(template, String(record.Condition), where);
  throw new Error(`${where}: cannot evaluate condition ${JSON.stringify(value)}`);
}
