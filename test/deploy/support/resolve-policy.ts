import { resolvePolicy as resolveAt } from "../../../infra/local/iam/cfn-policy.js";
import type { CfnTemplate } from "./packaged-service.js";

/** The made-up account and Region the packaged template is evaluated in. */
export const ACCOUNT = "123456789012";
export const REGION = "eu-west-1";

/**
 * Evaluates the CloudFormation intrinsics of an IAM policy document as CloudFormation would for a stack in
 * {@link ACCOUNT}/{@link REGION} (infra/local/iam/cfn-policy.ts, which the local STS uses too): what comes
 * out is a plain policy an IAM simulator evaluates. Anything it does not know is refused, rather than guessed.
 */
export function resolvePolicy(template: CfnTemplate, value: unknown): unknown {
  return resolveAt(template, value, { accountId: ACCOUNT, region: REGION });
}
