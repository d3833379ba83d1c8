/**
 * The vault agent's signing key in the packaged template (infra/agent-signing-key.yml): with `vault: agent`
 * the stack makes an RSA SIGN_VERIFY key whose ARN the four functions that sign get as
 * TETHER_AGENT_SIGNING_KEY, and only their roles may Sign with it; with a key brought (`agentSigningKey`)
 * it makes none and grants Sign on that key only; with any other vault nothing of it exists. Intrinsics are
 * evaluated as CloudFormation would with the packaged parameters (support/resolve-policy.ts), and the
 * grants decided by an IAM policy simulator (@cloud-copilot/iam-simulate) with the key's own key policy.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { METRIC_DIMENSION, METRIC_NAMESPACE } from "../../lib/lifecycle/scheduled/expiry-metric.js";
import { roleIdOf } from "./support/iam.js";
import {
  type CfnTemplate,
  lambdaFunctions,
  type PackagedService,
  packageService,
} from "./support/packaged-service.js";
import { ACCOUNT, REGION, resolvePolicy } from "./support/resolve-policy.js";

const run = promisify(execFile);
const SIGNERS = ["api", "sweep", "sweep-partition", "kms-events"] as const;
const ALL = [...SIGNERS, "probe"] as const;
type Fn = (typeof ALL)[number];
const BROUGHT = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const OTHER_KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/99999999-12ab-34cd-56ef-1234567890ab`;
const ALGORITHM = "RSASSA_PKCS1_V1_5_SHA_256";
/** KMS's default key policy: the account delegates every action to IAM (another key of the account). */
const DEFAULT_KEY_POLICY = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
      Action: "kms:*",
      Resource: "*",
    },
  ],
};
/** Someone of the account with every KMS permission IAM can give (an administrator). */
const ADMIN_POLICY = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Action: "kms:*", Resource: "*" }],
};

let stackKey: PackagedService;
let brought: PackagedService;
let fileVault: PackagedService;

beforeAll(async () => {
  [stackKey, brought, fileVault] = await Promise.all([
    packageService("ci", { vault: "agent" }),
    packageService("ci", { vault: "agent", agentSigningKey: BROUGHT }),
    packageService("ci"),
  ]);
}, 300_000);

afterAll(async () => {
  await Promise.all([stackKey?.remove(), brought?.remove(), fileVault?.remove()]);
});

/** Whether a template condition holds with the packaged parameters. */
function holds(template: CfnTemplate, condition: string | undefined): boolean {
  if (condition === undefined) return true;
  return resolvePolicy(template, { "Fn::If": [condition, true, false] }) === true;
}

/** TETHER_AGENT_SIGNING_KEY of each function, as CloudFormation would give it. */
function signingKeyEnv(template: CfnTemplate): Map<Fn, unknown> {
  const functions = lambdaFunctions(template);
  return new Map(
    ALL.map((fn) => {
      const env = functions.get(fn)?.Properties?.Environment as { Variables: Record<string, unknown> };
      return [fn, resolvePolicy(template, env.Variables.TETHER_AGENT_SIGNING_KEY)];
    }),
  );
}

/** The role of a function: its name and every identity policy the stack attaches to it. */
function roleOf(
  template: CfnTemplate,
  fn: Fn,
): { name: string; policies: Array<{ name: string; policy: unknown }> } {
  const roleId = roleIdOf(lambdaFunctions(template).get(fn) as NonNullable<CfnTemplate["Resources"][string]>);
  const role = template.Resources[roleId];
  const inline = (role?.Properties?.Policies ?? []) as Array<{ PolicyName: string; PolicyDocument: unknown }>;
  const attached = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === "AWS::IAM::Policy" && holds(template, r.Condition))
    .filter(([, r]) => JSON.stringify(r.Properties?.Roles).includes(`"${roleId}"`))
    .map(([, r]) => ({
      PolicyName: String(r.Properties?.PolicyName),
      PolicyDocument: r.Properties?.PolicyDocument,
    }));
  return {
    name: String(role?.Properties?.RoleName),
    policies: [...inline, ...attached].map((p) => ({
      name: p.PolicyName,
      policy: resolvePolicy(template, p.PolicyDocument),
    })),
  };
}

function stackKeyArn(template: CfnTemplate): string {
  return String(resolvePolicy(template, { "Fn::GetAtt": ["AgentSigningKey", "Arn"] }));
}

async function decide(
  template: CfnTemplate,
  who: Fn | "admin",
  action: string,
  key: string,
  context: Record<string, string> = { "kms:SigningAlgorithm": ALGORITHM },
): Promise<string> {
  const keyPolicy =
    key === stackKeyArn(template) && holds(template, "CreatesAgentSigningKey")
      ? resolvePolicy(template, template.Resources.AgentSigningKey?.Properties?.KeyPolicy)
      : DEFAULT_KEY_POLICY;
  const role =
    who === "admin"
      ? { name: "Administrator", policies: [{ name: "admin", policy: ADMIN_POLICY }] }
      : roleOf(template, who);
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${role.name}/${who}`,
        action,
        resource: { resource: key, accountId: ACCOUNT },
        contextVariables: { "aws:RequestedRegion": REGION, "kms:KeyOrigin": "AWS_KMS", ...context },
      },
      identityPolicies: role.policies,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: keyPolicy,
    },
    {},
  );
  if (result.resultType === "error") throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

describe("vault: agent, no key given: the stack's signing key", () => {
  it("makes an RSA SIGN_VERIFY key with an alias naming the deployment, outside Tether's alias prefix", () => {
    const t = stackKey.template;
    expect(holds(t, "CreatesAgentSigningKey")).toBe(true);
    const key = t.Resources.AgentSigningKey;
    expect(key?.Type).toBe("AWS::KMS::Key");
    expect(key?.Condition).toBe("CreatesAgentSigningKey");
    expect(key?.Properties?.KeyUsage).toBe("SIGN_VERIFY");
    expect(key?.Properties?.KeySpec).toMatch(/^RSA_(2048|3072|4096)$/);
    const alias = t.Resources.AgentSigningKeyAlias;
    expect(holds(t, alias?.Condition)).toBe(true);
    expect(alias?.Properties?.AliasName).toBe("alias/tether-agent-signing/ci/eu-west-1");
    expect(alias?.Properties?.TargetKeyId).toEqual({ Ref: "AgentSigningKey" });
    // Tether's roles may create or move aliases under alias/tether/ci/ only: not this one.
    expect(String(alias?.Properties?.AliasName).startsWith("alias/tether/ci/")).toBe(false);
  });

  it("gives the four functions that sign the key's ARN, and the probe nothing", () => {
    const env = signingKeyEnv(stackKey.template);
    const arn = stackKeyArn(stackKey.template);
    expect(arn).toMatch(/^arn:aws:kms:eu-west-1:123456789012:key\//);
    for (const fn of SIGNERS) expect(env.get(fn), fn).toBe(arn);
    expect(env.get("probe")).toBe("");
  });

  it("lets only the api, sweep, sweep-partition and kms-events roles Sign with it, and only with Tether's algorithm", async () => {
    const t = stackKey.template;
    const key = stackKeyArn(t);
    for (const fn of SIGNERS) {
      expect(await decide(t, fn, "kms:Sign", key), fn).toBe("Allowed");
      // The managed-key boundary's denies do not reach Sign.
      expect(await decide(t, fn, "kms:Sign", key), fn).not.toBe("ExplicitlyDenied");
      expect(
        await decide(t, fn, "kms:Sign", key, { "kms:SigningAlgorithm": "RSASSA_PSS_SHA_256" }),
        fn,
      ).not.toBe("Allowed");
      // On no other key of the account.
      expect(await decide(t, fn, "kms:Sign", OTHER_KEY), fn).not.toBe("Allowed");
      // Nor administer it: its policy, alias, deletion.
      for (const action of [
        "kms:PutKeyPolicy",
        "kms:UpdateAlias",
        "kms:ScheduleKeyDeletion",
        "kms:DisableKey",
      ]) {
        expect(await decide(t, fn, action, key), `${fn} ${action}`).not.toBe("Allowed");
      }
    }
    expect(await decide(t, "probe", "kms:Sign", key)).not.toBe("Allowed");
  });

  it("lets the account administer it and read its public key, but no IAM policy give anyone else Sign", async () => {
    const t = stackKey.template;
    const key = stackKeyArn(t);
    expect(await decide(t, "admin", "kms:GetPublicKey", key, {})).toBe("Allowed");
    expect(await decide(t, "admin", "kms:DescribeKey", key, {})).toBe("Allowed");
    expect(await decide(t, "admin", "kms:ScheduleKeyDeletion", key, {})).toBe("Allowed");
    expect(await decide(t, "admin", "kms:Sign", key)).not.toBe("Allowed");
    expect(await decide(t, "admin", "kms:CreateGrant", key, {})).not.toBe("Allowed");
    // The same administrator may Sign with a key whose policy delegates to IAM: the key policy is what refuses.
    expect(await decide(t, "admin", "kms:Sign", OTHER_KEY)).toBe("Allowed");
  });
});

describe("vault: agent with agentSigningKey: a key brought", () => {
  it("makes no key and gives the four functions the ARN given", () => {
    const t = brought.template;
    expect(holds(t, "CreatesAgentSigningKey")).toBe(false);
    expect(holds(t, t.Resources.AgentSigningKeyAlias?.Condition)).toBe(false);
    const env = signingKeyEnv(t);
    for (const fn of ALL) expect(env.get(fn), fn).toBe(BROUGHT);
  });

  it("grants the four roles Sign on that key only", async () => {
    const t = brought.template;
    for (const fn of SIGNERS) {
      expect(await decide(t, fn, "kms:Sign", BROUGHT), fn).toBe("Allowed");
      expect(await decide(t, fn, "kms:Sign", OTHER_KEY), fn).not.toBe("Allowed");
    }
    expect(await decide(t, "probe", "kms:Sign", BROUGHT)).not.toBe("Allowed");
  });
});

describe("any other vault: nothing changes", () => {
  it("has no key, no alias, no grant, and TETHER_AGENT_SIGNING_KEY empty", async () => {
    const t = fileVault.template;
    expect(holds(t, "UsesAgentVault")).toBe(false);
    for (const [id, r] of Object.entries(t.Resources)) {
      if (
        [
          "AgentSigningKey",
          "AgentSigningKeyAlias",
          "AgentSigningPolicy",
          "BroughtAgentSigningPolicy",
        ].includes(id)
      ) {
        expect(holds(t, r.Condition), id).toBe(false);
      }
    }
    for (const [fn, value] of signingKeyEnv(t)) expect(value, fn).toBe("");
    for (const fn of ALL) {
      expect(await decide(t, fn, "kms:Sign", BROUGHT), fn).not.toBe("Allowed");
      expect(roleOf(t, fn).policies.map((p) => p.name)).not.toContain("tether-agent-signing");
    }
  });
});

describe("the agent-health alarm (infra/alerts.yml)", () => {
  it("exists with vault: agent only, on the sweep's VaultAgentsHealthy metric, paging on-call both ways", () => {
    for (const [packaged, expected] of [
      [stackKey, true],
      [brought, true],
      [fileVault, false],
    ] as const) {
      const t = packaged.template;
      const alarm = t.Resources.VaultAgentHealthAlarm;
      expect(alarm?.Type).toBe("AWS::CloudWatch::Alarm");
      expect(holds(t, alarm?.Condition)).toBe(expected);
      expect(alarm?.Properties).toMatchObject({
        Namespace: METRIC_NAMESPACE,
        MetricName: "VaultAgentsHealthy",
        Dimensions: [{ Name: METRIC_DIMENSION, Value: t.Resources.TetherTable?.Properties?.TableName }],
        Statistic: "Minimum",
        Threshold: 1,
        ComparisonOperator: "LessThanThreshold",
        AlarmActions: [{ Ref: "OnCallTopic" }],
        OKActions: [{ Ref: "OnCallTopic" }],
      });
    }
  });
});

const cfnLint = (process.env.PATH ?? "")
  .split(":")
  .some((dir) => dir !== "" && existsSync(join(dir, "cfn-lint")));
if (!cfnLint) console.warn("cfn-lint is not installed here: skipping the agent templates' lint.");
describe("cfn-lint", () => {
  it.skipIf(!cfnLint)(
    "passes on the templates with the stack's key and with a key brought",
    async () => {
      for (const packaged of [stackKey, brought]) {
        // W3005: osls's DependsOn next to a GetAtt (test/deploy/template.test.ts).
        const result = await run("cfn-lint", ["--ignore-checks", "W3005", "--", packaged.templatePath]).then(
          (r) => ({ code: 0, out: r.stdout + r.stderr }),
          (e: { code?: number; stdout?: string; stderr?: string }) => ({
            code: e.code ?? 1,
            out: `${e.stdout ?? ""}${e.stderr ?? ""}`,
          }),
        );
        expect(result.out).toBe("");
        expect(result.code).toBe(0);
      }
    },
    120_000,
  );
});
