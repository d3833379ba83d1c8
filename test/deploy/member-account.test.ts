/**
 * infra/member-account.yml (the member role and the forwarding of KMS events to the hub) and
 * infra/member-bus.yml (the hub bus admitting the Organization only), decided by evaluating them:
 * - the member role's KMS statements are the hub's managed-key boundary (infra/iam-statements.yml), statement
 *   for statement, and an IAM simulator (@cloud-copilot/iam-simulate) allows no action outside it;
 * - its trust names the hub's api, sweep, sweep-partition and kms-events roles with the external id, checked by the local STS
 *   (the trust policy itself, resolved, put on a role there and assumed over the real SDK);
 * - the bus policy admits PutEvents from the Organization's accounts only (simulated cross-account, with the
 *   member's forwarding role as the caller);
 * and both pass cfn-lint where installed (the bus file as part of the packaged template, test/deploy/template.test.ts).
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  MEMBER_TEMPLATE_PATH,
  renderMemberRole,
  withParameterValues,
} from "../../infra/local/iam/member-role.js";
import { type KmsEmulator, startKmsEmulator } from "../../infra/local/kms/index.js";
import { loadForwardingRules } from "../../infra/local/runner/forwarding.js";
import type { CfnTemplate } from "./support/packaged-service.js";
import { REPO_ROOT } from "./support/packaged-service.js";
import { ACCOUNT as MEMBER, REGION, resolvePolicy } from "./support/resolve-policy.js";

const run = promisify(execFile);
const TEMPLATE = MEMBER_TEMPLATE_PATH;
const BUS_TEMPLATE = join(REPO_ROOT, "infra", "member-bus.yml");
const HUB = "210987654321";
const HUB_PREFIX = "tether-prod-eu-west-1";
const DEPLOYMENT = "tether/prod/eu-west-1";
const REGIONS = ["eu-west-1", "eu-central-1"];
const EXTERNAL_ID = "hub-7f3c9a-external";
const ORG = "o-a1b2c3d4e5";
/** A member account whose forwarding role puts events on the hub bus (the bus test's caller). */
const FORWARDING_ACCOUNT = "444455556666";
const HUB_BUS = `arn:aws:events:eu-west-1:${HUB}:event-bus/default`;
const KEY = `arn:aws:kms:${REGION}:${MEMBER}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const PARAMETERS: Record<string, unknown> = {
  HubAccountId: HUB,
  HubRolePrefix: HUB_PREFIX,
  ExternalId: EXTERNAL_ID,
  Deployment: DEPLOYMENT,
  Regions: REGIONS,
  HubBusArn: HUB_BUS,
  RoleRegion: REGION,
};
/** The hub statements the member role carries, by Sid, as infra/iam-statements.yml names them. */
const HUB_STATEMENTS = [
  "kms.read",
  "kms.importPath",
  "kms.untag",
  "cloudTrailLookup",
  "kms.denyOtherDeployments",
  "kms.denyTagUnmarked",
  "kms.denyOtherOrigins",
  "kms.denyLockoutBypass",
];
/** What the managed-key boundary lets a hub role do on one of the deployment's EXTERNAL keys. */
const BOUNDARY_WRITES = [
  "kms:GetParametersForImport",
  "kms:ImportKeyMaterial",
  "kms:DeleteImportedKeyMaterial",
  "kms:RotateKeyOnDemand",
  "kms:UntagResource",
];
const OTHER_WRITES = [
  "kms:ReplicateKey",
  "kms:CreateAlias",
  "kms:UpdateAlias",
  "kms:PutKeyPolicy",
  "kms:TagResource",
  "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion",
  "kms:DisableKey",
  "kms:EnableKey",
  "kms:CreateGrant",
  "kms:EnableKeyRotation",
  "kms:UpdateKeyDescription",
  "kms:Decrypt",
  "kms:Encrypt",
  "kms:GenerateDataKey",
  "kms:Sign",
];

type Decision = "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied";
interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Principal?: unknown;
  Condition?: unknown;
}

let raw: CfnTemplate;
/** The member template with the test's parameter values as defaults (what resolvePolicy computes with). */
let template: CfnTemplate;
let policy: { Statement: Statement[] };
let trust: { Statement: Statement[] };

const withValues = (t: CfnTemplate, values: Record<string, unknown>): CfnTemplate =>
  withParameterValues(t, values) as CfnTemplate;

beforeAll(async () => {
  raw = parse(await readFile(TEMPLATE, "utf8")) as CfnTemplate;
  template = withValues(raw, PARAMETERS);
  const role = template.Resources.MemberRole?.Properties as {
    Policies: Array<{ PolicyDocument: unknown }>;
    AssumeRolePolicyDocument: unknown;
  };
  expect(role.Policies).toHaveLength(1);
  policy = resolvePolicy(template, role.Policies[0]?.PolicyDocument) as typeof policy;
  trust = resolvePolicy(template, role.AssumeRolePolicyDocument) as typeof trust;
});

async function decide(action: string, resource: string, context: Record<string, string | string[]>) {
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${MEMBER}:assumed-role/tether-member/tether-sweep`,
        action,
        resource: { resource, accountId: MEMBER },
        contextVariables: { "aws:RequestedRegion": REGION, ...context },
      },
      identityPolicies: [{ name: "tether-member", policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(action.startsWith("kms:")
        ? {
            resourcePolicy: {
              Version: "2012-10-17",
              Statement: [
                {
                  Effect: "Allow",
                  Principal: { AWS: `arn:aws:iam::${MEMBER}:root` },
                  Action: "kms:*",
                  Resource: "*",
                },
              ],
            },
          }
        : {}),
    },
    {},
  );
  if (result.resultType === "error") throw new Error(`${action}: ${JSON.stringify(result.errors)}`);
  return result.overallResult as Decision;
}

const managed = (deployment = DEPLOYMENT, origin = "EXTERNAL") => ({
  "kms:KeyOrigin": origin,
  "aws:ResourceTag/tether:managed-by": deployment,
});

describe("the member role", () => {
  it("carries the hub's managed-key boundary statement for statement, and only a ListKeys besides", async () => {
    // The serverless variables of infra/iam-statements.yml, given this test's values.
    const text = (await readFile(join(REPO_ROOT, "infra", "iam-statements.yml"), "utf8"))
      // biome-ignore lint/suspicious/noTemplateCurlyInString: serverless.yml variable syntax
      .replaceAll("${self:custom.names.deployment}", DEPLOYMENT)
      // biome-ignore lint/suspicious/noTemplateCurlyInString: serverless.yml variable syntax
      .replaceAll("${file(infra/iam-statements.yml):regions}", JSON.stringify(REGIONS));
    const hub = parse(text) as Record<string, unknown>;
    const pick = (path: string) =>
      path.split(".").reduce<unknown>((node, part) => (node as Record<string, unknown>)[part], hub);
    const hubStatements = HUB_STATEMENTS.map((path) => resolvePolicy(template, pick(path)) as Statement);
    const bySid = new Map(policy.Statement.map((s) => [s.Sid, s]));
    for (const statement of hubStatements) expect(bySid.get(statement.Sid), statement.Sid).toEqual(statement);
    expect(policy.Statement.map((s) => s.Sid).sort()).toEqual(
      [...hubStatements.map((s) => s.Sid), "KmsListKeys"].sort(),
    );
  });

  it("writes only the deployment's EXTERNAL keys, and only through the import path and unmarking", async () => {
    for (const action of BOUNDARY_WRITES) {
      const context: Record<string, string[]> =
        action === "kms:UntagResource" ? { "aws:TagKeys": ["tether:managed-by"] } : {};
      expect(await decide(action, KEY, { ...managed(), ...context }), action).toBe("Allowed");
      expect(
        await decide(action, KEY, { "kms:KeyOrigin": "EXTERNAL", ...context }),
        `${action} unmarked`,
      ).not.toBe("Allowed");
      expect(await decide(action, KEY, { ...managed("tether/other/eu-west-1"), ...context }), action).toBe(
        "ExplicitlyDenied",
      );
      expect(await decide(action, KEY, { ...managed(DEPLOYMENT, "AWS_KMS"), ...context }), action).toBe(
        "ExplicitlyDenied",
      );
      expect(
        await decide(action, KEY, { ...managed(), ...context, "aws:RequestedRegion": "us-east-1" }),
        `${action} outside the Regions`,
      ).not.toBe("Allowed");
    }
    expect(await decide("kms:UntagResource", KEY, { ...managed(), "aws:TagKeys": ["team"] })).not.toBe(
      "Allowed",
    );
  });

  it("has no action outside the boundary: no other KMS write, no key creation, nothing of other services", async () => {
    for (const action of OTHER_WRITES) {
      expect(await decide(action, KEY, managed()), action).not.toBe("Allowed");
    }
    expect(
      await decide("kms:CreateKey", "*", {
        "kms:KeyOrigin": "EXTERNAL",
        "aws:RequestTag/tether:managed-by": DEPLOYMENT,
      }),
    ).not.toBe("Allowed");
    for (const [action, resource] of [
      ["iam:PassRole", `arn:aws:iam::${MEMBER}:role/anything`],
      ["sts:AssumeRole", `arn:aws:iam::${MEMBER}:role/admin`],
      ["events:PutEvents", `arn:aws:events:${REGION}:${MEMBER}:event-bus/default`],
      ["s3:GetObject", "arn:aws:s3:::bucket/key"],
      ["secretsmanager:GetSecretValue", `arn:aws:secretsmanager:${REGION}:${MEMBER}:secret:x`],
    ] as const) {
      expect(await decide(action, resource, {}), action).toBe("ImplicitlyDenied");
    }
    // Every action it allows is one the hub's roles hold too (or the member-only ListKeys).
    const allowed = policy.Statement.filter((s) => s.Effect === "Allow").flatMap((s) =>
      Array.isArray(s.Action) ? s.Action : [s.Action],
    );
    expect(allowed.sort()).toEqual(
      [
        "kms:DescribeKey",
        "kms:ListResourceTags",
        "kms:ListKeyRotations",
        "kms:ListKeys",
        ...BOUNDARY_WRITES,
        "cloudtrail:LookupEvents",
      ].sort(),
    );
    expect(await decide("kms:DescribeKey", KEY, {})).toBe("Allowed");
  });

  it("is what the local STS puts on a member role: the same trust and policy, rendered for the member", () => {
    const rendered = renderMemberRole({
      memberAccountId: MEMBER,
      hubAccountId: HUB,
      hubRolePrefix: HUB_PREFIX,
      externalId: EXTERNAL_ID,
      deployment: DEPLOYMENT,
      regions: REGIONS,
      roleRegion: REGION,
    });
    expect(rendered).toEqual({
      arn: `arn:aws:iam::${MEMBER}:role/tether-member`,
      trustPolicy: trust,
      permissionPolicy: policy,
    });
  });

  it("trusts exactly the hub's api, sweep, sweep-partition and kms-events roles, with the external id", () => {
    expect(trust.Statement).toEqual([
      {
        Sid: "HubFunctionRoles",
        Effect: "Allow",
        Principal: {
          AWS: ["api", "sweep", "sweep-partition", "kms-events"].map(
            (fn) => `arn:aws:iam::${HUB}:role/${HUB_PREFIX}-${fn}`,
          ),
        },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "sts:ExternalId": EXTERNAL_ID } },
      },
    ]);
    const role = raw.Resources.MemberRole as { Condition?: string; Properties: Record<string, unknown> };
    // One role per account: only the RoleRegion's stack instance creates it.
    expect(role.Condition).toBe("CreatesRole");
    expect(role.Properties.MaxSessionDuration).toBe(3600);
  });

  describe("assumed through the local STS", () => {
    let kms: KmsEmulator;
    const roleArn = `arn:aws:iam::${MEMBER}:role/tether-member`;
    const sessionOf = (role: string) => `arn:aws:sts::${HUB}:assumed-role/${role}/s`;
    const callers: Record<string, string> = {
      sweep: sessionOf(`${HUB_PREFIX}-sweep`),
      api: sessionOf(`${HUB_PREFIX}-api`),
      events: sessionOf(`${HUB_PREFIX}-kms-events`),
      probe: sessionOf(`${HUB_PREFIX}-probe`),
      other: sessionOf("BreakGlass"),
      memberAdmin: `arn:aws:iam::${MEMBER}:user/admin`,
    };
    beforeAll(async () => {
      kms = await startKmsEmulator({
        identities: Object.entries(callers).map(([key, arn]) => ({ accessKeyId: `AKID${key}`, arn })),
      });
      await kms.admin.putRole({ arn: roleArn, trustPolicy: trust, permissionPolicy: policy });
    });
    afterAll(async () => kms?.close());

    async function assumeAs(caller: string, externalId?: string): Promise<string> {
      const sts = new STSClient({
        endpoint: kms.url,
        region: REGION,
        credentials: { accessKeyId: `AKID${caller}`, secretAccessKey: "x" },
        maxAttempts: 1,
      });
      try {
        await sts.send(
          new AssumeRoleCommand({
            RoleArn: roleArn,
            RoleSessionName: "tether-check",
            ...(externalId === undefined ? {} : { ExternalId: externalId }),
          }),
        );
        return "ok";
      } catch (err) {
        return (err as Error).name;
      }
    }

    it("lets the hub's function roles in with the external id, and nobody else", async () => {
      for (const caller of ["sweep", "api", "events"])
        expect(await assumeAs(caller, EXTERNAL_ID), caller).toBe("ok");
      expect(await assumeAs("sweep")).toBe("AccessDenied");
      expect(await assumeAs("sweep", "another-external-id")).toBe("AccessDenied");
      for (const caller of ["probe", "other", "memberAdmin"]) {
        expect(await assumeAs(caller, EXTERNAL_ID), caller).toBe("AccessDenied");
      }
    });
  });
});

describe("the forwarding of KMS events to the hub", () => {
  it("sends the events the forwarding stack sends, to the hub bus, with a role that may only put events there", async () => {
    const [forwarding] = await loadForwardingRules(join(REPO_ROOT, "infra", "forwarding.yml"));
    const rule = raw.Resources.KmsEventsToHubRule?.Properties as Record<string, unknown>;
    expect(rule.EventPattern).toEqual(forwarding?.eventPattern);
    expect(rule).toMatchObject({
      EventBusName: "default",
      State: "ENABLED",
      Targets: [{ Arn: { Ref: "HubBusArn" }, RoleArn: { "Fn::GetAtt": ["ForwardingRole", "Arn"] } }],
    });
    const role = raw.Resources.ForwardingRole?.Properties as { Policies: Array<{ PolicyDocument: unknown }> };
    expect(resolvePolicy(template, role.Policies[0]?.PolicyDocument)).toEqual({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "events:PutEvents", Resource: HUB_BUS }],
    });
    const pattern = new RegExp(
      String((raw.Parameters?.HubBusArn as { AllowedPattern?: string } | undefined)?.AllowedPattern),
    );
    expect(pattern.test(HUB_BUS)).toBe(true);
    expect(pattern.test(`arn:aws:events:eu-west-1:${HUB}:event-bus/tether-prod-audit`)).toBe(false);
  });
});

describe("the hub bus policy", () => {
  let bus: CfnTemplate;
  beforeAll(async () => {
    bus = parse(await readFile(BUS_TEMPLATE, "utf8")) as CfnTemplate;
  });

  async function putEvents(org: string | undefined, organizationId = ORG): Promise<Decision> {
    const hubBus = withValues(bus, { OrganizationId: organizationId });
    const statement = resolvePolicy(hubBus, hubBus.Resources.HubBusOrganizationPolicy?.Properties?.Statement);
    const forwardingRole = raw.Resources.ForwardingRole?.Properties as {
      Policies: Array<{ PolicyDocument: unknown }>;
    };
    const busArn = `arn:aws:events:${REGION}:${MEMBER}:event-bus/default`;
    const result = await runSimulation(
      {
        request: {
          principal: `arn:aws:sts::${FORWARDING_ACCOUNT}:assumed-role/member-forwarding/events`,
          action: "events:PutEvents",
          resource: { resource: busArn, accountId: MEMBER },
          contextVariables: { ...(org === undefined ? {} : { "aws:PrincipalOrgID": org }) },
        },
        // The bus is in the resolver's account (the hub here); the caller is a member's forwarding role.
        identityPolicies: [
          {
            name: "forwarding",
            policy: resolvePolicy(
              withValues(raw, { ...PARAMETERS, HubBusArn: busArn }),
              forwardingRole.Policies[0]?.PolicyDocument,
            ),
          },
        ],
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: { Version: "2012-10-17", Statement: [statement] },
      },
      {},
    );
    if (result.resultType === "error") throw new Error(JSON.stringify(result.errors));
    return result.overallResult as Decision;
  }

  it("admits PutEvents from the Organization's accounts only", async () => {
    expect(await putEvents(ORG)).toBe("Allowed");
    expect(await putEvents("o-zzzzzzzzzz")).not.toBe("Allowed");
    expect(await putEvents(undefined)).not.toBe("Allowed");
  });

  it("exists only when an Organization id is given, and serverless.yml includes it with none by default", async () => {
    expect(bus.Conditions?.AdmitsOrganization).toEqual({
      "Fn::Not": [{ "Fn::Equals": [{ Ref: "OrganizationId" }, ""] }],
    });
    expect(bus.Resources.HubBusOrganizationPolicy).toMatchObject({
      Condition: "AdmitsOrganization",
      Properties: { EventBusName: "default" },
    });
    const pattern = new RegExp(
      String((bus.Parameters?.OrganizationId as { AllowedPattern?: string } | undefined)?.AllowedPattern),
    );
    expect(pattern.test("")).toBe(true);
    expect(pattern.test(ORG)).toBe(true);
    expect(pattern.test("123456789012")).toBe(false);
    const serverless = await readFile(join(REPO_ROOT, "serverless.yml"), "utf8");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: serverless.yml variable syntax
    expect(serverless).toContain("${file(infra/member-bus.yml)}");
    expect(serverless).toMatch(/\n {4}organizationId: ""\n/);
  });
});

const cfnLint = (process.env.PATH ?? "")
  .split(":")
  .some((dir) => dir !== "" && existsSync(join(dir, "cfn-lint")));
if (!cfnLint) console.warn("cfn-lint is not installed here: skipping the member template lint.");
it.skipIf(!cfnLint)(
  "the member template passes cfn-lint",
  async () => {
    const result = await run("cfn-lint", ["--", TEMPLATE]).then(
      () => ({ code: 0, output: "" }),
      (error: { code?: number; stdout?: string }) => ({ code: error.code ?? 1, output: error.stdout ?? "" }),
    );
    expect(result.output).toBe("");
    expect(result.code).toBe(0);
  },
  60_000,
);
