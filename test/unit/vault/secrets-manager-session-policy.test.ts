/**
 * The session policy each function's vault session carries, evaluated with an IAM policy simulator
 * (@cloud-copilot/iam-simulate) against a vault role that grants everything: what is left is what the
 * session policy allows.
 */
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { describe, expect, it } from "vitest";
import type { SecretsManagerVaultAccess } from "../../../lib/config.js";
import { secretsManagerSessionPolicy } from "../../../lib/vault/secrets-manager/session-policy.js";

const VAULT_ACCOUNT = "444455556666";
const ROLE_ARN = `arn:aws:iam::${VAULT_ACCOUNT}:role/tether-vault-access`;
const REGION = "eu-west-1";
const PREFIX = "tether-prod/";
const secret = (name: string, region = REGION, account = VAULT_ACCOUNT) =>
  `arn:aws:secretsmanager:${region}:${account}:secret:${name}-AbCdEf`;

async function decide(access: SecretsManagerVaultAccess, action: string, resource: string): Promise<string> {
  const result = await runSimulation(
    {
      request: {
        principal: `arn:aws:sts::${VAULT_ACCOUNT}:assumed-role/tether-vault-access/tether-prod-api`,
        action,
        resource: { resource, accountId: resource.split(":")[4] as string },
        contextVariables: {},
      },
      sessionPolicy: JSON.parse(
        secretsManagerSessionPolicy({ roleArn: ROLE_ARN, region: REGION, secretPrefix: PREFIX, access }),
      ),
      identityPolicies: [
        {
          name: "vault-role-grants-everything",
          policy: {
            Version: "2012-10-17",
            Statement: [{ Effect: "Allow", Action: "secretsmanager:*", Resource: "*" }],
          },
        },
      ],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
    },
    {},
  );
  if (result.resultType === "error") throw new Error(JSON.stringify(result.errors));
  return result.overallResult;
}

describe("secretsManagerSessionPolicy", () => {
  it("lets every function read material under the deployment's prefix, and nothing else", async () => {
    for (const access of ["read", "read-create"] as const) {
      expect(await decide(access, "secretsmanager:GetSecretValue", secret("tether-prod/team/key-1"))).toBe(
        "Allowed",
      );
      expect(await decide(access, "secretsmanager:DescribeSecret", secret("tether-prod/team/key-1"))).toBe(
        "Allowed",
      );
      for (const outside of [
        secret("tether-dev/team/key-1"),
        secret("payments/db-password"),
        secret("tether-prodx/key"),
        secret("tether-prod/team/key-1", "us-east-1"),
        secret("tether-prod/team/key-1", REGION, "111122223333"),
      ]) {
        expect(await decide(access, "secretsmanager:GetSecretValue", outside), outside).not.toBe("Allowed");
      }
    }
  });

  it("lets only read-create sessions (api, sweep) create, and nobody overwrite, delete or list", async () => {
    const inside = secret("tether-prod/team/key-2");
    expect(await decide("read-create", "secretsmanager:CreateSecret", inside)).toBe("Allowed");
    expect(await decide("read-create", "secretsmanager:TagResource", inside)).toBe("Allowed");
    expect(await decide("read", "secretsmanager:CreateSecret", inside)).toBe("ImplicitlyDenied");
    expect(await decide("read", "secretsmanager:TagResource", inside)).toBe("ImplicitlyDenied");
    expect(await decide("read-create", "secretsmanager:CreateSecret", secret("payments/new"))).toBe(
      "ImplicitlyDenied",
    );
    for (const access of ["read", "read-create"] as const) {
      for (const action of [
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecret",
        "secretsmanager:DeleteSecret",
        "secretsmanager:PutResourcePolicy",
        "secretsmanager:UntagResource",
      ]) {
        expect(await decide(access, action, inside), `${access} ${action}`).toBe("ImplicitlyDenied");
      }
    }
    expect(await decide("read-create", "secretsmanager:ListSecrets", "*")).toBe("ImplicitlyDenied");
  });
});
