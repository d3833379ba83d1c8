/**
 * The vault's secret by reference in the packaged template: with `vaultSecretRef` set, every function gets it
 * as TETHER_VAULT_SECRET_REF and may read exactly that parameter or secret (and decrypt it only through its
 * service, for its encryption context); without it, no such grant exists. The grants are evaluated with an IAM
 * policy simulator (@cloud-copilot/iam-simulate), not read.
 */
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CfnResource,
  lambdaFunctions,
  type PackagedService,
  packageService,
} from "./support/packaged-service.js";

const ACCOUNT = "123456789012";
const REGION = "eu-west-1";
const REF = `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/tether/ci/file-vault-passphrase`;
const FUNCTIONS = ["api", "sweep", "sweep-partition", "kms-events"] as const;

let withRef: PackagedService;
let withoutRef: PackagedService;

beforeAll(async () => {
  [withRef, withoutRef] = await Promise.all([
    packageService("ci", { vaultSecretRef: REF }),
    packageService("ci"),
  ]);
}, 300_000);

afterAll(async () => {
  await withRef?.remove();
  await withoutRef?.remove();
});

/** Replaces Ref/Fn::Sub/Fn::GetAtt of the policy with the values a deployment would give them. */
function resolve(value: unknown, parameters: Record<string, string>): unknown {
  if (Array.isArray(value)) return value.map((v) => resolve(v, parameters));
  if (value !== null && typeof value === "object") {
    const record = value as Record<string, unknown>;
    if (typeof record.Ref === "string") return parameters[record.Ref] ?? `ref-${record.Ref}`;
    if (typeof record["Fn::Sub"] === "string") {
      return (record["Fn::Sub"] as string)
        .replace(/\$\{AWS::Region\}/g, REGION)
        .replace(/\$\{AWS::AccountId\}/g, ACCOUNT);
    }
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, resolve(v, parameters)]));
  }
  return value;
}

function vaultSecretPolicy(packaged: PackagedService): CfnResource {
  const policy = packaged.template.Resources.VaultSecretReadPolicy;
  if (policy === undefined) throw new Error("VaultSecretReadPolicy is not in the template");
  return policy;
}

async function decide(
  action: string,
  resource: string,
  context: Record<string, string> = {},
): Promise<string> {
  const policy = resolve(vaultSecretPolicy(withRef).Properties?.PolicyDocument, { VaultSecretRef: REF });
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${ACCOUNT}:assumed-role/tether-ci-eu-west-1-kms-events/tether-ci-kms-events`,
        action,
        resource: { resource, accountId: ACCOUNT },
        contextVariables: context,
      },
      identityPolicies: [{ name: "tether-vault-secret", policy }],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === "error") throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

describe("the vault secret by reference in the packaged template", () => {
  it("reaches every function as TETHER_VAULT_SECRET_REF, empty unless the stage sets it", () => {
    for (const [packaged, expected] of [
      [withRef, REF],
      [withoutRef, ""],
    ] as const) {
      const functions = lambdaFunctions(packaged.template);
      for (const name of FUNCTIONS) {
        const environment = functions.get(name)?.Properties?.Environment as
          | { Variables?: Record<string, unknown> }
          | undefined;
        const variables = environment?.Variables ?? {};
        expect(variables.TETHER_VAULT_SECRET_REF, name).toBe(expected);
      }
    }
  });

  it("grants the four roles, only when the parameter is set", () => {
    const policy = vaultSecretPolicy(withRef);
    expect(policy.Condition).toBe("HasVaultSecretRef");
    expect(policy.Properties?.Roles).toEqual([
      { Ref: "ApiRole" },
      { Ref: "SweepRole" },
      { Ref: "SweepPartitionRole" },
      { Ref: "KmsEventsRole" },
    ]);
    expect(withRef.template.Parameters?.VaultSecretRef?.Default).toBe(REF);
    expect(withoutRef.template.Parameters?.VaultSecretRef?.Default).toBe("");
    expect(withRef.template.Conditions?.HasVaultSecretRef).toEqual({
      "Fn::Not": [{ "Fn::Equals": [{ Ref: "VaultSecretRef" }, ""] }],
    });
  });

  it("allows reading exactly the referenced parameter, and nothing else", async () => {
    expect(await decide("ssm:GetParameter", REF)).toBe("Allowed");
    expect(
      await decide("ssm:GetParameter", `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/tether/ci/other`),
    ).toBe("ImplicitlyDenied");
    expect(await decide("ssm:GetParameters", REF)).toBe("ImplicitlyDenied");
    expect(await decide("ssm:PutParameter", REF)).toBe("ImplicitlyDenied");
    expect(
      await decide(
        "secretsmanager:GetSecretValue",
        `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:x-AbCdEf`,
      ),
    ).toBe("ImplicitlyDenied");
  });

  it("allows kms:Decrypt only through the store's service and only for the referenced resource's encryption context", async () => {
    // The simulator ignores kms:EncryptionContext:<key> (it matches variable keys only after a "/"), so the
    // conditions are read here; what it can evaluate — a Decrypt without them — is denied.
    const statements = (
      resolve(vaultSecretPolicy(withRef).Properties?.PolicyDocument, { VaultSecretRef: REF }) as {
        Statement: Array<{ Sid: string; Action: unknown; Condition?: unknown }>;
      }
    ).Statement.filter((s) => s.Action === "kms:Decrypt");
    expect(statements.map((s) => s.Condition)).toEqual([
      {
        StringEquals: {
          "kms:ViaService": `ssm.${REGION}.amazonaws.com`,
          "kms:EncryptionContext:PARAMETER_ARN": REF,
        },
      },
      {
        StringEquals: {
          "kms:ViaService": `secretsmanager.${REGION}.amazonaws.com`,
          "kms:EncryptionContext:SecretARN": REF,
        },
      },
    ]);
    const key = `arn:aws:kms:${REGION}:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
    expect(await decide("kms:Decrypt", key)).toBe("ImplicitlyDenied");
    expect(await decide("kms:Decrypt", key, { "kms:ViaService": `ssm.${REGION}.amazonaws.com` })).toBe(
      "ImplicitlyDenied",
    );
    expect(await decide("kms:Encrypt", key, { "kms:ViaService": `ssm.${REGION}.amazonaws.com` })).toBe(
      "ImplicitlyDenied",
    );
  });
});
