import type { SecretsManagerVaultAccess } from "./settings.js";

/**
 * The session policy Tether passes with AssumeRole: the assumed session may do no more than the vault role's
 * own policy *and* this allow, so each function reaches only what it uses, whatever the vault role grants
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies.html#policies_session).
 *
 * Every function reads material (GetSecretValue, DescribeSecret); the api and the sweep also create it
 * (CreateSecret, with TagResource because Tether tags the secret at creation: CreateSecret with Tags needs
 * both, https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html). Nothing is
 * ever overwritten, deleted or listed. Every statement is limited to the deployment's secret prefix in the
 * vault account and Region (a secret's ARN ends in its name and a `-` with six random characters).
 */
export function secretsManagerSessionPolicy(options: {
  readonly roleArn: string;
  readonly region: string;
  readonly secretPrefix: string;
  readonly access: SecretsManagerVaultAccess;
}): string {
  const [, partition, , , account] = options.roleArn.split(":");
  const secrets = `arn:${partition}:secretsmanager:${options.region}:${account}:secret:${options.secretPrefix}*`;
  const statements: Record<string, unknown>[] = [
    {
      Sid: "ReadMaterial",
      Effect: "Allow",
      Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
      Resource: secrets,
    },
  ];
  if (options.access === "read-create") {
    statements.push({
      Sid: "CreateMaterial",
      Effect: "Allow",
      Action: ["secretsmanager:CreateSecret", "secretsmanager:TagResource"],
      Resource: secrets,
    });
  }
  return JSON.stringify({ Version: "2012-10-17", Statement: statements });
}
