import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { IDEMPOTENCY_EXPIRY_ATTRIBUTE } from "../../lib/api/idempotency.js";
import { loadConfig } from "../../lib/config.js";
import { DEFAULT_AGENT_HEALTH } from "../../lib/domain/agent-protocol.js";
import { MANAGED_BY_TAG_KEY } from "../../lib/domain/deployment.js";
import { SWEEP_PARTITION_DUE_DETAIL_TYPE } from "../../lib/domain/sweep-partition.js";
import { METRIC_DIMENSION, METRIC_NAMESPACE } from "../../lib/lifecycle/scheduled/expiry-metric.js";
import { StoreIndex, TABLE_DEFINITION } from "../../lib/store/table-definition.js";
import {
  actions,
  conditionValue,
  isKmsWrite,
  resources,
  roleIdOf,
  roleStatements,
  rolesByFunction,
  type Statement,
} from "./support/iam.js";
import {
  type CfnResource,
  type CfnTemplate,
  lambdaFunctions,
  type PackagedService,
  packageService,
  placeholderValue,
  resourcesOfType,
} from "./support/packaged-service.js";

const run = promisify(execFile);
const FUNCTIONS = ["api", "sweep", "sweep-partition", "kms-events", "probe"] as const;
/** The functions that import material (a vault, CloudTrail lookups, the import path); not the probe. */
const VAULT_FUNCTIONS = ["api", "sweep", "sweep-partition", "kms-events"] as const;
/** Only the register path (the api) may create keys, replicas, tags and aliases. */
const CREATE_ACTIONS = [
  "kms:CreateKey",
  "kms:ReplicateKey",
  "kms:TagResource",
  "kms:CreateAlias",
  "kms:UpdateAlias",
];
/**
 * Functions that create keys: the api (register, key swap) and the sweep and its partition runs (scheduled
 * key swap).
 */
const CREATORS = ["api", "sweep", "sweep-partition"];
/** This deployment's tether:managed-by value (serverless.yml custom.names.deployment, stage ci). */
const DEPLOYMENT = "tether/ci/eu-west-1";
/** Writes on existing key material: only on keys tagged as managed by this deployment. */
const MATERIAL_WRITES = [
  "kms:GetParametersForImport",
  "kms:ImportKeyMaterial",
  "kms:DeleteImportedKeyMaterial",
  "kms:RotateKeyOnDemand",
];

let packaged: PackagedService;
let template: CfnTemplate;
let functions: Map<string, CfnResource>;

beforeAll(async () => {
  packaged = await packageService("ci");
  template = packaged.template;
  functions = lambdaFunctions(template);
}, 300_000);

afterAll(async () => {
  await packaged?.remove();
});

function resource(id: string): CfnResource {
  const found = template.Resources[id];
  if (found === undefined) throw new Error(`${id} is not in the template`);
  return found;
}

function statementsOf(fn: string): Statement[] {
  const role = rolesByFunction(template, functions).get(fn);
  if (role === undefined) throw new Error(`no role for ${fn}`);
  return roleStatements(role.role);
}

function allowStatements(): Array<{ fn: string; statement: Statement }> {
  return [...functions.keys()].flatMap((fn) =>
    statementsOf(fn)
      .filter((s) => s.Effect === "Allow")
      .map((statement) => ({ fn, statement })),
  );
}

describe("osls package --stage ci", () => {
  it("compiles the five functions on nodejs22.x arm64", () => {
    expect([...functions.keys()].sort()).toEqual([...FUNCTIONS].sort());
    for (const fn of functions.values()) {
      expect(fn.Properties?.Runtime).toBe("nodejs22.x");
      expect(fn.Properties?.Architectures).toEqual(["arm64"]);
    }
  });
});

describe("IAM", () => {
  it("gives each function a role of its own, and no shared role", () => {
    const roles = rolesByFunction(template, functions);
    const ids = [...roles.values()].map((r) => r.id);
    expect(new Set(ids).size).toBe(FUNCTIONS.length);
    for (const { role } of roles.values()) expect(role.Type).toBe("AWS::IAM::Role");
    // osls's shared role appears only when some function has no role of its own.
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
    expect(
      resourcesOfType(template, "AWS::IAM::Role")
        .map(([id]) => id)
        .sort(),
    ).toEqual([...ids].sort());
  });

  it("trusts only Lambda to assume the roles", () => {
    for (const { role } of rolesByFunction(template, functions).values()) {
      const trust = role.Properties?.AssumeRolePolicyDocument as { Statement: Statement[] };
      expect(trust.Statement).toEqual([
        { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
      ]);
    }
  });

  it("lets every function read CloudTrail's event history, and nothing else of CloudTrail", () => {
    const lookups = allowStatements().filter(({ statement }) =>
      actions(statement).some((a) => a.startsWith("cloudtrail:")),
    );
    expect(new Set(lookups.map(({ fn }) => fn)).size).toBe(VAULT_FUNCTIONS.length);
    expect(lookups.map(({ fn }) => fn)).not.toContain("probe");
    for (const { statement } of lookups) expect(actions(statement)).toEqual(["cloudtrail:LookupEvents"]);
  });

  it("grants no service-wide action and no action outside what Tether calls", () => {
    for (const { fn, statement } of allowStatements()) {
      for (const action of actions(statement)) {
        expect(action, `${fn}: ${action}`).not.toMatch(/\*$/);
        // sts: only AssumeRole of member roles, by the functions that act in members (below).
        if (action === "sts:AssumeRole" && fn !== "probe") continue;
        expect(action.split(":")[0], `${fn}: ${action}`).toMatch(
          /^(kms|dynamodb|events|logs|sqs|cloudtrail)$/,
        );
      }
    }
  });

  it("lets the api, the sweep (and its partition runs) and kms-events assume the member role by its name, in the Organization when set", () => {
    const assumes = allowStatements().filter(({ statement }) =>
      actions(statement).some((a) => a.startsWith("sts:")),
    );
    expect(assumes.map(({ fn }) => fn).sort()).toEqual(["api", "kms-events", "sweep", "sweep-partition"]);
    for (const { statement } of assumes) {
      expect(actions(statement)).toEqual(["sts:AssumeRole"]);
      expect(resources(statement)).toEqual([
        // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation's Fn::Sub syntax.
        { "Fn::Sub": "arn:${AWS::Partition}:iam::*:role/tether-member" },
      ]);
      // The Organization of the role's account, when the organizationId stage parameter names one.
      expect(statement.Condition).toEqual({
        "Fn::If": [
          "AdmitsOrganization",
          { StringEquals: { "aws:ResourceOrgID": { Ref: "OrganizationId" } } },
          { Ref: "AWS::NoValue" },
        ],
      });
    }
    expect(template.Conditions?.AdmitsOrganization).toBeDefined();
  });

  it("never allows a write action on '*' without a condition", () => {
    for (const { fn, statement } of allowStatements()) {
      const writes = actions(statement).filter(
        // Reads. cloudtrail:LookupEvents (attributing a loss) has no resource-level permissions at all.
        (a) => a !== "kms:DescribeKey" && a !== "kms:ListResourceTags" && a !== "cloudtrail:LookupEvents",
      );
      if (writes.length === 0) continue;
      if (resources(statement).some((r) => r === "*")) {
        expect(statement.Condition, `${fn}: ${statement.Sid}`).toBeDefined();
      }
    }
  });

  it("allows material writes only on EXTERNAL keys tagged as managed by this deployment", () => {
    let seen = 0;
    for (const { fn, statement } of allowStatements()) {
      if (!actions(statement).some((a) => MATERIAL_WRITES.includes(a))) continue;
      seen++;
      expect(
        conditionValue(statement, "StringEquals", `aws:ResourceTag/${MANAGED_BY_TAG_KEY}`),
        `${fn}: ${statement.Sid}`,
      ).toBe(DEPLOYMENT);
      expect(conditionValue(statement, "StringEquals", "kms:KeyOrigin"), `${fn}: ${statement.Sid}`).toBe(
        "EXTERNAL",
      );
    }
    // The import path exists in the four functions that import; the probe has none.
    expect(seen).toBe(VAULT_FUNCTIONS.length);
  });

  it("lets only the api and the sweep (and its partition runs) create keys, replicas, tags and aliases, and only with Tether's tag", () => {
    for (const { fn, statement } of allowStatements()) {
      const creates = actions(statement).filter((a) => CREATE_ACTIONS.includes(a));
      if (creates.length === 0) continue;
      expect(CREATORS).toContain(fn);
      if (creates.includes("kms:CreateAlias") || creates.includes("kms:UpdateAlias")) {
        // Authorised on the key (must be managed) and on the alias name (an alias ARN, never "*").
        const onKey = resources(statement).some((r) => JSON.stringify(r).includes(":key/"));
        if (onKey) {
          expect(conditionValue(statement, "StringEquals", `aws:ResourceTag/${MANAGED_BY_TAG_KEY}`)).toBe(
            DEPLOYMENT,
          );
        } else {
          // Only under the deployment's alias prefix (the ci stage's: tether/ci/), never alias/*.
          for (const r of resources(statement)) expect(JSON.stringify(r)).toMatch(/:alias\/tether\/ci\/\*"/);
        }
        continue;
      }
      if (creates.includes("kms:ReplicateKey")) {
        // ReplicateKey has no aws:RequestTag condition key: the replica's tags go through TagResource.
        expect(conditionValue(statement, "StringEquals", `aws:ResourceTag/${MANAGED_BY_TAG_KEY}`)).toBe(
          DEPLOYMENT,
        );
        continue;
      }
      expect(
        conditionValue(statement, "StringEquals", `aws:RequestTag/${MANAGED_BY_TAG_KEY}`),
        statement.Sid,
      ).toBe(DEPLOYMENT);
      // ForAllValues: every tag key of the request must be one the stage allows (ci: tether:*, team).
      expect(conditionValue(statement, "ForAllValues:StringLike", "aws:TagKeys"), statement.Sid).toEqual({
        "Fn::Split": [",", "tether:*,team"],
      });
    }
    for (const fn of CREATORS) {
      const creates = statementsOf(fn).flatMap(actions);
      for (const action of [...CREATE_ACTIONS, "kms:GetKeyPolicy", "kms:PutKeyPolicy"]) {
        expect(creates, `${fn}: ${action}`).toContain(action);
      }
      const createKey = statementsOf(fn).find((s) => actions(s).includes("kms:CreateKey"));
      expect(conditionValue(createKey as Statement, "StringEquals", "kms:KeyOrigin")).toBe("EXTERNAL");
    }
    expect(
      statementsOf("kms-events")
        .filter((s) => s.Effect === "Allow")
        .flatMap(actions),
    ).not.toContain("kms:CreateKey");
    // Key policies are read and (for KMS's lockout check) writable only on managed keys.
    for (const { fn, statement } of allowStatements()) {
      if (!actions(statement).some((a) => a === "kms:PutKeyPolicy" || a === "kms:GetKeyPolicy")) continue;
      expect(
        conditionValue(statement, "StringEquals", `aws:ResourceTag/${MANAGED_BY_TAG_KEY}`),
        `${fn}: ${statement.Sid}`,
      ).toBe(DEPLOYMENT);
    }
  });

  it("conditions every KMS write on the deployment's tag, of the key or of the request", () => {
    for (const { fn, statement } of allowStatements()) {
      if (!actions(statement).some(isKmsWrite)) continue;
      const onAliasOnly = resources(statement).every((r) => JSON.stringify(r).includes(":alias/"));
      if (onAliasOnly) continue;
      const tagged =
        conditionValue(statement, "StringEquals", `aws:ResourceTag/${MANAGED_BY_TAG_KEY}`) ??
        conditionValue(statement, "StringEquals", `aws:RequestTag/${MANAGED_BY_TAG_KEY}`);
      expect(tagged, `${fn}: ${statement.Sid}`).toBe(DEPLOYMENT);
    }
  });

  it("gives every role the boundary's explicit denies (test/deploy/iam-boundary.test.ts evaluates them)", () => {
    for (const fn of functions.keys()) {
      const denies = statementsOf(fn)
        .filter((s) => s.Effect === "Deny")
        .map((s) => s.Sid);
      expect(denies, fn).toEqual(
        expect.arrayContaining([
          "KeepHistory",
          "DenyOtherDeploymentsKeys",
          "DenyTaggingUnmarkedKeys",
          "DenyNonExternalKeys",
          "DenyPolicyLockoutBypass",
        ]),
      );
    }
    // kms-events never rotates, so it may not.
    expect(
      statementsOf("kms-events")
        .filter((s) => s.Effect === "Allow")
        .flatMap(actions),
    ).not.toContain("kms:RotateKeyOnDemand");
  });

  it("limits DynamoDB to the table and its indexes, PutEvents to the audit bus, SendMessage to the queue", () => {
    const tableArn = { "Fn::GetAtt": ["TetherTable", "Arn"] };
    const indexArns = Object.values(StoreIndex).map((name) => ({
      "Fn::Sub": `\${TetherTable.Arn}/index/${name}`,
    }));
    for (const { fn, statement } of allowStatements()) {
      const services = new Set(actions(statement).map((a) => a.split(":")[0]));
      if (services.has("dynamodb")) {
        expect(actions(statement)).not.toContain("dynamodb:Scan");
        for (const r of resources(statement)) expect([tableArn, ...indexArns], `${fn}`).toContainEqual(r);
      }
      if (services.has("events")) {
        expect(actions(statement)).toEqual(["events:PutEvents"]);
        expect(resources(statement)).toEqual([{ "Fn::GetAtt": ["AuditBus", "Arn"] }]);
      }
      if (services.has("sqs")) {
        expect(actions(statement)).toEqual(["sqs:SendMessage"]);
        expect(resources(statement)).toEqual([{ "Fn::GetAtt": ["AsyncFailureQueue", "Arn"] }]);
      }
    }
  });

  it("lets each function write only its own log group", () => {
    for (const [name, fn] of functions) {
      const functionName = String(fn.Properties?.FunctionName);
      const logStatements = statementsOf(name).filter((s) => actions(s).some((a) => a.startsWith("logs:")));
      expect(logStatements.length).toBeGreaterThan(0);
      for (const statement of logStatements) {
        expect(actions(statement)).not.toContain("logs:CreateLogGroup");
        for (const r of resources(statement)) {
          expect(JSON.stringify(r)).toContain(`:log-group:/aws/lambda/${functionName}:*`);
        }
      }
    }
  });
});

describe("the table", () => {
  it("is TABLE_DEFINITION, with point-in-time recovery, deletion protection and encryption", () => {
    const table = resource("TetherTable");
    const p = table.Properties ?? {};
    expect({
      BillingMode: p.BillingMode,
      AttributeDefinitions: p.AttributeDefinitions,
      KeySchema: p.KeySchema,
      GlobalSecondaryIndexes: p.GlobalSecondaryIndexes,
    }).toEqual(TABLE_DEFINITION);
    expect(p.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    expect(p.DeletionProtectionEnabled).toBe(true);
    expect(p.SSESpecification).toMatchObject({ SSEEnabled: true });
    expect((table as { DeletionPolicy?: string }).DeletionPolicy).toBe("Retain");
  });

  it("is encrypted with a customer managed key of its own by default, used only through DynamoDB by Tether", () => {
    const parameter = template.Parameters?.TableEncryption as { Default?: unknown; AllowedValues?: unknown };
    expect(parameter.Default).toBe("customer-managed");
    expect(parameter.AllowedValues).toEqual(["customer-managed", "aws-managed"]);
    expect(resource("TetherTable").Properties?.SSESpecification).toEqual({
      SSEEnabled: true,
      SSEType: "KMS",
      KMSMasterKeyId: {
        "Fn::If": ["TableKeyIsCustomerManaged", { Ref: "TetherTableKey" }, { Ref: "AWS::NoValue" }],
      },
    });
    const key = resource("TetherTableKey");
    expect(key.Condition).toBe("TableKeyIsCustomerManaged");
    expect((key as { DeletionPolicy?: string }).DeletionPolicy).toBe("Retain");
    expect(key.Properties?.EnableKeyRotation).toBe(true);
    const statements = property<{ Statement: Array<Statement & { Principal: { AWS: unknown } }> }>(
      key,
      "KeyPolicy",
    ).Statement;
    const use = statements.find((s) => s.Sid === "TetherThroughDynamoDB");
    // Anyone of the account, through DynamoDB, and only Tether's three roles.
    expect(use?.Principal.AWS).toBe("*");
    expect(
      (conditionValue(use as Statement, "StringEquals", "aws:PrincipalArn") as unknown[])
        .map(placeholderValue)
        .sort(),
    ).toEqual(
      [...rolesByFunction(template, functions).values()]
        .map(({ role }) => `arn:aws:iam::123456789012:role/${String(role.Properties?.RoleName)}`)
        .sort(),
    );
    expect(conditionValue(use as Statement, "StringEquals", "kms:CallerAccount")).toEqual({
      Ref: "AWS::AccountId",
    });
    expect(conditionValue(use as Statement, "StringEquals", "kms:ViaService")).toEqual({
      "Fn::Sub": `dynamodb.\${AWS::Region}.amazonaws.com`,
    });
  });

  it("expires the admin API's idempotency records through TTL on the attribute Powertools writes", () => {
    const p = resource("TetherTable").Properties ?? {};
    expect(p.TimeToLiveSpecification).toEqual({ AttributeName: IDEMPOTENCY_EXPIRY_ATTRIBUTE, Enabled: true });
  });
});

describe("function environments", () => {
  it("hold every variable lib/config.ts requires, with the template's names", () => {
    let required: string[] = [];
    try {
      loadConfig({});
    } catch (error) {
      required = [...String((error as Error).message).matchAll(/(\w+) is not set/g)].map(
        (m) => m[1] as string,
      );
    }
    // AWS_REGION is set by the Lambda runtime itself.
    expect(required).toContain("AWS_REGION");
    const tableName = resource("TetherTable").Properties?.TableName;
    const busName = resource("AuditBus").Properties?.Name;
    for (const [name, fn] of functions) {
      const variables = environmentOf(fn);
      for (const variable of required.filter((v) => v !== "AWS_REGION")) {
        expect(Object.keys(variables), `${name}: ${variable}`).toContain(variable);
      }
      const env = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, placeholderValue(v)]));
      const config = loadConfig({ ...env, AWS_REGION: "eu-west-1" });
      expect(config.tableName).toBe(tableName);
      expect(config.auditBusName).toBe(busName);
      // Tether's own roles must count as Tether, or its own imports would look like drift.
      const roleName = String(template.Resources[roleIdOfFunction(fn)]?.Properties?.RoleName);
      expect(config.isTether(`arn:aws:sts::123456789012:assumed-role/${roleName}/${name}`)).toBe(true);
      expect(config.isTether("arn:aws:sts::123456789012:assumed-role/BreakGlass/someone")).toBe(false);
      // Exactly Tether's three roles: a role whose name only starts like one of them is not Tether.
      expect(config.isTether(`arn:aws:sts::123456789012:assumed-role/${roleName}-admin/${name}`)).toBe(false);
      expect(config.isTether("arn:aws:sts::123456789012:assumed-role/tether-ci-eu-west-1-x/s")).toBe(false);
      // The deployment whose tag its IAM policies scope KMS writes to.
      expect(config.deployment).toBe(DEPLOYMENT);
    }
    const selfPrincipals = placeholderValue(
      environmentOf(functions.get("api") as CfnResource).TETHER_SELF_PRINCIPALS,
    );
    expect(selfPrincipals.split(",").sort()).toEqual(
      [...rolesByFunction(template, functions).values()]
        .map(({ role }) => `arn:aws:sts::123456789012:assumed-role/${String(role.Properties?.RoleName)}/*`)
        .sort(),
    );
  });
});

describe("the admin API under abuse", () => {
  it("throttles the stage, and the public and state-changing routes each more tightly", () => {
    const stage = resource("HttpApiStage").Properties ?? {};
    const defaults = stage.DefaultRouteSettings as Record<string, number>;
    expect(defaults.ThrottlingRateLimit).toBeGreaterThan(0);
    expect(defaults.ThrottlingBurstLimit).toBeGreaterThanOrEqual(defaults.ThrottlingRateLimit as number);
    const routes = stage.RouteSettings as Record<string, Record<string, number>>;
    const routeKeys = resourcesOfType(template, "AWS::ApiGatewayV2::Route").map(([, r]) =>
      String(r.Properties?.RouteKey),
    );
    const tight = routeKeys.filter((k) => !k.startsWith("GET ") || !k.includes("/keys"));
    expect(tight.length).toBeGreaterThan(2);
    for (const key of tight) {
      expect(routes[key], key).toBeDefined();
      expect(routes[key]?.ThrottlingRateLimit, key).toBeLessThan(defaults.ThrottlingRateLimit as number);
      expect(routes[key]?.ThrottlingBurstLimit, key).toBeLessThan(defaults.ThrottlingBurstLimit as number);
    }
    // Every throttled route is a real route (a typo would throttle nothing).
    for (const key of Object.keys(routes)) expect(routeKeys, key).toContain(key);
  });

  it("writes access logs that name the caller's IAM identity", () => {
    const settings = resource("HttpApiStage").Properties?.AccessLogSettings as { Format: string };
    const format = JSON.parse(settings.Format) as Record<string, string>;
    expect(format).toMatchObject({
      userArn: "$context.authorizer.iam.userArn",
      routeKey: "$context.routeKey",
      status: "$context.status",
      requestId: "$context.requestId",
    });
    expect(resource("HttpApiLogGroup").Properties?.RetentionInDays).toBeGreaterThan(0);
  });

  it("keeps concurrency for kms-events, so a flood elsewhere cannot starve KMS event handling", () => {
    const kmsEvents = functions.get("kms-events") as CfnResource;
    const reserved = kmsEvents.Properties?.ReservedConcurrentExecutions as number;
    expect(reserved).toBeGreaterThanOrEqual(5);
    expect(functions.get("sweep")?.Properties?.ReservedConcurrentExecutions).toBe(1);
  });

  it("gives the sweep its account-Region partitions drained at once (TETHER_SWEEP_PARTITIONS)", () => {
    const sweep = functions.get("sweep") as CfnResource;
    expect(Number(environmentOf(sweep).TETHER_SWEEP_PARTITIONS)).toBeGreaterThanOrEqual(2);
    expect(Number(environmentOf(sweep).TETHER_SWEEP_PARTITIONS)).toBe(10);
  });
});

describe("the sweep's fan-out (TETHER_SWEEP_FANOUT=events)", () => {
  it("makes the scheduled sweep a dispatcher; only the sweep is one", () => {
    for (const [name, fn] of functions) {
      expect(environmentOf(fn).TETHER_SWEEP_FANOUT, name).toBe(name === "sweep" ? "events" : undefined);
    }
  });

  it("caps sweep-partition's concurrency, retries it twice, and sends its failures to the queue", () => {
    const fn = functions.get("sweep-partition") as CfnResource;
    expect(fn.Properties?.ReservedConcurrentExecutions).toBe(10);
    expect(fn.Properties?.Timeout).toBe(300);
    const config = resource("SweepDashpartitionLambdaEvConf");
    expect(config.Properties?.MaximumRetryAttempts).toBe(2);
  });

  it("delivers exactly Tether's `Sweep Partition Due` events on the audit bus to sweep-partition, and nothing else to it", () => {
    const targeting = resourcesOfType(template, "AWS::Events::Rule").filter(([, rule]) =>
      JSON.stringify(rule.Properties?.Targets).includes("SweepDashpartitionLambdaFunction"),
    );
    expect(targeting).toHaveLength(1);
    const [, rule] = targeting[0] as [string, CfnResource];
    expect(rule.Properties?.EventBusName).toEqual({ "Fn::GetAtt": ["AuditBus", "Name"] });
    expect(rule.Properties?.EventPattern).toEqual({
      source: ["tether"],
      "detail-type": [SWEEP_PARTITION_DUE_DETAIL_TYPE],
    });
    expect(rule.Properties?.ScheduleExpression).toBeUndefined();
    // No other rule reaches it: the schedule stays the sweep's.
    const permissions = resourcesOfType(template, "AWS::Lambda::Permission").filter(([, p]) =>
      JSON.stringify(p.Properties?.FunctionName).includes("SweepDashpartitionLambdaFunction"),
    );
    expect(permissions).toHaveLength(1);
    expect(permissions[0]?.[1].Properties?.Principal).toBe("events.amazonaws.com");
  });

  it("lets the dispatcher put events only on Tether's bus", () => {
    const puts = statementsOf("sweep").filter((s) => actions(s).some((a) => a.startsWith("events:")));
    expect(puts).toHaveLength(1);
    expect(puts[0]?.Effect).toBe("Allow");
    expect(actions(puts[0] as Statement)).toEqual(["events:PutEvents"]);
    expect(resources(puts[0] as Statement)).toEqual([{ "Fn::GetAtt": ["AuditBus", "Arn"] }]);
  });

  it("gives sweep-partition's role the sweep's KMS and DynamoDB rights, and its own log group", () => {
    const rights = (fn: string) =>
      statementsOf(fn)
        .filter((s) => !actions(s).some((a) => a.startsWith("logs:")))
        .map((s) => JSON.stringify(s))
        .sort();
    expect(rights("sweep-partition")).toEqual(rights("sweep"));
    expect(rolesByFunction(template, functions).get("sweep-partition")?.id).not.toBe(
      rolesByFunction(template, functions).get("sweep")?.id,
    );
  });
});

function roleIdOfFunction(fn: CfnResource): string {
  return roleIdOf(fn);
}

function environmentOf(fn: CfnResource): Record<string, unknown> {
  const environment = fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined;
  if (environment?.Variables === undefined) throw new Error("function has no environment");
  return environment.Variables;
}

/** A property that must be there, typed as the test expects it. */
function property<T>(r: CfnResource, name: string): T {
  const value = r.Properties?.[name];
  if (value === undefined) throw new Error(`missing property ${name}`);
  return value as T;
}

describe("async failures", () => {
  it("sends failed async invocations of sweep and kms-events, and undeliverable events, to an encrypted queue", () => {
    const queue = resource("AsyncFailureQueue");
    expect(queue.Properties?.SqsManagedSseEnabled ?? queue.Properties?.KmsMasterKeyId).toBeTruthy();
    const queueArn = { "Fn::GetAtt": ["AsyncFailureQueue", "Arn"] };
    const configs = resourcesOfType(template, "AWS::Lambda::EventInvokeConfig");
    for (const logicalPrefix of ["Sweep", "SweepDashpartition", "KmsDashevents"]) {
      const config = configs.find(([id]) => id === `${logicalPrefix}LambdaEvConf`)?.[1];
      expect(config?.Properties?.DestinationConfig, logicalPrefix).toEqual({
        OnFailure: { Destination: queueArn },
      });
    }
    for (const [, rule] of resourcesOfType(template, "AWS::Events::Rule")) {
      if (rule.Properties?.ScheduleExpression !== undefined) continue;
      for (const target of property<Array<Record<string, unknown>>>(rule, "Targets")) {
        expect(target.DeadLetterConfig, String(rule.Properties?.Name)).toEqual({ Arn: queueArn });
      }
    }
  });
});

describe("on-call", () => {
  it("has a KMS-encrypted topic whose key lets EventBridge and CloudWatch publish, and an e-mail parameter", () => {
    const topic = resource("OnCallTopic");
    expect(topic.Properties?.KmsMasterKeyId).toEqual({ Ref: "OnCallTopicKey" });
    const key = resource("OnCallTopicKey");
    const statements = property<{ Statement: Statement[] }>(key, "KeyPolicy").Statement;
    const services = statements.flatMap((s) => [
      ...([] as string[]).concat(
        (s as unknown as { Principal: { Service?: string[] } }).Principal.Service ?? [],
      ),
    ]);
    expect(services).toEqual(expect.arrayContaining(["events.amazonaws.com", "cloudwatch.amazonaws.com"]));
    const subscription = resource("OnCallEmailSubscription");
    expect(subscription.Condition).toBe("HasOnCallEmail");
    expect(subscription.Properties).toMatchObject({ Protocol: "email", Endpoint: { Ref: "OnCallEmail" } });
    expect(template.Parameters?.OnCallEmail?.Default).toBe("on-call@example.com");
    const rule = resource("AlertRule");
    expect(rule.Properties?.EventBusName).toEqual({ Ref: "AuditBus" });
    expect(property<Array<{ Arn: unknown }>>(rule, "Targets").map((t) => t.Arn)).toEqual([
      { Ref: "OnCallTopic" },
    ]);
    expect(resource("AuditArchive").Properties?.SourceArn).toEqual({ "Fn::GetAtt": ["AuditBus", "Arn"] });
  });

  it("alarms on each function's errors, the queue's depth and the shortest time to expiry, to on-call", () => {
    const alarms = resourcesOfType(template, "AWS::CloudWatch::Alarm").map(([, a]) => a.Properties ?? {});
    for (const alarm of alarms) expect(alarm.AlarmActions).toContainEqual({ Ref: "OnCallTopic" });
    const dimension = (a: Record<string, unknown>) => (a.Dimensions as Array<{ Value: unknown }>)[0]?.Value;
    for (const fn of functions.values()) {
      const name = fn.Properties?.FunctionName;
      expect(
        alarms.some((a) => a.MetricName === "Errors" && dimension(a) === name),
        String(name),
      ).toBe(true);
    }
    expect(
      alarms.some(
        (a) =>
          a.MetricName === "ApproximateNumberOfMessagesVisible" &&
          JSON.stringify(dimension(a)) ===
            JSON.stringify({ "Fn::GetAtt": ["AsyncFailureQueue", "QueueName"] }),
      ),
    ).toBe(true);
    const expiry = alarms.find((a) => a.MetricName === "ShortestTimeToExpiry");
    expect(expiry).toMatchObject({
      Namespace: METRIC_NAMESPACE,
      Statistic: "Minimum",
      ComparisonOperator: "LessThanThreshold",
      Dimensions: [{ Name: METRIC_DIMENSION, Value: resource("TetherTable").Properties?.TableName }],
    });
  });

  it("has a dashboard whose body is valid JSON", () => {
    const body = resource("TetherDashboard").Properties?.DashboardBody as { "Fn::Sub": [string, unknown] };
    const text = body["Fn::Sub"][0].replace(/\$\{[^}]+\}/g, "0");
    const parsed = JSON.parse(text) as { widgets: unknown[] };
    expect(parsed.widgets.length).toBeGreaterThanOrEqual(4);
  });

  it("shows the warm import parameter share the sweep publishes, in its namespace and dimension", () => {
    const body = resource("TetherDashboard").Properties?.DashboardBody as {
      "Fn::Sub": [string, Record<string, unknown>];
    };
    const [template, values] = body["Fn::Sub"];
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub placeholder, not JavaScript's
    expect(template).toContain('"WarmParametersShare", "Deployment", "${Deployment}"');
    expect(template).toContain('"ParametersWarmed"');
    expect(values.Namespace).toBe(METRIC_NAMESPACE);
  });

  it("shows the vault agents' health and oldest waiting request as the sweep publishes them and the alarm reads them", () => {
    const body = resource("TetherDashboard").Properties?.DashboardBody as {
      "Fn::Sub": [string, Record<string, unknown>];
    };
    const [text, values] = body["Fn::Sub"];
    const widgets = (
      JSON.parse(text.replace(/\$\{[^}]+\}/g, "0")) as {
        widgets: Array<{
          properties: {
            metrics?: unknown[][];
            annotations?: { horizontal?: Array<{ value: number; yAxis?: string }> };
          };
        }>;
      }
    ).widgets;
    const agents = widgets.find((w) => w.properties.metrics?.some((m) => m[1] === "VaultAgentsHealthy"));
    expect(agents).toBeDefined();
    const [healthy, oldest] = agents?.properties.metrics ?? [];
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub placeholder, not JavaScript's
    expect(text).toContain('"VaultAgentsHealthy", "Deployment", "${Deployment}"');
    expect(values.Namespace).toBe(METRIC_NAMESPACE);
    expect(values.Deployment).toBe(resource("TetherTable").Properties?.TableName);
    // The alarm's view of the same metric: its statistic, period and threshold.
    const alarm = resource("VaultAgentHealthAlarm").Properties as Record<string, unknown>;
    expect(alarm.MetricName).toBe("VaultAgentsHealthy");
    expect(healthy?.[4]).toEqual({ stat: alarm.Statistic, period: alarm.Period });
    expect(agents?.properties.annotations?.horizontal?.[0]?.value).toBe(alarm.Threshold);
    expect(oldest?.slice(0, 4)).toEqual([".", "VaultAgentOldestPendingSeconds", ".", "."]);
    expect(agents?.properties.annotations?.horizontal?.[1]).toMatchObject({
      value: DEFAULT_AGENT_HEALTH.behindAfterMs / 1000,
      yAxis: "right",
    });
  });
});

describe("cfn-lint", () => {
  const available = cfnLintAvailable();
  if (!available)
    console.warn("cfn-lint is not installed here: skipping the template lint (it runs on the CI image).");
  it.skipIf(!available)(
    "passes on the generated template",
    async () => {
      // W3005: osls adds DependsOn on a function's role next to the GetAtt that already orders them; that is
      // osls's output, harmless, and not ours to change.
      const result = await run("cfn-lint", ["--ignore-checks", "W3005", "--", packaged.templatePath]).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({
          code: e.code ?? 1,
          out: `${e.stdout ?? ""}${e.stderr ?? ""}`,
        }),
      );
      expect(result.out).toBe("");
      expect(result.code).toBe(0);
    },
    120_000,
  );
});

describe("bundles", () => {
  it.each(FUNCTIONS)(
    "%s is one bundled .mjs that loads with its template environment",
    async (name) => {
      const dir = await mkdtemp(join(tmpdir(), `tether-bundle-${name}-`));
      try {
        await run("unzip", ["-q", packaged.zip(name), "-d", dir]);
        const files = await readdir(join(dir, "functions"));
        expect(files.sort()).toEqual([`${name}.mjs`, `${name}.mjs.map`]);
        expect(await readdir(dir)).toEqual(["functions"]);

        const fn = functions.get(name) as CfnResource;
        const variables = environmentOf(fn);
        const env = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, placeholderValue(v)]));
        const probe = `import(${JSON.stringify(`./functions/${name}.mjs`)}).then(
          (m) => console.log(JSON.stringify({ handler: typeof m.handler })),
          (e) => console.log(JSON.stringify({ error: e.name, message: String(e.message).slice(0, 200) })))`;
        const node = (extra: Record<string, string>) =>
          run(process.execPath, ["--input-type=module", "-e", probe], {
            cwd: dir,
            env: {
              PATH: process.env.PATH,
              AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
              ...extra,
            },
          }).then((r) => JSON.parse(r.stdout.trim().split("\n").pop() as string) as Record<string, string>);

        // Without configuration it fails on configuration, not on module resolution.
        expect(await node({})).toMatchObject({ error: "ConfigError" });
        // With the template's environment (and the region Lambda sets) it loads and exports the handler.
        expect(await node({ ...env, AWS_REGION: "eu-west-1" })).toEqual({ handler: "function" });
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    60_000,
  );
});

/**
 * A marker each vault adapter's code carries (a string literal minification keeps), and its sources. An
 * adapter's settings.ts is not among them: every bundle holds every adapter's settings.ts (the configuration
 * checks TETHER_VAULT and its variables at cold start), never the adapter it loads.
 */
const ADAPTERS = {
  file: { marker: "tether-file-vault-material/v1", sources: ["lib/vault/file/file-vault.ts"] },
  hashicorp: { marker: "X-Vault-Token", sources: ["lib/vault/hashicorp/"] },
  "secrets-manager": {
    marker: "tether:key-spec",
    // Not @aws-sdk/client-sts: every function holds it for member accounts' roles (lib/accounts).
    sources: ["lib/vault/secrets-manager/", "@aws-sdk/client-secrets-manager/"],
  },
  pkcs11: { marker: "CKM_RSA_PKCS_KEY_PAIR_GEN", sources: ["lib/vault/pkcs11/", "pkcs11js"] },
  agent: {
    marker: "tether vault agent answer v1",
    sources: ["lib/vault/agent/agent-vault.ts", "lib/vault/agent/seal.ts"],
  },
} as const;

describe("bundles built for the stage's vault (ci: the file vault)", () => {
  const dirs = new Map<string, string>();

  beforeAll(async () => {
    for (const name of FUNCTIONS) {
      const dir = await mkdtemp(join(tmpdir(), `tether-bundle-vault-${name}-`));
      dirs.set(name, dir);
      await run("unzip", ["-q", packaged.zip(name), "-d", dir]);
    }
  }, 60_000);

  afterAll(async () => {
    for (const dir of dirs.values()) await rm(dir, { recursive: true, force: true });
  });

  it("probe holds no vault adapter at all (it only reads sentinels)", async () => {
    const dir = dirs.get("probe") as string;
    const code = await readFile(join(dir, "functions", "probe.mjs"), "utf8");
    for (const [vault, { marker }] of Object.entries(ADAPTERS)) {
      expect(code, `probe: ${vault}'s marker`).not.toContain(marker);
    }
  });

  it.each(VAULT_FUNCTIONS)("%s holds the file vault's adapter and no other's", async (name) => {
    const dir = dirs.get(name) as string;
    const code = await readFile(join(dir, "functions", `${name}.mjs`), "utf8");
    const map = JSON.parse(await readFile(join(dir, "functions", `${name}.mjs.map`), "utf8")) as {
      sources: string[];
    };
    for (const [vault, { marker, sources }] of Object.entries(ADAPTERS)) {
      const bundled = map.sources.filter(
        (source) => sources.some((s) => source.includes(s)) && !source.endsWith("/settings.ts"),
      );
      if (vault === "file") {
        expect(code, `${name}: the file vault's marker`).toContain(marker);
        expect(bundled, `${name}: the file vault's sources`).not.toEqual([]);
      } else {
        expect(code, `${name}: ${vault}'s marker`).not.toContain(marker);
        expect(bundled, `${name}: ${vault}'s sources`).toEqual([]);
      }
    }
  });

  it.each(FUNCTIONS)(
    "%s refuses at cold start a TETHER_VAULT it was not built for, naming both",
    async (name) => {
      const variables = environmentOf(functions.get(name) as CfnResource);
      const env = Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, placeholderValue(v)]));
      expect(env.TETHER_VAULT).toBe("file");
      const probe = `import(${JSON.stringify(`./functions/${name}.mjs`)}).then(
        (m) => console.log(JSON.stringify({ handler: typeof m.handler })),
        (e) => console.log(JSON.stringify({ error: e.name, message: String(e.message) })))`;
      const { stdout } = await run(process.execPath, ["--input-type=module", "-e", probe], {
        cwd: dirs.get(name) as string,
        env: {
          PATH: process.env.PATH,
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
          ...env,
          AWS_REGION: "eu-west-1",
          // Complete HashiCorp settings: what fails is the bundle's vault, not a missing variable.
          TETHER_VAULT: "hashicorp",
          TETHER_HCV_ADDR: "https://vault.example.com:8200",
          TETHER_HCV_TOKEN: "not-a-real-token",
        },
      });
      const result = JSON.parse(stdout.trim().split("\n").pop() as string) as Record<string, string>;
      expect(result.error).toBe("ConfigError");
      expect(result.message).toContain(
        'TETHER_VAULT is "hashicorp" but this bundle was built for the "file" vault',
      );
      expect(result.message).not.toContain("not-a-real-token");
    },
    60_000,
  );
});

function cfnLintAvailable(): boolean {
  const path = process.env.PATH ?? "";
  return path.split(":").some((dir) => dir !== "" && existsSync(join(dir, "cfn-lint")));
}
