/**
 * GetKeyPolicy, PutKeyPolicy, and the policy CreateKey and ReplicateKey attach:
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyPolicy.html
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_PutKeyPolicy.html
 * The emulator has no IAM, so it keeps policies as documents and never evaluates them; it checks what it
 * can without IAM: the name (`default` is the only one), the size, and that the document is a JSON policy.
 */
import type { KmsOperation } from "../context.js";
import type { KeyRecord } from "../domain/model.js";
import { KmsErrorType, kmsError } from "../errors.js";
import type { RequestReader } from "../validation.js";
import { KEY_ID_CONSTRAINT, requireNotPendingDeletion } from "./shared.js";

/** The only key policy name KMS has. */
const POLICY_NAME = "default";

/**
 * The policy KMS gives a key created without one: the account may use it through IAM.
 * https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
 */
export function defaultKeyPolicy(accountId: string): string {
  return JSON.stringify(
    {
      Version: "2012-10-17",
      Id: "key-default-1",
      Statement: [
        {
          Sid: "Enable IAM User Permissions",
          Effect: "Allow",
          Principal: { AWS: `arn:aws:iam::${accountId}:root` },
          Action: "kms:*",
          Resource: "*",
        },
      ],
    },
    null,
    2,
  );
}

/**
 * Reads the optional `Policy` member (1..32768 characters) and checks it is a policy document.
 * @throws MalformedPolicyDocumentException
 */
export function readPolicy(input: RequestReader, options: { required: boolean }): string | undefined {
  const policy = input.string("Policy", { required: options.required, min: 1, max: 32768 });
  if (policy === undefined) return undefined;
  let document: unknown;
  try {
    document = JSON.parse(policy);
  } catch {
    throw kmsError(KmsErrorType.MalformedPolicyDocument, "The policy is not valid JSON.");
  }
  const statement =
    typeof document === "object" && document !== null && !Array.isArray(document)
      ? (document as Record<string, unknown>).Statement
      : undefined;
  if (typeof statement !== "object" || statement === null) {
    throw kmsError(KmsErrorType.MalformedPolicyDocument, "The policy has no Statement.");
  }
  return policy;
}

function readPolicyName(input: RequestReader, required: boolean): void {
  const name = input.string("PolicyName", { required, min: 1, max: 128, pattern: /^[\w]+$/ });
  if (name !== undefined && name !== POLICY_NAME) {
    throw kmsError(
      KmsErrorType.NotFound,
      `Key policy ${name} is not found. The only policy name is default.`,
    );
  }
}

export const getKeyPolicy: KmsOperation = {
  mutates: false,
  handle(ctx, input) {
    const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
    readPolicyName(input, false);
    input.done();
    const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: false });
    return { Policy: policyOf(key), PolicyName: POLICY_NAME };
  },
};

export const putKeyPolicy: KmsOperation = {
  mutates: true,
  handle(ctx, input) {
    const keyId = input.string("KeyId", KEY_ID_CONSTRAINT);
    readPolicyName(input, false);
    const policy = readPolicy(input, { required: true });
    input.bool("BypassPolicyLockoutSafetyCheck");
    input.done();
    const key = ctx.store.resolveKey(ctx.region, keyId ?? "", { allowAlias: false });
    requireNotPendingDeletion(key);
    key.policy = policy;
    return {};
  },
};

/** The key's policy; a key from state saved before policies were kept has the default one. */
export function policyOf(key: KeyRecord): string {
  return key.policy ?? defaultKeyPolicy(key.accountId);
}
